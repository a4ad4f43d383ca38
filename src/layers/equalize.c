/* Cross-layer equalization of layer pairs, and its iteration over chains (PyTorch's
 * cross_layer_equalization and equalize; docs/numerics.md#cross-layer-equalization and
 * docs/numerics.md#iterated-equalization). */
#include <qeq/equalize.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/workspace.h"
#include "src/layers/cle-scales.h"
#include "src/layers/equalize-internal.h"
#include "src/layers/layer.h"

/* The buffers one pair writes: both weights and first's bias. */
static size_t pair_buffers(const qeq_layer* first, const qeq_layer* second, size_t channels,
                           qeq_buffer* out) {
  out[0] = (qeq_buffer){"first's weight", first->weight, qeq_layer_weight_bytes(first), 1, 0};
  out[1] = (qeq_buffer){"first's bias", first->bias, channels * sizeof(float), 1, 0};
  out[2] = (qeq_buffer){"second's weight", second->weight, qeq_layer_weight_bytes(second), 1, 0};
  return 3;
}

static qeq_status plan_pair(const char* fn, qeq_layer* first, qeq_layer* second, pair_plan* plan) {
  size_t out1, in2;
  qeq_status status = qeq_layer_check(fn, "first", first, NULL, &out1);
  if (status != QEQ_OK) return status;
  status = qeq_layer_check(fn, "second", second, &in2, NULL);
  if (status != QEQ_OK) return status;
  if (out1 != in2) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: first has %zu output channels but second has %zu input channels", fn, out1,
                    in2);
  }
  if (first->activation == QEQ_ACTIVATION_RELU6) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: first has a ReLU6, which does not commute with per-channel scaling", fn);
  }
  qeq_buffer buffers[3];
  status = qeq_check_overlaps(fn, buffers, pair_buffers(first, second, out1, buffers));
  if (status != QEQ_OK) return status;
  plan->first = first;
  plan->second = second;
  qeq_layer_channel_set(first, 1, &plan->produced);
  qeq_layer_channel_set(second, 0, &plan->consumed);
  plan->channels = out1;
  const size_t w1 = qeq_channel_set_workspace_floats(&plan->produced);
  const size_t w2 = qeq_channel_set_workspace_floats(&plan->consumed);
  plan->work_floats = w1 > w2 ? w1 : w2;
  return QEQ_OK;
}

/* Scratch for one pair: min/max of both sides, the scales, and the kernels' workspace. */
typedef struct pair_scratch {
  float* min1;
  float* max1;
  float* min2;
  float* max2;
  float* scale;     /* s, applied to second */
  float* inv_scale; /* 1/s, applied to first */
  float* work;
} pair_scratch;

/* All of it at once, before the first write: afterwards nothing can fail for lack of memory. */
static int scratch_alloc(pair_scratch* s, size_t channels, size_t work_floats) {
  float* block = qeq_scratch_acquire(6 * channels, work_floats, &s->work);
  if (block == NULL) return 0;
  s->min1 = block;
  s->max1 = block + channels;
  s->min2 = block + 2 * channels;
  s->max2 = block + 3 * channels;
  s->scale = block + 4 * channels;
  s->inv_scale = block + 5 * channels;
  return 1;
}

static void scratch_free(pair_scratch* s) {
  qeq_scratch_release(s->min1, s->work);
}

/* Ranges of both sides, then the scales. Fails only on non-finite weights, before any
 * write. Each side's per-channel sums of squares come from the same pass when asked for
 * (squares1 / squares2 non-NULL). */
static qeq_status compute_scales(const char* fn, const pair_plan* plan, pair_scratch* s,
                                 double* squares1, double* squares2) {
  qeq_channel_set_minmax_squares(&plan->produced, plan->first->weight, s->min1, s->max1, squares1,
                                 s->work);
  qeq_channel_set_minmax_squares(&plan->consumed, plan->second->weight, s->min2, s->max2, squares2,
                                 s->work);
  return qeq_cle_channel_scales(fn, s->min1, s->max1, s->min2, s->max2, plan->first->bias, 0,
                                plan->channels, s->scale, s->inv_scale);
}

