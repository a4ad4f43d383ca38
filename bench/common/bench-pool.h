// The all-core thread pool the benchmarks share (qeq, XNNPACK and the peak loops): one
// pthreadpool with a thread per online CPU, created on first use and kept for the run.
#ifndef QEQ_BENCH_BENCH_POOL_H
#define QEQ_BENCH_BENCH_POOL_H

#include <cstddef>

struct pthreadpool;

struct pthreadpool* bench_pool();
size_t bench_threads();  // the pool's thread count (1 without a pool)

#endif  // QEQ_BENCH_BENCH_POOL_H
