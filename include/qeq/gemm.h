/* qeq: int8 matrix multiplication with fused requantization, as PyTorch's quantized Linear,
 * LinearReLU and dynamic Linear compute it.
 *
 *   y[m][n] = out( Σ_k (x[m][k] - x_zp) * (w[n][k] - w_zp[n]), bias[n] )
 *
 * Pack once (qeq_gemm_create: weights in PyTorch's [N][K] layout, qparams, bias, output
 * format), run many times (qeq_gemm_run / qeq_gemm_run_dynamic) on M rows of activations.
 * The accumulator is exact int32; docs/numerics.md#gemm-and-convolution-requantization gives
 * the numerics of each engine. */
#ifndef QEQ_GEMM_H
#define QEQ_GEMM_H

#include <stdint.h>

#include <qeq/common.h>
#include <qeq/qparams.h>

#ifdef __cplusplus
extern "C" {
#endif

/* pthreadpool's handle (pthreadpool.h: typedef struct pthreadpool* pthreadpool_t). */
struct pthreadpool;

/* How the float32 requantization is ordered: PyTorch's two CPU engines differ by +-1 at
 * half-way points (docs/numerics.md#engines-at-half-way-points). */
typedef enum qeq_gemm_engine {
  /* onednn: a float bias and the zero point added in float before rounding, each operation
   * rounded to float32 in this order (no FMA):
   *   bs = f32(1/s_x) * f32(1/s_w[n]), M = f32(1/s_y) / bs,
   *   y = rne(clamp(((float)acc + bias * bs) * M + (float)y_zp, lo, hi)) */
  QEQ_GEMM_ENGINE_ONEDNN = 0,
  /* qnnpack: the bias rounded to int32 first and the zero point added after rounding:
   *   p = s_w[n] * s_x, bias_q = rne(bias * (1/p)), M = p * f32(1/s_y),
   *   y = rne(clamp((float)(acc + bias_q) * M, lo - y_zp, hi - y_zp)) + y_zp */
  QEQ_GEMM_ENGINE_QNNPACK = 1,
} qeq_gemm_engine;

typedef enum qeq_gemm_output {
  QEQ_GEMM_OUTPUT_QUANTIZED = 0, /* 8-bit, output dtype / scale / zero point, clamp */
  QEQ_GEMM_OUTPUT_FLOAT = 1,     /* float32 in the engine's order (docs/numerics.md), clamped */
  QEQ_GEMM_OUTPUT_INT32 = 2,     /* the exact accumulators: no bias, no clamp */
} qeq_gemm_output;

/* Output clamp, in real units, as [lo, hi].
 * Quantized output: lo and hi are quantized with the output qparams (as PyTorch's fused ReLU
 * and quantized hardtanh do) and intersected with the dtype; the clamp happens in float
 * before rounding (see qeq_gemm_engine).
 * Float output, static or dynamic (PyTorch's dynamic LinearReLU,
 * torch.ops.quantized.linear_relu_dynamic, is a dynamic GEMM with QEQ_GEMM_CLAMP_RELU): lo
 * and hi apply to the float result y as they are, y = y < lo ? lo : y, then y > hi ? hi : y.
 * NaN passes unchanged and ReLU keeps -0.0 (what torch.relu returns for both).
 * Int32 output: only QEQ_GEMM_CLAMP_NONE (the exact accumulator has no real units to clamp
 * in); qeq_gemm_create refuses the others with QEQ_ERROR_INVALID_ARGUMENT naming
 * config->quant.clamp. */
typedef enum qeq_gemm_clamp {
  QEQ_GEMM_CLAMP_NONE = 0,
  QEQ_GEMM_CLAMP_RELU = 1,  /* [0, inf): quantized, the lower bound is the output zero point */
  QEQ_GEMM_CLAMP_RELU6 = 2, /* [0, 6] */
  QEQ_GEMM_CLAMP_RANGE = 3, /* [clamp_min, clamp_max] */
} qeq_gemm_clamp;

/* How a GEMM or a convolution is quantized: its weights' and input's qparams, the bias, what
 * it writes and how it rounds. qeq_gemm_config and qeq_conv_config both hold one (`quant`);
 * for a convolution, n is the output channels. */
typedef struct qeq_gemm_quantization {
  size_t weight_qparam_count; /* 1 (per tensor) or n (per output channel) */
  const float* weight_scales;
  const int32_t* weight_zero_points; /* in [-128, 127]; NULL means all 0 (symmetric) */
  const float* bias;                 /* n floats, or NULL */
  qeq_dtype input_dtype;             /* QEQ_DTYPE_QUINT8 or QEQ_DTYPE_QINT8 */
  float input_scale;                 /* ignored by dynamic GEMMs */
  int32_t input_zero_point;          /* ignored by dynamic GEMMs */
  qeq_gemm_output output;
  qeq_dtype output_dtype; /* quantized output: QEQ_DTYPE_QUINT8 or QEQ_DTYPE_QINT8 */
  float output_scale;
  int32_t output_zero_point;
  qeq_gemm_clamp clamp;
  float clamp_min, clamp_max; /* QEQ_GEMM_CLAMP_RANGE only: not NaN, clamp_min <= clamp_max */
  qeq_gemm_engine engine;
} qeq_gemm_quantization;

/* Everything qeq_gemm_create needs. Start from qeq_gemm_config_default(). */
typedef struct qeq_gemm_config {
  size_t n;                   /* output channels (rows of the weight) */
  size_t k;                   /* input channels */
  const int8_t* weights;      /* [n][k] qint8, row r at weights + r * weight_stride_bytes */
  size_t weight_stride_bytes; /* bytes between weight rows (>= k); 0 means k */
  qeq_gemm_quantization quant;
  /* Dynamic quantization (qeq_gemm_run_dynamic): the input qparams are chosen per call from
   * the activations' min/max (PyTorch's ChooseQuantizationParams, quint8, range [0, 127]
   * when reduce_range else [0, 255]); requires output QEQ_GEMM_OUTPUT_FLOAT and input
   * dtype quint8. */
  int dynamic;
  int reduce_range;
} qeq_gemm_config;

/* A config with n = k = 0, per-tensor weights, quint8 input (scale 1, zero point 0), quint8
 * quantized output (scale 1, zero point 0), no clamp, the onednn engine, static. */
QEQ_API qeq_gemm_config qeq_gemm_config_default(void);

typedef struct qeq_gemm qeq_gemm;

/* Checks the config and packs the weights for the kernel dispatch selects now. Errors:
 * NULL pointers, n or k of 0, weight_stride_bytes < k, weights spanning more than PTRDIFF_MAX bytes
 * (QEQ_ERROR_SIZE_OVERFLOW), invalid scales (qeq/qparams.h: positive, finite, with a finite
 * reciprocal; the input scale of static GEMMs, the output scale of quantized outputs), a
 * requantization multiplier that is not positive and finite, zero points outside their
 * dtype, a non-finite bias, a clamp that is not a qeq_gemm_clamp or whose clamp_min and
 * clamp_max do not form a range, a clamp other than NONE with the int32 output, k so large
 * that the exact accumulator could leave int32 (given the zero points), a bias that
 * overflows int32 under qnnpack, an unsupported combination (dynamic without float output);
 * out of memory. On failure *gemm is untouched. The packed object does not refer to the
 * config's arrays. */
QEQ_API qeq_status qeq_gemm_create(const qeq_gemm_config* config, qeq_gemm** gemm);
QEQ_API void qeq_gemm_destroy(qeq_gemm* gemm); /* NULL is a no-op */

/* The kernel the GEMM was packed for, e.g. "qeq_qu8s8_gemm_ukernel_8x32c4__avx512vnni". */
QEQ_API const char* qeq_gemm_kernel_name(const qeq_gemm* gemm);

/* How many tiles (a kernel row tile times one panel of its columns) took each path of a
 * kernel that has two, summed over every run of this GEMM since it was created (concurrent
 * runs included): *fast_tiles the saturating fast path where the bound proved it exact,
 * *exact_tiles the exact path (docs/numerics.md#the-avx2-fast-path). Kernels with one path (every
 * kernel but AVX2's and AVX-512's without VNNI) count nothing: both stay 0. Errors: NULL
 * arguments. */
QEQ_API qeq_status qeq_gemm_path_tiles(const qeq_gemm* gemm, uint64_t* fast_tiles,
                                       uint64_t* exact_tiles);

/* Runs on m rows: input row r at (const uint8_t*)input + r * input_stride_bytes (bytes; k uint8 or
 * int8 values), output row r at (uint8_t*)output + r * output_stride_bytes (bytes; n values of 1
 * byte (quantized) or 4 bytes (float, int32)). pool may be NULL (this thread only); results
 * are bit-identical for any pool. Errors: NULL pointers, m of 0, strides shorter than a
 * row, a float or int32 output whose pointer or output_stride_bytes is not a multiple of 4,
 * input or output rows spanning more than PTRDIFF_MAX bytes (QEQ_ERROR_SIZE_OVERFLOW),
 * output overlapping the input, a dynamic GEMM (use qeq_gemm_run_dynamic),
 * QEQ_ERROR_UNSUPPORTED when the ISA cap no longer allows the kernel the GEMM was packed for
 * (pack again), out of memory. Nothing is written on failure.
 * Thread-safe: many threads may run one GEMM at once. */
QEQ_API qeq_status qeq_gemm_run(const qeq_gemm* gemm, size_t m, const void* input,
                                size_t input_stride_bytes, void* output, size_t output_stride_bytes,
                                struct pthreadpool* pool);

/* Dynamic quantization, as torch.ao.nn.quantized.dynamic.Linear (and, with
 * QEQ_GEMM_CLAMP_RELU, LinearReLU): float32 input rows (input_stride_bytes in bytes), quantized per
 * call with qparams from their min/max, float32 output. Strides, overlap and errors as
 * qeq_gemm_run, plus non-finite input (QEQ_ERROR_NON_FINITE), an input_stride_bytes that is not a
 * multiple of 4, and input_scale or input_zero_point overlapping the input, the output or
 * each other. The chosen input qparams are returned when the pointers are not NULL. */
QEQ_API qeq_status qeq_gemm_run_dynamic(const qeq_gemm* gemm, size_t m, const float* input,
                                        size_t input_stride_bytes, float* output,
                                        size_t output_stride_bytes, struct pthreadpool* pool,
                                        float* input_scale, int32_t* input_zero_point);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_GEMM_H */