static void apply_scales(const pair_plan* plan, const pair_scratch* s) {
  qeq_channel_set_scale(&plan->produced, plan->first->weight, s->inv_scale, s->work);
  if (plan->first->bias != NULL) {
    for (size_t c = 0; c < plan->channels; c++) plan->first->bias[c] *= s->inv_scale[c];
  }
  qeq_channel_set_scale(&plan->consumed, plan->second->weight, s->scale, s->work);
}

qeq_status qeq_cross_layer_equalize(qeq_layer* first, qeq_layer* second, float* scales) {
  static const char fn[] = "qeq_cross_layer_equalize";
  pair_plan plan;
  qeq_status status = plan_pair(fn, first, second, &plan);
  if (status != QEQ_OK) return status;
  qeq_buffer buffers[4];
  size_t n = pair_buffers(first, second, plan.channels, buffers);
  buffers[n++] = (qeq_buffer){"scales", scales, plan.channels * sizeof(float), 1, 0};
  status = qeq_check_overlaps(fn, buffers, n);
  if (status != QEQ_OK) return status;
  status = first->bias != NULL ? qeq_check_finite(fn, "first's bias", first->bias, plan.channels)
                               : QEQ_OK;
  if (status != QEQ_OK) return status;
  pair_scratch scratch;
  if (!scratch_alloc(&scratch, plan.channels, plan.work_floats)) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channels of scratch", fn,
                    plan.channels);
  }
  status = compute_scales(fn, &plan, &scratch, NULL, NULL);
  if (status == QEQ_OK) {
    apply_scales(&plan, &scratch);
    if (scales != NULL) {
      for (size_t c = 0; c < plan.channels; c++) scales[c] = scratch.scale[c];
    }
  }
  scratch_free(&scratch);
  return status;
}

/* ---- iteration ---- */

static int same_layer(const qeq_layer* a, const qeq_layer* b) {
  return a->kind == b->kind && a->groups == b->groups && a->bias == b->bias &&
         a->weight_shape.ndim == b->weight_shape.ndim &&
         memcmp(a->weight_shape.dims, b->weight_shape.dims, sizeof a->weight_shape.dims) == 0;
}

/* Index of the distinct layer (by weight pointer) in `distinct`, adding it if new; SIZE_MAX
 * when another descriptor shares the weight pointer but not the layer. */
static size_t distinct_index(const qeq_layer** distinct, size_t* count, const qeq_layer* layer) {
  for (size_t i = 0; i < *count; i++) {
    if (distinct[i]->weight == layer->weight) return same_layer(distinct[i], layer) ? i : SIZE_MAX;
  }
  distinct[*count] = layer;
  return (*count)++;
}

/* final[2p] (first) and final[2p + 1] (second): whether pair p is the last of a sweep to touch
 * that distinct layer. Only that pair's change survives the sweep, so only it needs the sums
 * of squares. */
static void mark_final_changes(const size_t* first_index, const size_t* second_index,
                               size_t pair_count, unsigned char* final) {
  for (size_t p = 0; p < pair_count; p++) {
    const size_t layer[2] = {first_index[p], second_index[p]};
    for (int side = 0; side < 2; side++) {
      int later = 0;
      for (size_t q = p + 1; q < pair_count && !later; q++) {
        later = first_index[q] == layer[side] || second_index[q] == layer[side];
      }
      final[2 * p + (size_t)side] = !later;
    }
  }
}

/* The sweeps, once every pair has been checked and the scratch acquired. squares holds two
 * arrays of the largest channel count. */
static qeq_status run_sweeps(const char* fn, const pair_plan* plans, size_t pair_count,
                             const size_t* first_index, const size_t* second_index,
                             const unsigned char* final, double* change, size_t distinct_count,
                             double* squares, size_t max_channels, pair_scratch* scratch,
                             float threshold, size_t max_sweeps, qeq_equalize_report* result) {
  *result = (qeq_equalize_report){0, 0.0, 0};
  double* squares1 = squares;
  double* squares2 = squares + max_channels;
  while (result->sweeps < max_sweeps) {
    for (size_t p = 0; p < pair_count; p++) {
      /* Every weight was checked finite and the scales keep it so: compute_scales fails only
       * on NaN or Inf, which cannot arise here; its status is passed on all the same. */
      const qeq_status status =
          compute_scales(fn, &plans[p], scratch, final[2 * p] ? squares1 : NULL,
                         final[2 * p + 1] ? squares2 : NULL);
      if (status != QEQ_OK) return status;
      if (final[2 * p]) {
        change[first_index[p]] =
            qeq_cle_scaled_change(squares1, scratch->inv_scale, plans[p].channels);
      }
      if (final[2 * p + 1]) {
        change[second_index[p]] =
            qeq_cle_scaled_change(squares2, scratch->scale, plans[p].channels);
      }
      apply_scales(&plans[p], scratch);
    }
    result->sweeps++;
    /* PyTorch sums the per-layer norms into a float32 scalar. */
    float total = 0.0f;
    for (size_t i = 0; i < distinct_count; i++) total += (float)change[i];
    result->final_change = total;
    if (total < threshold) {
      result->converged = 1;
      break;
    }
  }
  return QEQ_OK;
}

