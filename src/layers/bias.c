/* High-bias absorption and analytic bias correction (data-free quantization). */
#include <qeq/bias.h>

#include <math.h>
#include <stdlib.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/layers/layer.h"

/* values[o] = bias[o] (0 without one) + sign * delta[o], rounded to float32; fails if one is
 * not finite, so that nothing is written. */
static qeq_status updated_bias(const char* fn, const char* name, const qeq_layer* layer,
                               const double* delta, size_t n, double sign, float* values) {
  for (size_t o = 0; o < n; o++) {
    const double base = layer->bias != NULL ? (double)layer->bias[o] : 0.0;
    values[o] = (float)(base + sign * delta[o]);
    if (!isfinite(values[o])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: %s[%zu] would overflow float32", fn, name, o);
    }
  }
  return QEQ_OK;
}

/* Writes the new bias into the layer's bias, or into storage as the new bias. */
static void commit_bias(qeq_layer* layer, float* storage, const float* values, size_t n) {
  float* bias = layer->bias != NULL ? layer->bias : storage;
  for (size_t o = 0; o < n; o++) bias[o] = values[o];
  layer->bias = bias;
}

qeq_status qeq_absorb_high_bias(qeq_layer* first, qeq_layer* second, const float* beta,
                                const float* gamma, const float* scales,
                                float* second_bias_storage) {
  static const char fn[] = "qeq_absorb_high_bias";
  size_t channels, in2, out2;
  qeq_status status = qeq_layer_check(fn, "first", first, NULL, &channels);
  if (status != QEQ_OK) return status;
  status = qeq_layer_check(fn, "second", second, &in2, &out2);
  if (status != QEQ_OK) return status;
  if (channels != in2) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: first has %zu output channels but second has %zu input channels", fn,
                    channels, in2);
  }
  if (first->activation == QEQ_ACTIVATION_RELU6) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED, "%s: first has a ReLU6; the shift is not exact", fn);
  }
  if (first->bias == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: first has no bias to absorb from", fn);
  }
  if (second->bias == NULL && second_bias_storage == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: second has no bias and second_bias_storage is NULL", fn);
  }
  const size_t numel2 = qeq_layer_weight_bytes(second) / sizeof(float);
  const qeq_buffer buffers[] = {
      {"first's bias", first->bias, channels * sizeof(float), 1, 0},
      {second->bias != NULL ? "second's bias" : "second_bias_storage",
       second->bias != NULL ? second->bias : second_bias_storage, out2 * sizeof(float), 1, 0},
      {"second's weight", second->weight, numel2 * sizeof(float), 0, 0},
      {"beta", beta, channels * sizeof(float), 0, 0},
      {"gamma", gamma, channels * sizeof(float), 0, 0},
      {"scales", scales, channels * sizeof(float), 0, 0}};
  status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  if ((status = qeq_check_finite(fn, "beta", beta, channels)) != QEQ_OK ||
      (status = qeq_check_finite(fn, "second's weight", second->weight, numel2)) != QEQ_OK ||
      (status = qeq_check_finite(fn, "gamma", gamma, channels)) != QEQ_OK ||
      (scales != NULL && (status = qeq_check_finite(fn, "scales", scales, channels)) != QEQ_OK) ||
      (status = qeq_check_finite(fn, "first's bias", first->bias, channels)) != QEQ_OK ||
      (second->bias != NULL &&
       (status = qeq_check_finite(fn, "second's bias", second->bias, out2)) != QEQ_OK)) {
    return status;
  }
  for (size_t c = 0; scales != NULL && c < channels; c++) {
    if (!(scales[c] > 0.0f)) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: scales[%zu] = %g is not > 0", fn, c,
                      (double)scales[c]);
    }
  }
  /* Both new biases are computed and checked before either is written. */
  float* shift = malloc((2 * channels + out2) * sizeof(float));
  double* response = malloc(out2 * sizeof(double));
  if (shift == NULL || response == NULL) {
    free(shift), free(response);
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channels", fn, channels);
  }
  float *first_bias = shift + channels, *second_bias = shift + 2 * channels;
  for (size_t c = 0; c < channels && status == QEQ_OK; c++) {
    const float b = scales != NULL ? beta[c] / scales[c] : beta[c];
    const float g = scales != NULL ? gamma[c] / scales[c] : gamma[c];
    const float moved = b - 3.0f * fabsf(g);
    shift[c] = moved > 0.0f ? moved : 0.0f;
    first_bias[c] = first->bias[c] - shift[c];
    if (!isfinite(moved) || !isfinite(first_bias[c])) {
      status = qeq_fail(QEQ_ERROR_NON_FINITE,
                        "%s: channel %zu's shift beta - 3|gamma| (over scales) overflows float32",
                        fn, c);
    }
  }
  if (status == QEQ_OK) {
    qeq_layer_constant_response(second, second->weight, NULL, shift, response);
    status = updated_bias(fn, "second's bias", second, response, out2, 1.0, second_bias);
  }
  if (status == QEQ_OK) {
    for (size_t c = 0; c < channels; c++) first->bias[c] = first_bias[c];
    commit_bias(second, second_bias_storage, second_bias, out2);
  }
  free(shift), free(response);
  return status;
}

qeq_status qeq_correct_bias(qeq_layer* layer, const float* quantized_weight,
                            const float* input_mean, float* bias_storage) {
  static const char fn[] = "qeq_correct_bias";
  size_t in, out;
  qeq_status status = qeq_layer_check(fn, "layer", layer, &in, &out);
  if (status != QEQ_OK) return status;
  if (layer->bias == NULL && bias_storage == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: the layer has no bias and bias_storage is "
                    "NULL",
                    fn);
  }
  const size_t numel = qeq_layer_weight_bytes(layer) / sizeof(float);
  const qeq_buffer buffers[] = {
      {layer->bias != NULL ? "bias" : "bias_storage",
       layer->bias != NULL ? layer->bias : bias_storage, out * sizeof(float), 1, 0},
      {"weight", layer->weight, numel * sizeof(float), 0, 0},
      {"quantized_weight", quantized_weight, numel * sizeof(float), 0, 0},
      {"input_mean", input_mean, in * sizeof(float), 0, 0}};
  status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  if ((status = qeq_check_finite(fn, "weight", layer->weight, numel)) != QEQ_OK ||
      (status = qeq_check_finite(fn, "quantized_weight", quantized_weight, numel)) != QEQ_OK ||
      (status = qeq_check_finite(fn, "input_mean", input_mean, in)) != QEQ_OK ||
      (layer->bias != NULL &&
       (status = qeq_check_finite(fn, "bias", layer->bias, out)) != QEQ_OK)) {
    return status;
  }
  double* error = malloc(out * (sizeof(double) + sizeof(float)));
  if (error == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channels", fn, out);
  }
  float* values = (float*)(error + out);
  qeq_layer_constant_response(layer, quantized_weight, layer->weight, input_mean, error);
  status = updated_bias(fn, "bias", layer, error, out, -1.0, values);
  if (status == QEQ_OK) commit_bias(layer, bias_storage, values, out);
  free(error);
  return status;
}
