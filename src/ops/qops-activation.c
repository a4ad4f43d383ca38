/* Hardswish and hardsigmoid on 8-bit tensors. With per-tensor qparams the op maps each of the
 * 256 input bytes to one output byte, so each call builds a 256-entry table with the float
 * arithmetic of the engine's PyTorch kernel and then looks every byte up: the same bits on
 * every ISA (docs/design.md#quantized-operations says what a vectorised lookup would add). */
#include <math.h>
#include <qeq/qops.h>
#include <stdint.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-tensor.h"

typedef enum activation { ACTIVATION_HARDSWISH, ACTIVATION_HARDSIGMOID } activation;

/* clamp(x + 3, 0, 6), then x * that / 6 (hardswish) or that / 6 (hardsigmoid): PyTorch's
 * order of float32 operations in both of its kernels. */
static float activation_value(activation op, float x) {
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
    const float v = activation_value(op, x->scale * (float)(level - x->zero_point));
    float r = inv_scale * v + (float)y->zero_point;
    r = r < 0.0f ? 0.0f : r;
    r = r > 255.0f ? 255.0f : r;
    table[level] = (uint8_t)nearbyintf(r);
  }
}

static void lookup_run(size_t n, const uint8_t* x, const uint8_t table[256], uint8_t* y) {
  for (size_t i = 0; i < n; i++) y[i] = table[x[i]];
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
  if (op == ACTIVATION_HARDSIGMOID) {
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
  const uint8_t* in = (const uint8_t*)x_data;
  uint8_t* out = (uint8_t*)y_data;
  if (xv.stride == x->c && yv.stride == x->c) {
    lookup_run(xv.pixels * x->c, in, table, out);
  } else {
    for (size_t i = 0; i < xv.pixels; i++) {
      lookup_run(x->c, in + i * xv.stride, table, out + i * yv.stride);
    }
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
