/* qeq: the quantized operations around convolutions in PyTorch's quantized models: add and
 * add+ReLU, cat, max pool, average pool, adaptive average pool, ReLU / ReLU6 / hardtanh.
 *
 * One header for the group: every op reads and writes the same kind of tensor (8-bit, NHWC,
 * per-tensor qparams), described by qeq_q8_tensor, and no op needs a handle.
 * Numerics: PyTorch 1.13's own quantized CPU kernels, bit for bit on channels-last tensors.
 * The entry points without an engine follow what its onednn engine runs; the _ex entry points
 * take the engine (qeq_qops_engine), and with QEQ_QOPS_ENGINE_QNNPACK run QNNPACK's and
 * XNNPACK's kernels where PyTorch's qnnpack engine does (add / add_relu, quint8 average
 * pooling and evenly dividing adaptive average pooling):
 * docs/numerics.md#the-qnnpack-engines-quantized-ops and
 * docs/differences.md#the-qnnpack-engine-runs-other-kernels-for-some-quantized-ops. */
#ifndef QEQ_QOPS_H
#define QEQ_QOPS_H

#include <stddef.h>
#include <stdint.h>

#include <qeq/common.h>
#include <qeq/gemm.h>
#include <qeq/qparams.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An 8-bit NHWC tensor: pixel (n, h, w) starts at byte ((n * h_size + h) * w_size + w) *
 * pixel_stride_bytes and holds c channels (one byte each). dtype QEQ_DTYPE_QUINT8 (uint8_t) or
 * QEQ_DTYPE_QINT8 (int8_t); the real value of q is scale * (q - zero_point). Every op checks its
 * tensors alike: QEQ_ERROR_INVALID_ARGUMENT for a NULL descriptor or data, another dtype, an
 * invalid scale (qeq/qparams.h) or one above FLT_MAX / 256, a zero point outside the dtype,
 * pixel_stride_bytes < c; QEQ_ERROR_SIZE_OVERFLOW for n * h * w beyond size_t or pixels spanning
 * more than PTRDIFF_MAX bytes. Nothing is written on failure. */
typedef struct qeq_q8_tensor {
  size_t n, h, w, c;
  size_t pixel_stride_bytes; /* bytes from one pixel to the next, >= c; 0 means c (dense) */
  qeq_dtype dtype;
  float scale;        /* a valid scale (qeq/qparams.h), at most FLT_MAX / 256 */
  int32_t zero_point; /* inside the dtype's range */
} qeq_q8_tensor;

/* Which of PyTorch's quantized engines an op follows (torch.backends.quantized.engine); the
 * values match qeq_gemm_engine's. Ops and dtypes for which PyTorch runs the same code under
 * both engines ignore it. */
typedef enum qeq_qops_engine {
  QEQ_QOPS_ENGINE_ONEDNN = 0,  /* PyTorch's own quantized CPU kernels (the default) */
  QEQ_QOPS_ENGINE_QNNPACK = 1, /* QNNPACK's kernels where PyTorch's qnnpack engine runs them */
} qeq_qops_engine;

/* A dense tensor's descriptor. */
QEQ_API qeq_q8_tensor qeq_q8_tensor_make(size_t n, size_t h, size_t w, size_t c, qeq_dtype dtype,
                                         float scale, int32_t zero_point);

/* torch.ops.quantized.add / add_relu: y = requantize(dequantize(a) + dequantize(b)) to y's
 * qparams, in float32 (ReLU on the float sum), with numpy-style broadcasting as qeq_q8_mul
 * has it: each of a's and b's sizes (n, h, w, c) equals y's or is 1, y's are the larger of
 * each pair. All share the dtype; y may alias an input of y's own sizes and layout. */
QEQ_API qeq_status qeq_q8_add(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                              const void* b_data, const qeq_q8_tensor* y, void* y_data);
QEQ_API qeq_status qeq_q8_add_relu(const qeq_q8_tensor* a, const void* a_data,
                                   const qeq_q8_tensor* b, const void* b_data,
                                   const qeq_q8_tensor* y, void* y_data);

