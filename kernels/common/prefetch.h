/* Software prefetch a fixed distance ahead of a read stream. The hardware prefetchers fall
 * behind when a kernel interleaves four rows, or computes enough per element that the core
 * issues loads slowly. Prefetching 2 KiB ahead took per-axis ranges along axis 1 of a
 * 144 MiB conv weight from about 0.75 to about 0.9 of the streaming-read bandwidth on Zen 5,
 * and AVX2 quantization of the same weight from about 14 to about 16 GB/s (best of 8 calls)
 * on a Zen 3 VM whose single-stream read is about 16 GB/s. */
#ifndef QEQ_KERNELS_COMMON_PREFETCH_H
#define QEQ_KERNELS_COMMON_PREFETCH_H

#include <stdint.h>

#ifndef QEQ_ROW_PREFETCH_BYTES
#define QEQ_ROW_PREFETCH_BYTES 2048
#endif

/* Prefetching never faults, but forming a pointer past the end of an array is undefined in
 * C, so the address is computed as an integer. */
static inline void qeq_prefetch_row_ahead(const void* p) {
  __builtin_prefetch((const void*)((uintptr_t)p + QEQ_ROW_PREFETCH_BYTES));
}

#endif /* QEQ_KERNELS_COMMON_PREFETCH_H */
