/* Hardswish, hardsigmoid and sigmoid on 8-bit tensors. With per-tensor qparams the op maps each
 * of the 256 input bytes to one output byte, so each call builds a 256-entry table with the
 * float arithmetic of the engine's PyTorch kernel in scalar C and then looks every byte up with
 * the x8_lut kernel: the same bits on every ISA (docs/design.md#quantized-operations). */
#include <float.h>
#include <math.h>
#include <qeq/qops.h>
#include <stdint.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-tensor.h"

typedef enum activation {
  ACTIVATION_HARDSWISH,
  ACTIVATION_HARDSIGMOID,
  ACTIVATION_SIGMOID
} activation;

static float float_power_of_two(int32_t exponent) { /* 2^exponent for -126 <= exponent <= 127 */
  const uint32_t bits = (uint32_t)(exponent + 127) << 23;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static double double_power_of_two(int32_t exponent) { /* -1022 <= exponent <= 1023 */
  const uint64_t bits = (uint64_t)(exponent + 1023) << 52;
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

/* e^d in float32 as PyTorch's vectorised exp computes it (Sleef's 1-ulp expf, with fused
 * multiply-adds): k = rne(d * f32(1/ln 2)); r = d - k * ln2 in two fused steps (ln 2 split into
 * a 16-bit head and a tail); e^r by a degree-7 polynomial (1 + r + r^2 * p(r), p of degree 5,
 * Horner with fmaf); then times 2^floor(k/2) and 2^(k - floor(k/2)). Below -104 it is 0, above
 * 100 infinity. Every step is a float32 operation rounded once, so it is the same on every CPU. */
static float vectorised_expf(float d) {
  if (d != d) return d;
  if (d < -104.0f) return 0.0f;
  if (d > 100.0f) return INFINITY;
  const float k = nearbyintf(d * 1.44269504088896340735992468100189214f);
  float r = fmaf(k, -0.693145751953125f, d);
  r = fmaf(k, -1.428606765330187045e-06f, r);
  float p = 0.000198527617612853646278381f;
  p = fmaf(p, r, 0.00139304355252534151077271f);
  p = fmaf(p, r, 0.00833336077630519866943359f);
  p = fmaf(p, r, 0.0416664853692054748535156f);
  p = fmaf(p, r, 0.166666671633720397949219f);
  p = fmaf(p, r, 0.5f);
  const float e_r = 1.0f + fmaf(r * r, p, r);
  const int32_t exponent = (int32_t)k, half = exponent >> 1; /* arithmetic: floor(k / 2) */
  return e_r * float_power_of_two(half) * float_power_of_two(exponent - half);
}

/* e^d rounded to float32 from a double evaluation (k = rne(d / ln 2), r = d - k ln 2 with ln 2
 * in two parts, the Taylor series of e^r to r^13, times 2^k): the C library's expf that QNNPACK
 * calls, without depending on a C library. It is not always the correctly rounded float, and
 * glibc's expf is not either; they differ on some floats, but not on any byte of QNNPACK's
 * sigmoid table (docs/numerics.md#sigmoid). */
static float double_evaluated_expf(float d) {
  if (d != d) return d;
  if (d < -104.0f) return 0.0f;
  if (d > 89.0f) return INFINITY;
  static const double ln2_head = 0x1.62e42fefa3800p-1; /* 11 low bits zero: k * head is exact */
  static const double ln2_tail = 0x1.ef35793c76730p-45;
  const double k = nearbyint((double)d * 0x1.71547652b82fep0);
  const double r = ((double)d - k * ln2_head) - k * ln2_tail;
  static const double factorials[14] = {1.0,       1.0,        2.0,         6.0,         24.0,
                                        120.0,     720.0,      5040.0,      40320.0,     362880.0,
                                        3628800.0, 39916800.0, 479001600.0, 6227020800.0};
  double series = 1.0 / factorials[13];
  for (int i = 12; i >= 0; i--) series = series * r + 1.0 / factorials[i];
  const double value = series * double_power_of_two((int32_t)k);
  return value > (double)FLT_MAX ? INFINITY : (float)value;
}

/* clamp(x + 3, 0, 6), then x * that / 6 (hardswish) or that / 6 (hardsigmoid): PyTorch's
 * order of float32 operations in both of its kernels. Sigmoid: 1 / (1 + e^-x), PyTorch's
 * vectorised body. */
static float activation_value(activation op, float x) {
  if (op == ACTIVATION_SIGMOID) return 1.0f / (1.0f + vectorised_expf(-x));
  float t = x + 3.0f;
  t = t > 0.0f ? t : 0.0f;
  t = t < 6.0f ? t : 6.0f;
  return op == ACTIVATION_HARDSWISH ? x * t / 6.0f : t / 6.0f;
}

/* PyTorch's vectorised kernel (onednn, and qint8 under qnnpack): x = fma(q, s, f32(s * -z)),
 * then requantization with f32(1 / s_y), rounding half to even, saturating. */
static void build_aten_table(activation op, const qeq_q8_tensor* x, const qeq_q8_view* xv,
                             const qeq_q8_tensor* y, const qeq_q8_view* yv, uint8_t table[256]) {
  const float offset = x->scale * (float)(-x->zero_point);
  for (int32_t level = xv->qmin; level <= xv->qmax; level++) {
    const float v = activation_value(op, fmaf((float)level, x->scale, offset));
    table[(uint8_t)level] = (uint8_t)qeq_q8_quantize_value(v, y, yv);
  }
}

/* QNNPACK's table (quint8 under qnnpack): x = s * (float)(q - z), then
 * f32(f32(1 / s_y) * value) + (float)z_y clamped to [0, 255] in float and rounded half to
 * even. The zero point is added before rounding, so ties can land on the other integer. */
static void build_qnnpack_table(activation op, const qeq_q8_tensor* x, const qeq_q8_tensor* y,
                                uint8_t table[256]) {
  const float inv_scale = 1.0f / y->scale;
  for (int32_t level = 0; level <= 255; level++) {
    const float dequantized = x->scale * (float)(level - x->zero_point);
    float r;
    if (op == ACTIVATION_SIGMOID) {
      /* QNNPACK's sigmoid table: 256 / (1 + e^-x) with the C library's expf; its output qparams
       * are fixed at (1/256, 0), so this is y's 1/scale times sigmoid. */
      r = 256.0f / (1.0f + double_evaluated_expf(-dequantized));
    } else {
      r = inv_scale * activation_value(op, dequantized) + (float)y->zero_point;
    }
    r = r < 0.0f ? 0.0f : r;
    r = r > 255.0f ? 255.0f : r;
    table[level] = (uint8_t)nearbyintf(r);
  }
}

static qeq_status activation_op(const char* fn, activation op, const qeq_q8_tensor* x,
                                const void* x_data, qeq_gemm_engine engine, const qeq_q8_tensor* y,
                                void* y_data) {
  qeq_q8_view xv, yv;
  qeq_status status = qeq_q8_tensor_check(fn, "x", x, x_data, &xv);
  if (status == QEQ_OK) status = qeq_q8_tensor_check(fn, "y", y, y_data, &yv);
  if (status == QEQ_OK) status = qeq_q8_check_sizes(fn, "x", x, "y", y, 1, 1, 1, 1);
  if (status != QEQ_OK) return status;
  if (engine != QEQ_GEMM_ENGINE_ONEDNN && engine != QEQ_GEMM_ENGINE_QNNPACK) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: engine %d is not ONEDNN or QNNPACK", fn,
                    (int)engine);
  }
  if (op != ACTIVATION_HARDSWISH) {
    const int32_t zero_point = xv.is_signed ? -128 : 0;
    if (y->scale != 0x1p-8f || y->zero_point != zero_point) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                      "%s: y's scale, zero_point (%g, %d) must be PyTorch's fixed 1/256, %d for "
                      "this dtype",
                      fn, (double)y->scale, (int)y->zero_point, (int)zero_point);
    }
  }
  qeq_buffer buffers[2] = {{"y_data", y_data, yv.bytes, 1, 0}, {"x_data", x_data, xv.bytes, 0, 0}};
  if (y_data == x_data && yv.stride == xv.stride) buffers[0].in_place_of = 2;
  status = qeq_check_overlaps(fn, buffers, 2);
  if (status != QEQ_OK) return status;
  if (yv.bytes == 0) return QEQ_OK;

  uint8_t table[256];
  if (engine == QEQ_GEMM_ENGINE_QNNPACK && !xv.is_signed) {
    build_qnnpack_table(op, x, y, table);
  } else {
    build_aten_table(op, x, &xv, y, &yv, table);
  }
  qeq_x8_lut_ukernel_fn* lookup = QEQ_DISPATCH(x8_lut);
  const uint8_t* in = (const uint8_t*)x_data;
  uint8_t* out = (uint8_t*)y_data;
  if (xv.stride == x->c && yv.stride == x->c) {
    lookup(xv.pixels * x->c, in, table, out);
  } else {
    for (size_t i = 0; i < xv.pixels; i++)
      lookup(x->c, in + i * xv.stride, table, out + i * yv.stride);
  }
  return QEQ_OK;
}

qeq_status qeq_q8_hardswish(const qeq_q8_tensor* x, const void* x_data, qeq_gemm_engine engine,
                            const qeq_q8_tensor* y, void* y_data) {
  return activation_op("qeq_q8_hardswish", ACTIVATION_HARDSWISH, x, x_data, engine, y, y_data);
}

qeq_status qeq_q8_hardsigmoid(const qeq_q8_tensor* x, const void* x_data, qeq_gemm_engine engine,
                              const qeq_q8_tensor* y, void* y_data) {
  return activation_op("qeq_q8_hardsigmoid", ACTIVATION_HARDSIGMOID, x, x_data, engine, y, y_data);
}

qeq_status qeq_q8_sigmoid(const qeq_q8_tensor* x, const void* x_data, qeq_gemm_engine engine,
                          const qeq_q8_tensor* y, void* y_data) {
  return activation_op("qeq_q8_sigmoid", ACTIVATION_SIGMOID, x, x_data, engine, y, y_data);
}