/* The same under an engine; qeq_q8_add(...) is qeq_q8_add_ex(..., QEQ_QOPS_ENGINE_ONEDNN).
 * QEQ_QOPS_ENGINE_QNNPACK runs the fixed-point add PyTorch's qnnpack engine runs, in int32:
 *   r_a = f32(a->scale / y->scale), r_b likewise, e = the binary exponent of max(r_a, r_b),
 *   shift = 21 - e (quint8: QNNPACK) or 20 - e (qint8: XNNPACK),
 *   m_a = rne(r_a * 2^shift), m_b likewise,
 *   acc = m_a * (a - a_zp) + m_b * (b - b_zp) (as one bias plus two products),
 *   y = clamp(y_zp + acc / 2^shift rounded, lo, qmax),
 * rounded half away from zero for quint8 (shifts past 31, from ratios below 2^-10, follow
 * PyTorch's x86 build: docs/numerics.md#qnnpacks-fixed-point-add) and half up for qint8;
 * lo = y_zp for add_relu, else qmin. QEQ_ERROR_UNSUPPORTED, nothing written, where PyTorch
 * refuses the call under qnnpack: a scale that is not a normal float, a ratio r_a or r_b
 * outside [2^-14, 2^8) (quint8) or [2^-10, 2^8) (qint8), add_relu with y's zero point at
 * qmax (an empty output range). Broadcasting under qnnpack: quint8 inputs of different sizes
 * take the onednn rule (PyTorch leaves QNNPACK's add for its own kernel there); qint8 ones
 * keep XNNPACK's rule (PyTorch 1.13 runs it when the smaller input comes first and fails
 * otherwise: docs/differences.md). Any other engine value: QEQ_ERROR_INVALID_ARGUMENT. */
QEQ_API qeq_status qeq_q8_add_ex(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                                 const void* b_data, const qeq_q8_tensor* y, void* y_data,
                                 qeq_qops_engine engine);
QEQ_API qeq_status qeq_q8_add_relu_ex(const qeq_q8_tensor* a, const void* a_data,
                                      const qeq_q8_tensor* b, const void* b_data,
                                      const qeq_q8_tensor* y, void* y_data, qeq_qops_engine engine);

/* torch.ops.quantized.cat (torch.cat of quantized tensors) along any axis: batch (PyTorch's
 * dim 0), channels (dim 1 of NCHW, the innermost axis here), height (dim 2) or width (dim 3).
 * Each input is requantized to y's qparams, y = clamp(y_zp + rne(deq(x) * f32(1 / y_scale))),
 * deq(x) = fma(x, s, f32(s * -z)) (copied when its qparams equal y's), the same rule along every
 * axis; all share the dtype and the sizes off the axis, whose sum is y's along it. Empty
 * inputs are allowed. */
typedef enum qeq_cat_axis {
  QEQ_CAT_BATCH = 0,
  QEQ_CAT_CHANNELS = 1,
  QEQ_CAT_HEIGHT = 2,
  QEQ_CAT_WIDTH = 3
} qeq_cat_axis;
QEQ_API qeq_status qeq_q8_cat(size_t count, const qeq_q8_tensor* inputs,
                              const void* const* inputs_data, qeq_cat_axis axis,
                              const qeq_q8_tensor* y, void* y_data);

/* Pooling window, as torch.nn.functional's max_pool2d / avg_pool2d take it. */
typedef struct qeq_pool2d_params {
  size_t kernel_h, kernel_w;     /* >= 1 */
  size_t stride_h, stride_w;     /* >= 1 */
  size_t padding_h, padding_w;   /* <= kernel / 2 (PyTorch's rule) */
  size_t dilation_h, dilation_w; /* >= 1; max pool only (average pool wants 1) */
  int ceil_mode;                 /* 0: floor the output size, 1: ceil (PyTorch's rule) */
  int count_include_pad;         /* average pool: padding counts in the divisor */
  int64_t divisor_override;      /* average pool: 0, or the divisor to use (>= 1) */
} qeq_pool2d_params;

