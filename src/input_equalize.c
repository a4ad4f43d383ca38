/* Input-weight equalization (SPEC.md section 4). */
#include <qeq/input_equalize.h>

#include <math.h>
#include <stdlib.h>

#include "src/error.h"
#include "src/layer.h"
#include "src/shape.h"

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
  for (size_t j = 0; j < in; j++) {
    if (!(input_min[j] <= input_max[j])) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: input channel %zu has min %g > max %g "
                      "(or NaN)",
                      fn, j, (double)input_min[j], (double)input_max[j]);
    }
  }
  float* wmin = malloc(2 * in * sizeof(float));
  if (wmin == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channels", fn, in);
  }
  float* wmax = wmin + in;
  qeq_channel_set consumed;
  qeq_layer_channel_set(layer, 0, &consumed);
  status = qeq_channel_set_minmax(&consumed, layer->weight, wmin, wmax);
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
  free(wmin);
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
    if (qeq_ranges_overlap(producer->weight, qeq_layer_weight_bytes(producer), layer->weight,
                           qeq_layer_weight_bytes(layer))) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: the producer's and the layer's weights "
                      "overlap",
                      fn);
    }
  }
  float* inverse = malloc(in * sizeof(float));
  if (inverse == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu scales", fn, in);
  }
  for (size_t j = 0; j < in; j++) {
    if (!(isfinite(scales[j]) && scales[j] > 0.0f) || !isfinite(1.0f / scales[j])) {
      free(inverse);
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: scales[%zu] = %g is not finite and > 0", fn,
                      j, (double)scales[j]);
    }
    inverse[j] = 1.0f / scales[j]; /* PyTorch: weight * reciprocal(scale) */
  }
  qeq_channel_set consumed;
  qeq_layer_channel_set(layer, 0, &consumed);
  status = qeq_channel_set_scale(&consumed, layer->weight, inverse);
  if (status == QEQ_OK && producer != NULL) {
    qeq_channel_set produced;
    qeq_layer_channel_set(producer, 1, &produced);
    status = qeq_channel_set_scale(&produced, producer->weight, scales);
    if (status == QEQ_OK && producer->bias != NULL) {
      for (size_t j = 0; j < in; j++) producer->bias[j] *= scales[j];
    }
  }
  free(inverse);
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
  float lo = input_min[0] * scales[0], hi = input_max[0] * scales[0];
  for (size_t j = 1; j < channels; j++) {
    lo = fminf(lo, input_min[j] * scales[j]);
    hi = fmaxf(hi, input_max[j] * scales[j]);
  }
  *min_out = lo;
  *max_out = hi;
  return QEQ_OK;
}
