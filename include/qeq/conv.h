/* qeq: int8 2-d convolution with fused requantization on NHWC tensors, as PyTorch's quantized
 * Conv2d, ConvReLU2d and Conv1d compute it (a 1-d convolution is a 2-d one with height 1,
 * kernel_height 1, stride_height 1, padding_height 0 and dilation_height 1).
 *
 *   y[n][oy][ox][o] = out( Σ_{ky, kx, c} (x[n][iy][ix][g*C_g + c] - x_zp)
 *                                       * (w[o][c][ky][kx] - w_zp[o]), bias[o] )
 *   iy = oy * stride_height - padding_height + ky * dilation_height (ix likewise),
 *   g = o / O_g; taps outside the input read x_zp, i.e. contribute 0.
 *
 * The numbers are exactly the GEMM's (qeq/gemm.h) for the equivalent im2col matrix: same
 * exact int32 accumulator, same engines, output formats and clamps
 * (docs/numerics.md#convolution).
 * Pack once (qeq_conv_create: weights in PyTorch's [O][C/groups][kh][kw] layout), run many
 * times (qeq_conv_run) on N x H x W x C activations.
 *
 * Design: the weights are packed as GEMM panels (one set per group) with k ordered
 * (ky, kx, c), so a tap is a contiguous run of C/groups channels of an NHWC pixel. A 1x1,
 * stride-1, unpadded, ungrouped convolution on quint8 is the GEMM over the N*H*W pixel rows,
 * read where they lie. A depthwise one (groups == C == O; its weights packed as one GEMM of C
 * columns over the taps) runs depthwise microkernels (qu8s8_dwconv) an output row at a time,
 * on pointers to the row's input columns. Every
 * other one uses an indirection table (for each output pixel and tap, the offset of the
 * input pixel it reads, or the zero-point row in the padding), built once per input shape
 * (the last shape's is kept): per tile of MR output pixels, an indirect GEMM microkernel
 * (qu8s8_igemm) reads the taps through pointers, or, where none applies (qint8 input,
 * weight zero points, few channels per tap, no such kernel for the ISA), the runs are
 * gathered into a small MR x K buffer (per task, in cache) for the GEMM microkernel: no
 * im2col of the whole tensor. A channel multiplier above 1 takes the grouped path. */
#ifndef QEQ_CONV_H
#define QEQ_CONV_H

#include <stddef.h>
#include <stdint.h>

#include <qeq/common.h>
#include <qeq/gemm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything qeq_conv_create needs. Start from qeq_conv_config_default(). The quantization is
 * the GEMM's (qeq_gemm_quantization), with n the output channels. */
typedef struct qeq_conv_config {
  size_t input_channels;  /* C, over all groups */
  size_t output_channels; /* O, over all groups */
  size_t groups;          /* divides C and O; groups == C is depthwise (multiplier O / C) */
  size_t kernel_height, kernel_width;
  size_t stride_height, stride_width;     /* >= 1 */
  size_t padding_height, padding_width;   /* on both sides, as PyTorch's padding=(ph, pw) */
  size_t dilation_height, dilation_width; /* >= 1 */
  const int8_t* weights;                  /* qint8 [O][C / groups][kernel_height][kernel_width] */
  qeq_gemm_quantization quant;            /* with n = O (qeq/gemm.h) */
} qeq_conv_config;

/* A config with no channels, one group, a 1x1 kernel, stride and dilation 1, no padding,
 * and the defaults of qeq_gemm_config_default() for the rest. */
QEQ_API qeq_conv_config qeq_conv_config_default(void);

typedef struct qeq_conv qeq_conv;

/* Checks the config and packs the weights for the microkernel dispatch selects now (GEMM,
 * indirect GEMM or depthwise; see Design above), one panel set per group. Errors: those of
 * qeq_gemm_create (for the scales, qparams, bias, output, clamp and accumulator range, with
 * k = kernel_height * kernel_width * C / groups), plus channels, groups, kernel sizes,
 * strides or dilations of 0, groups not dividing C and O, sizes that overflow; out of memory.
 * On failure *conv is untouched. The packed object does not refer to the config's arrays. */
QEQ_API qeq_status qeq_conv_create(const qeq_conv_config* config, qeq_conv** conv);
QEQ_API void qeq_conv_destroy(qeq_conv* conv); /* NULL is a no-op */

/* The microkernel the convolution was packed for: a qu8s8_gemm, qu8s8_igemm or qu8s8_dwconv
 * variant, e.g. "qeq_qu8s8_dwconv_ukernel_32c2__avx512". */
QEQ_API const char* qeq_conv_kernel_name(const qeq_conv* conv);

/* qeq_gemm_path_tiles for a convolution: the tiles of every group's GEMM or indirect GEMM
 * summed (the depthwise kernels have one path and count nothing). Errors: NULL arguments. */
QEQ_API qeq_status qeq_conv_path_tiles(const qeq_conv* conv, uint64_t* fast_tiles,
                                       uint64_t* exact_tiles);

/* Output height and width for an input of height x width: (h + 2 p - d (k - 1) - 1) / s + 1.
 * Errors: NULL pointers, a size of 0, an input smaller than the dilated kernel with its
 * padding (QEQ_ERROR_SHAPE_MISMATCH), h + 2 p or d (k - 1) + 1 beyond size_t
 * (QEQ_ERROR_SIZE_OVERFLOW). */
QEQ_API qeq_status qeq_conv_output_size(const qeq_conv* conv, size_t height, size_t width,
                                        size_t* output_height, size_t* output_width);

/* Runs on batch x height x width pixels of C channels: pixel (n, y, x) at (const uint8_t*)
 * input + ((n * height + y) * width + x) * input_pixel_stride_bytes (bytes; 0 means C), output
 * pixel (n, oy, ox) at (uint8_t*)output + ((n * oh + oy) * ow + ox) * output_pixel_stride_bytes
 * (bytes; 0 means O times 1 (quantized) or 4 (float, int32) bytes). pool may be NULL (this
 * thread only); results are bit-identical for any pool and any ISA. Errors: NULL pointers,
 * sizes of 0 or too small for the kernel, strides shorter than a pixel, a float or int32
 * output whose pointer or output_pixel_stride_bytes is not a multiple of 4, those of
 * qeq_conv_output_size, pixel counts beyond size_t or input or output pixels spanning more
 * than PTRDIFF_MAX bytes (QEQ_ERROR_SIZE_OVERFLOW), output overlapping the input,
 * QEQ_ERROR_UNSUPPORTED when the ISA cap no longer allows the packed kernel (create it
 * again), out of memory. Nothing is written on failure.
 * Thread-safe: many threads may run one convolution at once. */
QEQ_API qeq_status qeq_conv_run(const qeq_conv* conv, size_t batch, size_t height, size_t width,
                                const void* input, size_t input_pixel_stride_bytes, void* output,
                                size_t output_pixel_stride_bytes, struct pthreadpool* pool);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_CONV_H */
