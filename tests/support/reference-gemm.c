/* The output formulas of docs/numerics.md#gemm-and-convolution-requantization for one exact
 * accumulator, shared by the GEMM and convolution references (independent of the library:
 * plain float32 arithmetic in PyTorch's order). */
#include <math.h>
#include <string.h>

#include "tests/support/test-support.h"

static int32_t dtype_min(qeq_dtype d) {
  return d == QEQ_DTYPE_QINT8 ? -128 : 0;
}
static int32_t dtype_max(qeq_dtype d) {
  return d == QEQ_DTYPE_QINT8 ? 127 : 255;
}

static int32_t quantize_value(float v, float scale, int32_t zp, qeq_dtype d) {
  const float q = nearbyintf(v * (1.0f / scale)) + (float)zp;
  if (!(q > (float)dtype_min(d))) return dtype_min(d);
  if (q > (float)dtype_max(d)) return dtype_max(d);
  return (int32_t)q;
}

void ref_gemm_store(const qeq_gemm_config* c, size_t j, int64_t acc, uint8_t* out) {
  const size_t q = c->quant.weight_qparam_count == 1 ? 0 : j;
  const float s_w = c->quant.weight_scales[q], s_x = c->quant.input_scale;
  const float b = c->quant.bias ? c->quant.bias[j] : 0.0f;
  if (c->quant.output == QEQ_GEMM_OUTPUT_INT32) {
    const int32_t v = (int32_t)acc;
    memcpy(out + 4 * j, &v, 4);
    return;
  }
  if (c->quant.output == QEQ_GEMM_OUTPUT_FLOAT) {
    float v = (float)acc * (s_x * s_w) + b;
    /* the clamp's real bounds on the float value, as comparisons (NaN and -0.0 pass) */
    const float lo = c->quant.clamp == QEQ_GEMM_CLAMP_NONE    ? -INFINITY
                     : c->quant.clamp == QEQ_GEMM_CLAMP_RANGE ? c->quant.clamp_min
                                                              : 0.0f;
    const float hi = c->quant.clamp == QEQ_GEMM_CLAMP_RELU6   ? 6.0f
                     : c->quant.clamp == QEQ_GEMM_CLAMP_RANGE ? c->quant.clamp_max
                                                              : INFINITY;
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    memcpy(out + 4 * j, &v, 4);
    return;
  }
  /* docs/numerics.md#qnnpack-engine for QNNPACK; for oneDNN the order measured on PyTorch
   * 1.13 (docs/numerics.md#onednn-engine): the zero point is added in float before rounding. */
  float v;
  int32_t add_after = c->quant.output_zero_point;
  if (c->quant.engine == QEQ_GEMM_ENGINE_QNNPACK) {
    const float mult = (s_w * s_x) * (1.0f / c->quant.output_scale);
    const int32_t bq = (int32_t)nearbyintf(b * (1.0f / (float)((double)s_w * s_x)));
    v = (float)(int32_t)(acc + bq) * mult;
  } else {
    const float bs = (1.0f / s_x) * (1.0f / s_w);
    const float mult = (1.0f / c->quant.output_scale) / bs;
    v = ((float)acc + b * bs) * mult + (float)c->quant.output_zero_point;
    add_after = 0;
  }
  int32_t lo = dtype_min(c->quant.output_dtype), hi = dtype_max(c->quant.output_dtype);
  const int32_t zy = c->quant.output_zero_point;
  if (c->quant.clamp == QEQ_GEMM_CLAMP_RELU || c->quant.clamp == QEQ_GEMM_CLAMP_RELU6) lo = zy;
  if (c->quant.clamp == QEQ_GEMM_CLAMP_RELU6) {
    hi = quantize_value(6.0f, c->quant.output_scale, zy, c->quant.output_dtype);
  }
  if (c->quant.clamp == QEQ_GEMM_CLAMP_RANGE) {
    lo = quantize_value(c->quant.clamp_min, c->quant.output_scale, zy, c->quant.output_dtype);
    hi = quantize_value(c->quant.clamp_max, c->quant.output_scale, zy, c->quant.output_dtype);
  }
  int64_t qv = (int64_t)nearbyint((double)v) + add_after;
  qv = qv < lo ? lo : qv > hi ? hi : qv;
  out[j] = (uint8_t)(int32_t)qv;
}
