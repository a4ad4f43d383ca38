/* Batch-norm folding (SPEC.md 6.1 and 6.2). */
#include <qeq/fold.h>

#include <math.h>
#include <stdlib.h>

#include "src/error.h"
#include "src/layer.h"
#include "src/shape.h"

qeq_status qeq_fold_batch_norm(qeq_layer* layer, const qeq_batch_norm* bn, float* bias_storage) {
  static const char fn[] = "qeq_fold_batch_norm";
  size_t out_channels;
  qeq_status status = qeq_layer_check(fn, "layer", layer, NULL, &out_channels);
  if (status != QEQ_OK) return status;
  if (bn == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: bn is NULL", fn);
  const size_t n = bn->channels;
  if (n != out_channels) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: bn has %zu channels, the layer %zu output channels", fn, n, out_channels);
  }
  if (bn->running_mean == NULL || bn->running_var == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: bn running_%s is NULL", fn,
                    bn->running_mean == NULL ? "mean" : "var");
  }
  if (!(bn->eps >= 0.0f) || isinf(bn->eps)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: eps %g must be finite and >= 0", fn,
                    (double)bn->eps);
  }
  if (layer->bias == NULL && bias_storage == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: the layer has no bias and bias_storage is NULL", fn);
  }
  const struct {
    const char* name;
    const float* values;
  } vectors[] = {{"running_mean", bn->running_mean},
                 {"running_var", bn->running_var},
                 {"gamma", bn->gamma},
                 {"beta", bn->beta},
                 {"bias", layer->bias}};
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    if (vectors[i].values == NULL) continue;
    status = qeq_check_finite(fn, vectors[i].name, vectors[i].values, n);
    if (status != QEQ_OK) return status;
  }
  /* rsqrt[c] = 1 / sqrt(var + eps) and factors[c] = gamma * rsqrt[c], each rounded to float32
   * as PyTorch rounds them. */
  float* rsqrt = malloc(2 * n * sizeof(float));
  if (rsqrt == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu factors", fn, n);
  }
  float* factors = rsqrt + n;
  for (size_t c = 0; c < n; c++) {
    const float var_eps = bn->running_var[c] + bn->eps;
    if (!(var_eps > 0.0f)) {
      free(rsqrt);
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: running_var[%zu] + eps = %g is not > 0", fn,
                      c, (double)var_eps);
    }
    rsqrt[c] = 1.0f / sqrtf(var_eps);
    factors[c] = (bn->gamma != NULL ? bn->gamma[c] : 1.0f) * rsqrt[c];
    if (!isfinite(factors[c])) {
      free(rsqrt);
      return qeq_fail(QEQ_ERROR_NON_FINITE,
                      "%s: channel %zu's factor gamma / sqrt(var + eps) "
                      "overflows",
                      fn, c);
    }
  }
  qeq_channel_set produced;
  qeq_layer_channel_set(layer, 1, &produced);
  /* Checked descriptor and finite factors: scaling cannot fail. */
  qeq_channel_set_scale(&produced, layer->weight, factors);
  float* bias = layer->bias != NULL ? layer->bias : bias_storage;
  const int had_bias = layer->bias != NULL;
  for (size_t c = 0; c < n; c++) {
    const float centered = (had_bias ? bias[c] : 0.0f) - bn->running_mean[c];
    const float beta = bn->beta != NULL ? bn->beta[c] : 0.0f;
    const float gamma = bn->gamma != NULL ? bn->gamma[c] : 1.0f;
    /* PyTorch associates the two differently (SPEC.md 6.1 and 6.2). */
    bias[c] = layer->kind == QEQ_LAYER_LINEAR ? centered * factors[c] + beta
                                              : (centered * rsqrt[c]) * gamma + beta;
  }
  layer->bias = bias;
  free(rsqrt);
  return QEQ_OK;
}
