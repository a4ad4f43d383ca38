/* Input-weight equalization (docs/numerics.md#input-weight-equalization). */
#include <qeq/input_equalize.h>

#include <math.h>
#include <stdlib.h>

#include "kernels/common/minmax-scalar.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/workspace.h"
#include "src/layers/layer.h"

static float equalization_scale(float w, float x, float alpha) {
  /* alpha 0.5 is PyTorch's sqrt of the quotient, bit for bit; pow otherwise. */
  const float s = alpha == 0.5f ? sqrtf(w / x) : powf(w, 1.0f - alpha) / powf(x, alpha);
  return (s == 0.0f || !isfinite(s)) ? 1.0f : s;
}

qeq_status qeq_input_equalization_scales(const qeq_layer* layer, const float* input_min,
                                         const float* input_max,
                                         const qeq_input_equalization_options* options,
                                         float* scales) {
  static const char fn[] = "qeq_input_equalization_scales";
  size_t in;
  qeq_status status = qeq_layer_check(fn, "layer", layer, &in, NULL);
  if (status != QEQ_OK) return status;
  if (input_min == NULL || input_max == NULL || scales == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                    input_min == NULL   ? "input_min"
                    : input_max == NULL ? "input_max"
                                        : "scales");
  }
  const float alpha = options != NULL ? options->alpha : 0.5f;
  const int absmax = options != NULL && options->use_absmax;
  if (!(alpha >= 0.0f && alpha <= 1.0f)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: alpha %g is outside [0, 1]", fn,
                    (double)alpha);
  }
  const qeq_buffer buffers[] = {
      {"scales", scales, in * sizeof(float), 1, 0},
      {"layer's weight", layer->weight, qeq_layer_weight_bytes(layer), 0, 0},
      {"input_min", input_min, in * sizeof(float), 0, 0},
      {"input_max", input_max, in * sizeof(float), 0, 0}};
  status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  for (size_t j = 0; j < in; j++) {
    if (!(input_min[j] <= input_max[j])) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: input channel %zu has min %g > max %g "
                      "(or NaN)",
                      fn, j, (double)input_min[j], (double)input_max[j]);
    }
  }
  qeq_channel_set consumed;
  qeq_layer_channel_set(layer, 0, &consumed);
  float* work;
  float* wmin = qeq_scratch_acquire(2 * in, qeq_channel_set_workspace_floats(&consumed), &work);
  if (wmin == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channels", fn, in);
  }
  float* wmax = wmin + in;
  qeq_channel_set_minmax(&consumed, layer->weight, wmin, wmax, work);
  for (size_t j = 0; status == QEQ_OK && j < in; j++) {
    if (!isfinite(wmin[j]) || !isfinite(wmax[j])) {
      status = qeq_fail(QEQ_ERROR_NON_FINITE, "%s: weight column %zu holds NaN or Inf", fn, j);
    }
  }
  if (status == QEQ_OK) {
    for (size_t j = 0; j < in; j++) {
      const float w = absmax ? fmaxf(fabsf(wmin[j]), fabsf(wmax[j])) : wmax[j] - wmin[j];
      const float x =
          absmax ? fmaxf(fabsf(input_min[j]), fabsf(input_max[j])) : input_max[j] - input_min[j];
      scales[j] = equalization_scale(w, x, alpha);
    }
  }
  qeq_scratch_release(wmin, work);
  return status;
}

