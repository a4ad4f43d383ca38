/* Software prefetch a fixed distance ahead of a read stream. The hardware prefetchers fall
 * behind when a kernel interleaves four rows, or computes enough per element that the core
 * issues loads slowly. Prefetching 2 KiB ahead keeps such kernels close to the streaming-read
 * bandwidth on weights larger than the caches (the figures: CHANGELOG.md, "Measurements behind
 * decisions"). */
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

/* Prefetch into L2, further ahead, for a row pass that alternates with other passes over each
 * block it has just written (qeq_equalize's chain sweep: 64 KiB blocks, read again from L2 for
 * their column statistics). The hardware prefetchers restart with each block there; fetching
 * half a block ahead keeps the L3 reads going while the other passes run (measured in
 * bench/results/2026-12-04-zen4.md, "Measured outside the main job"). */
#ifndef QEQ_L2_PREFETCH_BYTES
#define QEQ_L2_PREFETCH_BYTES 32768
#endif

static inline void qeq_prefetch_l2_ahead(const void* p) {
  __builtin_prefetch((const void*)((uintptr_t)p + QEQ_L2_PREFETCH_BYTES), 0, 2);
}

#endif /* QEQ_KERNELS_COMMON_PREFETCH_H */
