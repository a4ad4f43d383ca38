/* Software prefetch for row-wise kernels that read four rows at a time. The hardware
 * prefetchers keep up with one stream but fall behind on four interleaved ones; prefetching
 * each row 2 KiB ahead took per-axis ranges along axis 1 of a 144 MiB conv weight from about
 * 0.75 to about 0.9 of the streaming-read bandwidth on Zen 5 (README, qeq_bench). */
#ifndef QEQ_KERNELS_COMMON_PREFETCH_H
#define QEQ_KERNELS_COMMON_PREFETCH_H

#include <stdint.h>

#ifndef QEQ_ROW_PREFETCH_BYTES
#define QEQ_ROW_PREFETCH_BYTES 2048
#endif

/* Prefetching never faults, but forming a pointer past the end of an array is undefined in
 * C, so the address is computed as an integer. */
static inline void qeq_prefetch_row_ahead(const float* p) {
  __builtin_prefetch((const void*)((uintptr_t)p + QEQ_ROW_PREFETCH_BYTES));
}

#endif /* QEQ_KERNELS_COMMON_PREFETCH_H */