qeq_status qeq_apply_input_equalization(qeq_layer* layer, qeq_layer* producer,
                                        const float* scales) {
  static const char fn[] = "qeq_apply_input_equalization";
  size_t in;
  qeq_status status = qeq_layer_check(fn, "layer", layer, &in, NULL);
  if (status != QEQ_OK) return status;
  if (scales == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: scales is NULL", fn);
  if (producer != NULL) {
    size_t produced;
    status = qeq_layer_check(fn, "producer", producer, NULL, &produced);
    if (status != QEQ_OK) return status;
    if (produced != in) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                      "%s: producer has %zu output channels but layer has %zu input channels", fn,
                      produced, in);
    }
    if (producer->activation == QEQ_ACTIVATION_RELU6) {
      return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                      "%s: the producer's ReLU6 does not commute with the scales", fn);
    }
  }
  const qeq_buffer buffers[] = {
      {"layer's weight", layer->weight, qeq_layer_weight_bytes(layer), 1, 0},
      {"producer's weight", producer != NULL ? producer->weight : NULL,
       producer != NULL ? qeq_layer_weight_bytes(producer) : 0, 1, 0},
      {"producer's bias", producer != NULL ? producer->bias : NULL, in * sizeof(float), 1, 0},
      {"scales", scales, in * sizeof(float), 0, 0}};
  status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  status = qeq_check_scales(fn, "scales", scales, in);
  if (status != QEQ_OK) return status;
  if (producer != NULL && producer->bias != NULL) {
    status = qeq_check_finite(fn, "producer's bias", producer->bias, in);
    if (status != QEQ_OK) return status;
  }
  qeq_channel_set sets[2];
  qeq_layer_channel_set(layer, 0, &sets[0]);
  size_t work_floats = qeq_channel_set_workspace_floats(&sets[0]);
  if (producer != NULL) {
    qeq_layer_channel_set(producer, 1, &sets[1]);
    const size_t w = qeq_channel_set_workspace_floats(&sets[1]);
    if (w > work_floats) work_floats = w;
  }
  /* The reciprocals, both sides' min/max and the workspace, before the first write. */
  float* work;
  float* inverse = qeq_scratch_acquire(5 * in, work_floats, &work);
  if (inverse == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu scales", fn, in);
  }
  float *lo = inverse + in, *hi = inverse + 2 * in, *plo = inverse + 3 * in,
        *phi = inverse + 4 * in;
  for (size_t j = 0; j < in; j++) inverse[j] = 1.0f / scales[j]; /* PyTorch: reciprocal(scale) */
  qeq_channel_set_minmax(&sets[0], layer->weight, lo, hi, work);
  if (producer != NULL) qeq_channel_set_minmax(&sets[1], producer->weight, plo, phi, work);
  /* PyTorch writes Inf or keeps NaN here; qeq refuses, as CLE refuses to overflow a weight. */
  for (size_t j = 0; j < in && status == QEQ_OK; j++) {
    const int layer_ok = isfinite(fmaxf(fabsf(lo[j]), fabsf(hi[j])) * inverse[j]);
    const int producer_ok =
        producer == NULL || (isfinite(fmaxf(fabsf(plo[j]), fabsf(phi[j])) * scales[j]) &&
                             (producer->bias == NULL || isfinite(producer->bias[j] * scales[j])));
    if (!layer_ok || !producer_ok) {
      status = qeq_fail(QEQ_ERROR_NON_FINITE,
                        "%s: channel %zu of the %s holds NaN or Inf, or overflows when scaled", fn,
                        j, layer_ok ? "producer" : "layer");
    }
  }
  if (status == QEQ_OK) {
    qeq_channel_set_scale(&sets[0], layer->weight, inverse, work);
    if (producer != NULL) {
      qeq_channel_set_scale(&sets[1], producer->weight, scales, work);
      if (producer->bias != NULL) {
        for (size_t j = 0; j < in; j++) producer->bias[j] *= scales[j];
      }
    }
  }
  qeq_scratch_release(inverse, work);
  return status;
}

qeq_status qeq_scaled_input_minmax(size_t channels, const float* input_min, const float* input_max,
                                   const float* scales, float* min_out, float* max_out) {
  static const char fn[] = "qeq_scaled_input_minmax";
  if (input_min == NULL || input_max == NULL || scales == NULL || min_out == NULL ||
      max_out == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: an argument is NULL", fn);
  }
  if (channels == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: channels is 0", fn);
  const size_t bytes = channels * sizeof(float);
  const qeq_buffer buffers[] = {{"min_out", min_out, sizeof(float), 1, 0},
                                {"max_out", max_out, sizeof(float), 1, 0},
                                {"input_min", input_min, bytes, 0, 0},
                                {"input_max", input_max, bytes, 0, 0},
                                {"scales", scales, bytes, 0, 0}};
  const qeq_status status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  /* torch.min/torch.max: a NaN among the products makes that result NaN (fminf/fmaxf would
   * drop it). -0.0 orders below +0.0, as in the reductions. */
  float lo = INFINITY, hi = -INFINITY;
  int lo_nan = 0, hi_nan = 0;
  for (size_t j = 0; j < channels; j++) {
    const float a = input_min[j] * scales[j], b = input_max[j] * scales[j];
    lo_nan |= isnan(a), hi_nan |= isnan(b);
    if (!isnan(a)) lo = qeq_min_f32(lo, a);
    if (!isnan(b)) hi = qeq_max_f32(hi, b);
  }
  const float nan = qeq_f32_from_bits(0x7fc00000u);
  *min_out = lo_nan ? nan : lo;
  *max_out = hi_nan ? nan : hi;
  return QEQ_OK;
}
