/* Batch-norm folding (docs/numerics.md#batch-norm-folding-and-fusion). */
#include <qeq/fold.h>

#include <math.h>
#include <stdlib.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/workspace.h"
#include "src/layers/layer.h"

/* Both entry points: folds layer's weight and bias into weight_out and bias_out (either may be
 * the layer's own array; bias_name names bias_out in errors). */
static qeq_status fold(const char* fn, const qeq_layer* layer, const qeq_batch_norm* bn,
                       float* weight_out, float* bias_out, const char* bias_name) {
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
  const float* bias_in = layer->bias;
  const size_t weight_bytes = qeq_layer_weight_bytes(layer);
  const qeq_buffer buffers[] = {
      {"layer's weight", layer->weight, weight_bytes, weight_out == layer->weight, 0},
      {"layer's bias", bias_in, n * sizeof(float), bias_out == bias_in, 0},
      {"weight_out", weight_out == layer->weight ? NULL : weight_out, weight_bytes, 1, 0},
      {bias_name, bias_out == bias_in ? NULL : bias_out, n * sizeof(float), 1, 0},
      {"bn running_mean", bn->running_mean, n * sizeof(float), 0, 0},
      {"bn running_var", bn->running_var, n * sizeof(float), 0, 0},
      {"bn gamma", bn->gamma, n * sizeof(float), 0, 0},
      {"bn beta", bn->beta, n * sizeof(float), 0, 0}};
  status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  const struct {
    const char* name;
    const float* values;
  } vectors[] = {{"running_mean", bn->running_mean},
                 {"running_var", bn->running_var},
                 {"gamma", bn->gamma},
                 {"beta", bn->beta},
                 {"bias", bias_in}};
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    if (vectors[i].values == NULL) continue;
    status = qeq_check_finite(fn, vectors[i].name, vectors[i].values, n);
    if (status != QEQ_OK) return status;
  }
  qeq_channel_set produced;
  qeq_layer_channel_set(layer, 1, &produced);
  /* rsqrt[c] = 1 / sqrt(var + eps) and factors[c] = gamma * rsqrt[c], each rounded to float32
   * as PyTorch rounds them; the new bias and the weight's min/max, and the kernels' workspace,
   * all acquired before the first write. */
  float* work;
  float* rsqrt = qeq_scratch_acquire(5 * n, qeq_channel_set_workspace_floats(&produced), &work);
  if (rsqrt == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu factors", fn, n);
  }
  float *factors = rsqrt + n, *new_bias = rsqrt + 2 * n, *lo = rsqrt + 3 * n, *hi = rsqrt + 4 * n;
  qeq_channel_set_minmax(&produced, layer->weight, lo, hi, work);
  status = QEQ_OK;
  for (size_t c = 0; c < n && status == QEQ_OK; c++) {
    const float var_eps = bn->running_var[c] + bn->eps;
    if (!(var_eps > 0.0f)) {
      status = qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: running_var[%zu] + eps = %g is not > 0",
                        fn, c, (double)var_eps);
      break;
    }
    rsqrt[c] = 1.0f / sqrtf(var_eps);
    const float beta = bn->beta != NULL ? bn->beta[c] : 0.0f;
    const float gamma = bn->gamma != NULL ? bn->gamma[c] : 1.0f;
    factors[c] = gamma * rsqrt[c];
    const float centered = (bias_in != NULL ? bias_in[c] : 0.0f) - bn->running_mean[c];
    /* PyTorch associates the two differently (docs/numerics.md#batch-norm-folding-and-fusion). */
    new_bias[c] = layer->kind == QEQ_LAYER_LINEAR ? centered * factors[c] + beta
                                                  : (centered * rsqrt[c]) * gamma + beta;
    /* PyTorch writes Inf here; qeq refuses, as CLE refuses to overflow a weight. */
    const float absmax = fmaxf(fabsf(lo[c]), fabsf(hi[c]));
    if (!isfinite(factors[c])) {
      status = qeq_fail(QEQ_ERROR_NON_FINITE,
                        "%s: channel %zu's factor gamma / sqrt(var + eps) overflows", fn, c);
    } else if (!isfinite(lo[c]) || !isfinite(hi[c])) {
      status = qeq_fail(QEQ_ERROR_NON_FINITE,
                        "%s: the weight's output channel %zu holds NaN or Inf", fn, c);
    } else if (!isfinite(absmax * factors[c]) || !isfinite(new_bias[c])) {
      status = qeq_fail(QEQ_ERROR_NON_FINITE,
                        "%s: channel %zu's folded weight or bias overflows float32", fn, c);
    }
  }
  if (status == QEQ_OK) {
    qeq_channel_set_scale_to(&produced, layer->weight, factors, weight_out, work);
    for (size_t c = 0; c < n; c++) bias_out[c] = new_bias[c];
  }
  qeq_scratch_release(rsqrt, work);
  return status;
}

qeq_status qeq_fold_batch_norm(qeq_layer* layer, const qeq_batch_norm* bn, float* bias_storage) {
  static const char fn[] = "qeq_fold_batch_norm";
  if (layer != NULL && layer->bias == NULL && bias_storage == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: the layer has no bias and bias_storage is NULL", fn);
  }
  const int own_bias = layer != NULL && layer->bias != NULL;
  qeq_status status = fold(fn, layer, bn, layer != NULL ? layer->weight : NULL,
                           own_bias ? layer->bias : bias_storage, "bias_storage");
  if (status == QEQ_OK && !own_bias) layer->bias = bias_storage;
  return status;
}

qeq_status qeq_fold_batch_norm_to(const qeq_layer* layer, const qeq_batch_norm* bn,
                                  float* weight_out, float* bias_out) {
  static const char fn[] = "qeq_fold_batch_norm_to";
  if (weight_out == NULL || bias_out == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                    weight_out == NULL ? "weight_out" : "bias_out");
  }
  return fold(fn, layer, bn, weight_out, bias_out, "bias_out");
}
