/* Batch-norm folding (docs/numerics.md#batch-norm-folding-and-fusion). */
#include <qeq/fold.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/workspace.h"
#include "src/layers/layer.h"

/* The argument checks of one fold that read no weight: the descriptor, the batch norm, the
 * overlaps among the fold's own buffers and the batch-norm vectors' and bias's values. Sets
 * *channels (the output channels). bias_name names bias_out in errors. */
static qeq_status check_fold(const char* fn, const qeq_layer* layer, const qeq_batch_norm* bn,
                             const float* weight_out, const float* bias_out, const char* bias_name,
                             size_t* channels) {
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
  *channels = n;
  return QEQ_OK;
}

/* factors[c] = gamma * (1 / sqrt(var + eps)) and new_bias[c], each rounded to float32 as
 * PyTorch rounds them, for a fold check_fold accepted; one read of the weight (its channels'
 * min and max, into lo and hi) to refuse a NaN/Inf weight or an overflowing product. Writes
 * only factors, new_bias, lo, hi, rsqrt (channels floats each) and work. */
static qeq_status fold_factors(const char* fn, const qeq_layer* layer, const qeq_batch_norm* bn,
                               const qeq_channel_set* produced, float* rsqrt, float* lo, float* hi,
                               float* work, float* factors, float* new_bias) {
  const size_t n = bn->channels;
  const float* bias_in = layer->bias;
  qeq_channel_set_minmax(produced, layer->weight, lo, hi, work);
  for (size_t c = 0; c < n; c++) {
    const float var_eps = bn->running_var[c] + bn->eps;
    if (!(var_eps > 0.0f)) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: running_var[%zu] + eps = %g is not > 0", fn,
                      c, (double)var_eps);
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
      return qeq_fail(QEQ_ERROR_NON_FINITE,
                      "%s: channel %zu's factor gamma / sqrt(var + eps) overflows", fn, c);
    }
    if (!isfinite(lo[c]) || !isfinite(hi[c])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: the weight's output channel %zu holds NaN or Inf",
                      fn, c);
    }
    if (!isfinite(absmax * factors[c]) || !isfinite(new_bias[c])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE,
                      "%s: channel %zu's folded weight or bias overflows float32", fn, c);
    }
  }
  return QEQ_OK;
}

/* Both single-fold entry points: folds layer's weight and bias into weight_out and bias_out
 * (either may be the layer's own array; bias_name names bias_out in errors). */
