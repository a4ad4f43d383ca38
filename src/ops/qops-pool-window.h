/* Internal: pooling windows (PyTorch's output sizes and window bounds) and the row-pointer
 * lists the pooling kernels read. */
#ifndef QEQ_SRC_OPS_QOPS_POOL_WINDOW_H
#define QEQ_SRC_OPS_QOPS_POOL_WINDOW_H

#include <stdint.h>

#include <qeq/qops.h>

/* Largest window the pooling kernels take: keeps rows * 256 and the zero-point bias in int32. */
#define QEQ_POOL_MAX_WINDOW ((size_t)1 << 22)

/* qeq_pool2d_output_size with messages naming `fn`; average pool wants dilation 1 and a
 * divisor_override >= 0. */
qeq_status qeq_pool2d_check(const char* fn, const qeq_pool2d_params* params, int average,
                            size_t in_h, size_t in_w, size_t* out_h, size_t* out_w);

/* One axis of a window: input rows [begin, end) that exist, and the size the window has once
 * clipped to the padded input (average pool's count_include_pad divisor). */
typedef struct qeq_window_1d {
  size_t begin, end;
  size_t padded_size;
} qeq_window_1d;

/* Average-pool window o along an axis of size in (no dilation). */
qeq_window_1d qeq_avg_window(size_t o, size_t in, size_t kernel, size_t stride, size_t padding);

/* Adaptive window o of out along an axis of size in: floor(o * in / out) to
 * ceil((o + 1) * in / out). */
qeq_window_1d qeq_adaptive_window(size_t o, size_t in, size_t out);

#endif /* QEQ_SRC_OPS_QOPS_POOL_WINDOW_H */
