/* Float32 NCHW forward operations in the order PyTorch 1.13's CPU kernels sum, for running the
 * reference models' float (calibration) pass in C: the observers then see PyTorch's bits.
 * Orders measured against torch (tests/golden/models_cases.py's models, batches >= 16):
 *   conv2d (oneDNN path): 1x1 and depthwise: acc = bias, then acc = fma(w, x, acc) over
 *     (input channel, ky, kx); larger dense kernels: acc = 0, fma over (ky, kx, input channel),
 *     then acc + bias (0 mismatches in 11,520 to 172,800 outputs per shape of the models here;
 *     other shapes may take other oneDNN kernels);
 *   linear: acc = sum of w * x over k in order, products and sums rounded separately, + bias;
 *   adaptive_avg_pool2d: sum over the window row by row, then / kh / kw. */
#ifndef QEQ_TESTS_SUPPORT_FLOAT_OPS_H
#define QEQ_TESTS_SUPPORT_FLOAT_OPS_H

#include <stddef.h>

typedef struct f32_conv2d {
  size_t in_channels, out_channels, groups;
  size_t kernel_h, kernel_w, padding_h, padding_w; /* stride and dilation 1 */
  const float* weight;                             /* [out][in / groups][kh][kw] */
  const float* bias;                               /* out, or NULL */
} f32_conv2d;

/* y[n][out][oh][ow] = conv(x[n][in][h][w]); oh = h + 2 ph - kh + 1. */
void f32_conv2d_forward(const f32_conv2d* conv, size_t n, size_t h, size_t w, const float* x,
                        float* y);
/* y[m][out] = x[m][in] W^T + bias. */
void f32_linear_forward(size_t m, size_t in, size_t out, const float* weight, const float* bias,
                        const float* x, float* y);
void f32_relu(size_t count, float* x);
void f32_add(size_t count, const float* a, const float* b, float* y);
/* PyTorch's adaptive windows: [floor(i h / oh), ceil((i + 1) h / oh)). planes = n * c. */
void f32_adaptive_avg_pool2d(size_t planes, size_t h, size_t w, size_t oh, size_t ow,
                             const float* x, float* y);
/* Max over k x k windows with stride k (floor). */
void f32_max_pool2d(size_t planes, size_t h, size_t w, size_t k, const float* x, float* y);

#endif /* QEQ_TESTS_SUPPORT_FLOAT_OPS_H */