static qeq_status fold(const char* fn, const qeq_layer* layer, const qeq_batch_norm* bn,
                       float* weight_out, float* bias_out, const char* bias_name) {
  size_t n = 0;
  qeq_status status = check_fold(fn, layer, bn, weight_out, bias_out, bias_name, &n);
  if (status != QEQ_OK) return status;
  qeq_channel_set produced;
  qeq_layer_channel_set(layer, 1, &produced);
  /* the factors, the new bias and their temporaries, and the kernels' workspace, all acquired
   * before the first write */
  float* work;
  float* scratch = qeq_scratch_acquire(5 * n, qeq_channel_set_workspace_floats(&produced), &work);
  if (scratch == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu factors", fn, n);
  }
  float *factors = scratch, *new_bias = scratch + n;
  status = fold_factors(fn, layer, bn, &produced, scratch + 2 * n, scratch + 3 * n, scratch + 4 * n,
                        work, factors, new_bias);
  if (status == QEQ_OK) {
    qeq_channel_set_scale_to(&produced, layer->weight, factors, weight_out, work);
    for (size_t c = 0; c < n; c++) bias_out[c] = new_bias[c];
  }
  qeq_scratch_release(scratch, work);
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

/* "qeq_fold_batch_norms: layers[i]", the prefix of fold i's errors. */
typedef char fold_prefix[64];

static const char* batch_prefix(fold_prefix prefix, size_t i) {
  snprintf(prefix, sizeof(fold_prefix), "qeq_fold_batch_norms: layers[%zu]", i);
  return prefix;
}

/* The written buffers of the whole batch (each layer's weight, bias or bias storage, and min
 * and max outputs) may share no byte: buffers and names hold 4 per layer. */
static qeq_status check_batch_overlaps(const char* fn, const qeq_layer* layers,
                                       float* const* bias_storage, float* const* weight_min,
                                       float* const* weight_max, const size_t* channels,
                                       size_t count, qeq_buffer* buffers, fold_prefix* names) {
  for (size_t i = 0; i < count; i++) {
    const size_t bytes = channels[i] * sizeof(float);
    const struct {
      const char* what;
      const void* data;
      size_t bytes;
    } written[4] = {{"weight", layers[i].weight, qeq_layer_weight_bytes(&layers[i])},
                    {"bias", layers[i].bias != NULL ? layers[i].bias : bias_storage[i], bytes},
                    {"weight_min", weight_min != NULL ? weight_min[i] : NULL, bytes},
                    {"weight_max", weight_max != NULL ? weight_max[i] : NULL, bytes}};
    for (size_t k = 0; k < 4; k++) {
      snprintf(names[4 * i + k], sizeof names[0], "layers[%zu]'s %s", i, written[k].what);
      buffers[4 * i + k] = (qeq_buffer){names[4 * i + k], written[k].data, written[k].bytes, 1, 0};
    }
  }
  return qeq_check_overlaps(fn, buffers, 4 * count);
}

qeq_status qeq_fold_batch_norms(qeq_layer* layers, const qeq_batch_norm* bns,
                                float* const* bias_storage, float* const* weight_min,
                                float* const* weight_max, size_t count) {
  static const char fn[] = "qeq_fold_batch_norms";
  if (count == 0) return QEQ_OK;
  if (layers == NULL || bns == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                    layers == NULL ? "layers" : "bns");
  }
  if (count > SIZE_MAX / (4 * sizeof(fold_prefix) + 4 * sizeof(qeq_buffer))) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: count %zu is too large", fn, count);
  }
  fold_prefix prefix;
  for (size_t i = 0; i < count; i++) {
    if (layers[i].bias == NULL && (bias_storage == NULL || bias_storage[i] == NULL)) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: layers[%zu] has no bias and bias_storage[%zu] is NULL", fn, i, i);
    }
  }
  /* per layer: output channels and channel set, then the overlap check's buffers and names */
  size_t* channels = malloc(count * sizeof *channels);
  qeq_channel_set* produced = malloc(count * sizeof *produced);
  qeq_buffer* buffers = malloc(4 * count * sizeof *buffers);
  fold_prefix* names = malloc(4 * count * sizeof *names);
  qeq_status status = QEQ_OK;
  if (channels == NULL || buffers == NULL || names == NULL || produced == NULL) {
    status = qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu descriptors", fn, count);
  }
  size_t total = 0, widest = 0, work_floats = 0;
  for (size_t i = 0; i < count && status == QEQ_OK; i++) {
    qeq_layer* l = &layers[i];
    status = check_fold(batch_prefix(prefix, i), l, &bns[i], l->weight,
                        l->bias != NULL ? l->bias : bias_storage[i], "bias_storage", &channels[i]);
    if (status != QEQ_OK) break;
    qeq_layer_channel_set(l, 1, &produced[i]);
    const size_t w = qeq_channel_set_workspace_floats(&produced[i]);
    if (w > work_floats) work_floats = w;
    if (channels[i] > widest) widest = channels[i];
    total += channels[i]; /* no overflow: the biases are distinct arrays of floats */
  }
  if (status == QEQ_OK && total > (SIZE_MAX / sizeof(float) - widest) / 4) {
    status =
        qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %zu channels in all are too many", fn, total);
  }
  if (status == QEQ_OK) {
    status = check_batch_overlaps(fn, layers, bias_storage, weight_min, weight_max, channels, count,
                                  buffers, names);
  }
  float* work = NULL;
  float* scratch = NULL;
  if (status == QEQ_OK) {
    /* every layer's factors, new bias, weight min and max; then one layer's 1 / sqrt */
    scratch = qeq_scratch_acquire(4 * total + widest, work_floats, &work);
    if (scratch == NULL) {
      status = qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu factors", fn, total);
    }
  }
  float *factors = NULL, *new_bias = NULL, *lo = NULL, *hi = NULL, *rsqrt = NULL;
  if (scratch != NULL) { /* no pointer arithmetic on NULL after a failed check */
    factors = scratch, new_bias = scratch + total;
    lo = scratch + 2 * total, hi = scratch + 3 * total, rsqrt = scratch + 4 * total;
  }
  /* every check and every factor before the first write: an error leaves all layers as given */
  size_t at = 0;
  for (size_t i = 0; i < count && status == QEQ_OK; i++) {
    status = fold_factors(batch_prefix(prefix, i), &layers[i], &bns[i], &produced[i], rsqrt,
                          lo + at, hi + at, work, factors + at, new_bias + at);
    at += channels[i];
  }
  if (status == QEQ_OK) {
    /* last layer first: the weights the checks read last are the likeliest still cached */
    at = total;
    for (size_t i = count; i-- > 0;) {
      at -= channels[i];
      qeq_layer* l = &layers[i];
      float* bias = l->bias != NULL ? l->bias : bias_storage[i];
      qeq_channel_set_scale_to(&produced[i], l->weight, factors + at, l->weight, work);
      for (size_t c = 0; c < channels[i]; c++) bias[c] = new_bias[at + c];
      l->bias = bias;
      float* const outputs[2] = {weight_min != NULL ? weight_min[i] : NULL,
                                 weight_max != NULL ? weight_max[i] : NULL};
      const float* const values[2] = {lo + at, hi + at};
      for (size_t k = 0; k < 2; k++) {
        if (outputs[k] == NULL) continue;
        for (size_t c = 0; c < channels[i]; c++) outputs[k][c] = values[k][c];
      }
    }
  }
  if (scratch != NULL) qeq_scratch_release(scratch, work);
  free(channels);
  free(produced);
  free(buffers);
  free(names);
  return status;
}
