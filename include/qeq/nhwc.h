/* qeq: layout conversion between PyTorch's NCHW and the channels-last NHWC layout the int8
 * convolution (qeq/conv.h) and the quantized ops (qeq/qops.h) read and write, for float32 and
 * for 8-bit tensors, and the channel shuffle of 8-bit NHWC tensors.
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

/* The same for 8-bit tensors (uint8 or int8, or any bytes): y[n][h][w][c] = x[n][c][h][w].
 * Errors as qeq_nchw_to_nhwc_f32, with the byte count limit at PTRDIFF_MAX bytes. */
QEQ_API qeq_status qeq_nchw_to_nhwc_x8(size_t batch, size_t channels, size_t height, size_t width,
                                       const void* x, void* y);

/* y[n][c][h][w] = x[n][h][w][c] for 8-bit tensors; errors as qeq_nchw_to_nhwc_x8. */
QEQ_API qeq_status qeq_nhwc_to_nchw_x8(size_t batch, size_t channels, size_t height, size_t width,
                                       const void* x, void* y);

/* Channel shuffle of `pixels` dense 8-bit NHWC pixels of groups * channels_per_group channels
 * (torch.nn.ChannelShuffle, shufflenet's channel_shuffle): each pixel's channels, read as a
 * groups x channels_per_group matrix, are transposed, y[p][k * groups + g] =
 * x[p][g * channels_per_group + k]. Errors: NULL pointers, a size of 0
 * (QEQ_ERROR_INVALID_ARGUMENT), pixels * groups * channels_per_group beyond size_t or PTRDIFF_MAX
 * bytes (QEQ_ERROR_SIZE_OVERFLOW), y overlapping x. Nothing is written on failure. */
QEQ_API qeq_status qeq_x8_channel_shuffle(size_t pixels, size_t groups, size_t channels_per_group,
                                          const void* x, void* y);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_NHWC_H */
