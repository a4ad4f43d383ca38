/* Helpers for non-temporal ("streaming") stores. A plain store first reads the destination
 * line (write-allocate): for f32 -> int8 quantization that is a fifth of the traffic, and for
 * out-of-place float outputs a third. Whether a call streams is its caller's choice (the
 * kernels' `stream` argument; src/base/tuning.h holds the threshold). */
#ifndef QEQ_KERNELS_COMMON_STREAM_STORE_H
#define QEQ_KERNELS_COMMON_STREAM_STORE_H

#include <stddef.h>
#include <stdint.h>

static inline int qeq_is_aligned(const void* p, size_t alignment) {
  return ((uintptr_t)p & (alignment - 1)) == 0;
}

#endif /* QEQ_KERNELS_COMMON_STREAM_STORE_H */