/* Each distinct weight extent once (a chain's middle layers belong to two pairs), every
 * descriptor's full extent, before any sharing rule: NaN is reported as NaN. */
static qeq_status check_weights_finite(const char* fn, qeq_layer* const* layers,
                                       size_t layer_count) {
  for (size_t i = 0; i < layer_count; i++) {
    const qeq_layer* l = layers[i];
    const size_t numel = qeq_layer_weight_bytes(l) / sizeof(float);
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) {
      seen = layers[j]->weight == l->weight &&
             qeq_layer_weight_bytes(layers[j]) == numel * sizeof(float);
    }
    const size_t k = seen ? numel : qeq_first_non_finite(l->weight, numel);
    if (k < numel) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: layers[%zu]'s weight[%zu] is NaN or Inf", fn, i,
                      k);
    }
  }
  return QEQ_OK;
}

/* Distinct layers may not overlap: each weight is written, and so is the bias of every layer
 * that is first in a pair. Buffers are named by the layer's first index in `layers`. */
typedef char buffer_name[40];

static qeq_status check_distinct_overlaps(const char* fn, qeq_layer* const* layers,
                                          const qeq_layer** distinct, size_t count,
                                          const unsigned char* bias_written, qeq_buffer* buffers,
                                          buffer_name* names) {
  for (size_t i = 0; i < count; i++) {
    size_t at = 0, out_channels = 0;
    while (layers[at] != distinct[i]) at++;
    qeq_layer_check(fn, "layer", distinct[i], NULL, &out_channels);
    snprintf(names[2 * i], sizeof names[0], "layers[%zu]'s weight", at);
    snprintf(names[2 * i + 1], sizeof names[0], "layers[%zu]'s bias", at);
    buffers[2 * i] =
        (qeq_buffer){names[2 * i], distinct[i]->weight, qeq_layer_weight_bytes(distinct[i]), 1, 0};
    buffers[2 * i + 1] = (qeq_buffer){names[2 * i + 1], bias_written[i] ? distinct[i]->bias : NULL,
                                      out_channels * sizeof(float), 1, 0};
  }
  return qeq_check_overlaps(fn, buffers, 2 * count);
}