/* Defaults: kernel as given, stride = kernel, no padding, dilation 1, floor, counting
 * padding, no divisor override (PyTorch's defaults). */
QEQ_API qeq_pool2d_params qeq_pool2d_params_make(size_t kernel_h, size_t kernel_w);

/* The output height and width PyTorch gives for an input of in_h x in_w (both >= 1);
 * QEQ_ERROR_INVALID_ARGUMENT for parameters PyTorch refuses, including an output smaller than
 * 1 x 1, and QEQ_ERROR_SIZE_OVERFLOW for sizes or parameters of 2^31 or more. */
QEQ_API qeq_status qeq_pool2d_output_size(const qeq_pool2d_params* params, size_t in_h, size_t in_w,
                                          size_t* out_h, size_t* out_w);

/* torch.nn.functional.max_pool2d on a quantized tensor: the max of the integers in each
 * window (padding never wins). y keeps x's dtype and qparams; its n, c equal x's and its h, w
 * are qeq_pool2d_output_size's. */
QEQ_API qeq_status qeq_q8_max_pool2d(const qeq_q8_tensor* x, const void* x_data,
                                     const qeq_pool2d_params* params, const qeq_q8_tensor* y,
                                     void* y_data);

/* torch.nn.functional.avg_pool2d on a quantized tensor (channels last): per window
 * acc = Σ (x - z) over the pixels inside the input, y = z + rne(acc * f32(1/divisor)),
 * divisor = divisor_override, or the window's size clipped to the padded input
 * (count_include_pad), or its number of input pixels. y keeps x's dtype and qparams. */
QEQ_API qeq_status qeq_q8_avg_pool2d(const qeq_q8_tensor* x, const void* x_data,
                                     const qeq_pool2d_params* params, const qeq_q8_tensor* y,
                                     void* y_data);

/* The same under an engine (qeq_q8_avg_pool2d is the onednn engine). QEQ_QOPS_ENGINE_QNNPACK
 * with quint8 and ceil_mode 0 runs QNNPACK's average pooling, as PyTorch does: padding counts
 * as the zero point whatever count_include_pad says, divisor_override is ignored, and
 *   y = clamp(z + rne(f32(acc) * f32(s / f32(s * f32(kernel_h * kernel_w)))), 0, 255)
 * (acc as above, s = x's scale); a 1 x 1 kernel or a scale that is not a normal float gives
 * QEQ_ERROR_UNSUPPORTED (QNNPACK refuses them). qint8, or ceil_mode 1, runs the onednn code,
 * as PyTorch does under qnnpack. */
QEQ_API qeq_status qeq_q8_avg_pool2d_ex(const qeq_q8_tensor* x, const void* x_data,
                                        const qeq_pool2d_params* params, const qeq_q8_tensor* y,
                                        void* y_data, qeq_qops_engine engine);

/* torch.nn.functional.adaptive_avg_pool2d to y's h, w (>= 1): output row i averages input
 * rows floor(i * H / OH) .. ceil((i + 1) * H / OH) - 1 (columns likewise), rounded as avg_pool2d
 * with the window's size as divisor. y keeps x's dtype and qparams. */
QEQ_API qeq_status qeq_q8_adaptive_avg_pool2d(const qeq_q8_tensor* x, const void* x_data,
                                              const qeq_q8_tensor* y, void* y_data);

/* The same under an engine. QEQ_QOPS_ENGINE_QNNPACK with quint8, y's h dividing x's h and y's
 * w dividing x's w, and y's size other than x's, is PyTorch's qnnpack path: qeq_q8_avg_pool2d_ex
 * under qnnpack with kernel = stride = (x->h / y->h, x->w / y->w), no padding. Other sizes and
 * qint8 run the onednn code, as PyTorch does. (PyTorch's qnnpack engine computes quantized
 * torch.mean over dims (2, 3) of an NCHW tensor the same way, with y 1 x 1.) */
QEQ_API qeq_status qeq_q8_adaptive_avg_pool2d_ex(const qeq_q8_tensor* x, const void* x_data,
                                                 const qeq_q8_tensor* y, void* y_data,
                                                 qeq_qops_engine engine);

