/* Non-temporal ("streaming") stores for kernels whose output is much larger than the caches.
 * A plain store first reads the destination line (write-allocate): for f32 -> int8
 * quantization that is a fifth of the traffic, and for out-of-place float outputs a third.
 * Streaming stores skip that read; below the threshold the output is likely to be read
 * again soon and is better left in cache. */
#ifndef QEQ_KERNELS_COMMON_STREAM_STORE_H
#define QEQ_KERNELS_COMMON_STREAM_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifndef QEQ_STREAM_STORE_MIN_BYTES
#define QEQ_STREAM_STORE_MIN_BYTES ((size_t)8 << 20)
#endif

/* The threshold in force: QEQ_STREAM_STORE_MIN_BYTES, lowered by the tests (through
 * qeq_dispatch_test_set_stream_min_bytes) so that small tensors exercise this path too. */
extern _Atomic size_t qeq_stream_store_min_bytes;

/* Whether an output of outer * channels * inner elements of elem_size bytes should stream.
 * The product cannot overflow: the API checked it when it validated the shape. */
static inline int qeq_should_stream(size_t outer, size_t channels, size_t inner, size_t elem_size) {
  return outer * channels * inner * elem_size >=
         atomic_load_explicit(&qeq_stream_store_min_bytes, memory_order_relaxed);
}

static inline int qeq_is_aligned(const void* p, size_t alignment) {
  return ((uintptr_t)p & (alignment - 1)) == 0;
}

#endif /* QEQ_KERNELS_COMMON_STREAM_STORE_H */