qeq_status qeq_equalize(qeq_layer* const* layers, const size_t* group_sizes, size_t group_count,
                        float threshold, size_t max_sweeps, qeq_equalize_report* report) {
  static const char fn[] = "qeq_equalize";
  if (layers == NULL || group_sizes == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                    layers == NULL ? "layers" : "group_sizes");
  }
  if (!(threshold >= 0.0f)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: threshold %g is negative or NaN", fn,
                    (double)threshold);
  }
  if (max_sweeps == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: max_sweeps is 0", fn);
  size_t layer_count = 0, pair_count = 0;
  for (size_t g = 0; g < group_count; g++) {
    if (group_sizes[g] < 2) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: group %zu has %zu layers, needs >= 2", fn, g,
                      group_sizes[g]);
    }
    if (group_sizes[g] > SIZE_MAX / 4 - layer_count) {
      return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: too many layers", fn);
    }
    layer_count += group_sizes[g];
    pair_count += group_sizes[g] - 1;
  }

  qeq_status status = QEQ_ERROR_OUT_OF_MEMORY;
  const size_t lc = layer_count ? layer_count : 1, pc = pair_count ? pair_count : 1;
  pair_plan* plans = calloc(pc, sizeof *plans);
  const qeq_layer** distinct = calloc(lc, sizeof *distinct);
  size_t* first_index = calloc(pc, sizeof *first_index);
  size_t* second_index = calloc(pc, sizeof *second_index);
  double* change = calloc(lc, sizeof *change);
  unsigned char* bias_written = calloc(lc, 1);
  unsigned char* final = calloc(2 * pc, 1);
  qeq_buffer* buffers = calloc(2 * lc, sizeof *buffers);
  buffer_name* names = calloc(2 * lc, sizeof *names);
  double* sum_squares = NULL;
  pair_scratch scratch = {0};
  if (plans == NULL || distinct == NULL || first_index == NULL || second_index == NULL ||
      change == NULL || bias_written == NULL || final == NULL || buffers == NULL || names == NULL) {
    qeq_fail(status, "%s: cannot allocate the pair list", fn);
    goto done;
  }

  /* Check every pair, and every weight and bias for NaN/Inf, before touching anything. */
  size_t distinct_count = 0, p = 0, base = 0, max_channels = 1, max_work = 0;
  for (size_t g = 0; g < group_count; base += group_sizes[g], g++) {
    for (size_t i = 0; i + 1 < group_sizes[g]; i++, p++) {
      status = plan_pair(fn, layers[base + i], layers[base + i + 1], &plans[p]);
      if (status != QEQ_OK) goto done;
      const qeq_layer* first = plans[p].first;
      status = first->bias != NULL
                   ? qeq_check_finite(fn, "first's bias", first->bias, plans[p].channels)
                   : QEQ_OK;
      if (status != QEQ_OK) goto done;
      if (plans[p].channels > max_channels) max_channels = plans[p].channels;
      if (plans[p].work_floats > max_work) max_work = plans[p].work_floats;
    }
  }
  size_t shared = SIZE_MAX; /* the first pair with a wrongly shared weight */
  for (p = 0; p < pair_count; p++) {
    first_index[p] = distinct_index(distinct, &distinct_count, plans[p].first);
    second_index[p] = distinct_index(distinct, &distinct_count, plans[p].second);
    if ((first_index[p] == SIZE_MAX || second_index[p] == SIZE_MAX) && shared == SIZE_MAX) {
      shared = p;
    }
  }
  /* The fused sweep checks the weights itself, in the same order, in the read-only pass it
   * starts with: one read of the chain fewer. */
  const int fused = shared == SIZE_MAX &&
                    qeq_equalize_chain_fusable(plans, pair_count, distinct_count, layer_count);
  status = fused ? QEQ_OK : check_weights_finite(fn, layers, layer_count);
  if (status != QEQ_OK) goto done;
  if (shared != SIZE_MAX) {
    status = qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: pair %zu has a layer whose weight another descriptor shares with a "
                      "different shape, kind, groups or bias",
                      fn, shared);
    goto done;
  }
  for (p = 0; p < pair_count; p++) bias_written[first_index[p]] = 1;
  status =
      check_distinct_overlaps(fn, layers, distinct, distinct_count, bias_written, buffers, names);
  if (status != QEQ_OK) goto done;

  /* No pairs: nothing to do, converged at once (PyTorch: converged({}, {}) is True). */
  qeq_equalize_report result = {0, 0.0, 1};
  if (fused) {
    status = qeq_equalize_chain_sweeps(fn, plans, pair_count, first_index, second_index, change,
                                       distinct_count, threshold, max_sweeps, &result);
    if (status != QEQ_OK) goto done;
  } else if (pair_count > 0) {
    sum_squares = malloc(2 * max_channels * sizeof(double));
    if (sum_squares == NULL || !scratch_alloc(&scratch, max_channels, max_work)) {
      status = qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate scratch", fn);
      scratch = (pair_scratch){0};
      goto done;
    }
    mark_final_changes(first_index, second_index, pair_count, final);
    status =
        run_sweeps(fn, plans, pair_count, first_index, second_index, final, change, distinct_count,
                   sum_squares, max_channels, &scratch, threshold, max_sweeps, &result);
    if (status != QEQ_OK) goto done;
  }
  status = QEQ_OK;
  if (report != NULL) *report = result;

done:
  scratch_free(&scratch);
  free(sum_squares);
  free(plans);
  free(distinct);
  free(first_index);
  free(second_index);
  free(change);
  free(bias_written);
  free(final);
  free(buffers);
  free(names);
  return status;
}
