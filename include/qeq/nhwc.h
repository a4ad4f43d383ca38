/* qeq: float32 layout conversion between PyTorch's NCHW and the channels-last NHWC layout the
 * int8 convolution (qeq/conv.h) reads and writes.
 *
 * Quantizing and dequantizing NHWC tensors needs no function of its own: qeq_quantize_f32
 * and qeq_dequantize_f32 (qeq/quantize.h) on the shape {N, H, W, C} do it, per tensor
 * (count 1) or per channel along C (axis 3 or -1, count C), with PyTorch's exact numerics. */
#ifndef QEQ_NHWC_H
#define QEQ_NHWC_H

#include <stddef.h>

#include <qeq/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* y[n][h][w][c] = x[n][c][h][w], exact copies. Errors: NULL pointers, a size of 0, sizes
 * whose product overflows or whose bytes exceed PTRDIFF_MAX (QEQ_ERROR_SIZE_OVERFLOW), y
 * overlapping x. Nothing is written on failure. */
QEQ_API qeq_status qeq_nchw_to_nhwc_f32(size_t batch, size_t channels, size_t height, size_t width,
                                        const float* x, float* y);

/* y[n][c][h][w] = x[n][h][w][c]; errors as qeq_nchw_to_nhwc_f32. */
QEQ_API qeq_status qeq_nhwc_to_nchw_f32(size_t batch, size_t channels, size_t height, size_t width,
                                        const float* x, float* y);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_NHWC_H */