/* ReLU, ReLU6 and hardtanh on a quantized tensor, keeping its qparams: y = clamp(x, lo, hi)
 * with lo, hi the bounds quantized with x's qparams (ReLU: lo = z; ReLU6: [z, q(6)];
 * hardtanh: [q(min_val), q(max_val)], min_val <= max_val, both finite). y may alias x. */
QEQ_API qeq_status qeq_q8_relu(const qeq_q8_tensor* x, const void* x_data, const qeq_q8_tensor* y,
                               void* y_data);
QEQ_API qeq_status qeq_q8_relu6(const qeq_q8_tensor* x, const void* x_data, const qeq_q8_tensor* y,
                                void* y_data);
QEQ_API qeq_status qeq_q8_hardtanh(const qeq_q8_tensor* x, const void* x_data, float min_val,
                                   float max_val, const qeq_q8_tensor* y, void* y_data);

/* ---- Activations and multiply (mobilenet_v3's hardswish, squeeze-excite) ----------------
 * The engine is an explicit argument (qeq_gemm_engine, qeq/gemm.h): under
 * QEQ_GEMM_ENGINE_QNNPACK a quint8 tensor goes through QNNPACK's table rule, as PyTorch's
 * qnnpack engine does; everything else (onednn, and qint8 under either engine) follows
 * PyTorch's vectorised CPU kernel. Rules: docs/numerics.md#activations-and-multiply. */

/* torch.ops.quantized.hardswish (nn.quantized.Hardswish): y = x * clamp(x + 3, 0, 6) / 6 of
 * the dequantized x, requantized to y's qparams (y's dtype is x's). y may alias x. */
QEQ_API qeq_status qeq_q8_hardswish(const qeq_q8_tensor* x, const void* x_data,
                                    qeq_gemm_engine engine, const qeq_q8_tensor* y, void* y_data);

/* torch.nn.functional.hardsigmoid on a quantized tensor: clamp(x + 3, 0, 6) / 6. PyTorch fixes
 * the output qparams: y's scale must be 1/256 and its zero point 0 (quint8) or -128 (qint8),
 * else QEQ_ERROR_SHAPE_MISMATCH. y may alias x. */
QEQ_API qeq_status qeq_q8_hardsigmoid(const qeq_q8_tensor* x, const void* x_data,
                                      qeq_gemm_engine engine, const qeq_q8_tensor* y, void* y_data);

/* torch.sigmoid / nn.Sigmoid on a quantized tensor: 1 / (1 + e^-x). The output qparams are
 * PyTorch's fixed ones, as for hardsigmoid: y's scale must be 1/256 and its zero point 0
 * (quint8) or -128 (qint8), else QEQ_ERROR_SHAPE_MISMATCH. e^-x is computed as the engine's
 * kernel computes it (docs/numerics.md#sigmoid), the same bits on every ISA. y may alias x. */
QEQ_API qeq_status qeq_q8_sigmoid(const qeq_q8_tensor* x, const void* x_data,
                                  qeq_gemm_engine engine, const qeq_q8_tensor* y, void* y_data);

/* torch.ops.quantized.mul / mul_relu with broadcasting: y = clamp(rne(f32((a - z_a) *
 * (b - z_b)) * m) + z_y) with m = f32(f32(s_a * s_b) * f32(1 / s_y)), the same under both
 * engines. Each of a's and b's sizes (n, h, w, c) equals y's or is 1 (broadcast), e.g. a
 * squeeze-excite scale of N x 1 x 1 x C times a map of N x H x W x C; y's sizes are the
 * larger of each pair. All share the dtype. y may alias an input of y's own sizes and layout. */
QEQ_API qeq_status qeq_q8_mul(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                              const void* b_data, const qeq_q8_tensor* y, void* y_data);
QEQ_API qeq_status qeq_q8_mul_relu(const qeq_q8_tensor* a, const void* a_data,
                                   const qeq_q8_tensor* b, const void* b_data,
                                   const qeq_q8_tensor* y, void* y_data);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_QOPS_H */
