#include "common/bench-pool.h"

#include <pthreadpool.h>

struct pthreadpool* bench_pool() {
  static pthreadpool_t pool = pthreadpool_create(0);  // 0: one thread per online CPU
  return pool;
}

size_t bench_threads() {
  pthreadpool_t pool = bench_pool();
  return pool ? pthreadpool_get_threads_count(pool) : 1;
}
