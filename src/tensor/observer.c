/* Streaming observers (docs/numerics.md#observers): running min/max per tensor or per
 * channel, with PyTorch's MinMax and moving-average update rules, on top of the range kernels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <qeq/qparams.h>

#include "kernels/common/minmax-scalar.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/workspace.h"
#include "src/tensor/qparams.h"
#include "src/tensor/ranges.h"

struct qeq_observer {
  qeq_observer_config config;
  int per_channel;
  size_t channels; /* 0 until a per-channel observer sees its first batch */
  float* min;      /* `channels` entries (1 for per-tensor) */
  float* max;
};

qeq_status qeq_observer_create(const qeq_observer_config* config, qeq_observer** observer) {
  static const char fn[] = "qeq_observer_create";
  if (observer == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: observer is NULL", fn);
  if (config == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config is NULL", fn);
  int32_t qmin = 0, qmax = 0;
  qeq_status status = qeq_quant_range_for(fn, config, &qmin, &qmax);
  if (status != QEQ_OK) return status;
  const float c = config->averaging_constant;
  if (!(c >= 0.0f && c <= 1.0f)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: config->averaging_constant %g is outside [0, 1]", fn, (double)c);
  }
  if (!(config->eps > 0.0f) || !isfinite(config->eps)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->eps %g must be positive and finite",
                    fn, (double)config->eps);
  }
  qeq_observer* o = calloc(1, sizeof *o);
  if (o == NULL) return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate", fn);
  o->config = *config;
  o->per_channel =
      config->qscheme != QEQ_PER_TENSOR_AFFINE && config->qscheme != QEQ_PER_TENSOR_SYMMETRIC;
  if (!o->per_channel) {
    o->channels = 1;
    o->min = malloc(sizeof(float));
    o->max = malloc(sizeof(float));
    if (o->min == NULL || o->max == NULL) {
      qeq_observer_destroy(o);
      return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate", fn);
    }
    o->min[0] = INFINITY;
    o->max[0] = -INFINITY;
  }
  *observer = o;
  return QEQ_OK;
}

void qeq_observer_destroy(qeq_observer* observer) {
  if (observer == NULL) return;
  free(observer->min);
  free(observer->max);
  free(observer);
}

qeq_status qeq_observer_update(qeq_observer* o, const qeq_shape* shape, const float* x) {
  static const char fn[] = "qeq_observer_update";
  if (o == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: observer is NULL", fn);
  size_t numel;
  qeq_status status = qeq_shape_check(fn, shape, &numel);
  if (status != QEQ_OK) return status;
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  qeq_axis_view view = {1, 1, numel, numel};
  if (o->per_channel) {
    status = qeq_axis_view_make(fn, shape, o->config.ch_axis, &view);
    if (status != QEQ_OK) return status;
  }
  const size_t channels = view.channels;
  if (numel == 0) return QEQ_OK; /* PyTorch ignores empty batches */
  if (o->per_channel && o->channels != 0 && channels != o->channels) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: batch has %zu channels along ch_axis %d, earlier batches had %zu", fn,
                    channels, o->config.ch_axis, o->channels);
  }
  /* Batch statistics into scratch first, so a failure changes nothing. */
  float* work;
  float* cur = qeq_scratch_acquire(2 * channels, qeq_minmax_workspace_floats(&view), &work);
  if (cur == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate", fn);
  }
  float* cur_min = cur;
  float* cur_max = cur + channels;
  qeq_minmax_view(&view, x, cur_min, cur_max, work);
  qeq_aligned_free(work);
  const int first =
      o->per_channel ? o->channels == 0 : (o->min[0] == INFINITY && o->max[0] == -INFINITY);
  if (o->per_channel && o->channels == 0) {
    /* Adopt the batch buffers as the statistics. */
    float* max_copy = malloc(channels * sizeof(float));
    if (max_copy == NULL) {
      free(cur);
      return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate", fn);
    }
    memcpy(max_copy, cur_max, channels * sizeof(float));
    o->min = cur; /* the first `channels` floats are the mins */
    o->max = max_copy;
    o->channels = channels;
    return QEQ_OK;
  }
  const float c = o->config.averaging_constant;
  for (size_t i = 0; i < channels; i++) {
    if (first) {
      o->min[i] = cur_min[i];
      o->max[i] = cur_max[i];
    } else if (c == 0.0f) {
      /* torch.min/torch.max of two tensors: NaN propagates */
      o->min[i] = qeq_min_f32(o->min[i], cur_min[i]);
      o->max[i] = isnan(o->min[i]) ? o->min[i] : qeq_max_f32(o->max[i], cur_max[i]);
    } else {
      /* min + c * (cur - min), each step rounded to float32 */
      const float dmin = cur_min[i] - o->min[i];
      const float dmax = cur_max[i] - o->max[i];
      const float step_min = c * dmin;
      const float step_max = c * dmax;
      o->min[i] = o->min[i] + step_min;
      o->max[i] = o->max[i] + step_max;
    }
  }
  free(cur);
  return QEQ_OK;
}

size_t qeq_observer_channels(const qeq_observer* o) {
  return o == NULL ? 0 : o->channels;
}

qeq_status qeq_observer_minmax(const qeq_observer* o, size_t count, float* min, float* max) {
  static const char fn[] = "qeq_observer_minmax";
  if (o == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: observer is NULL", fn);
  if (min == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: min is NULL", fn);
  if (max == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: max is NULL", fn);
  if (count != o->channels) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: count %zu, but the observer has %zu channels",
                    fn, count, o->channels);
  }
  const qeq_buffer buffers[] = {{"min", min, count * sizeof(float), 1, 0},
                                {"max", max, count * sizeof(float), 1, 0}};
  const qeq_status status = qeq_check_overlaps(fn, buffers, 2);
  if (status != QEQ_OK) return status;
  if (count == 0) return QEQ_OK;
  memcpy(min, o->min, count * sizeof(float));
  memcpy(max, o->max, count * sizeof(float));
  return QEQ_OK;
}

qeq_status qeq_observer_qparams(const qeq_observer* o, size_t count, float* scale,
                                int32_t* zero_point, float* zero_point_float) {
  static const char fn[] = "qeq_observer_qparams";
  if (o == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: observer is NULL", fn);
  if (o->channels == 0) {
    /* never observed: one default channel, as PyTorch returns */
    if (count != 1) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                      "%s: the observer has seen nothing; pass count 1 for its default", fn);
    }
    const float unseen_min = INFINITY, unseen_max = -INFINITY;
    return qeq_calculate_qparams_for(fn, &o->config, 1, &unseen_min, &unseen_max, scale, zero_point,
                                     zero_point_float);
  }
  if (count != o->channels) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: count %zu, but the observer has %zu channels",
                    fn, count, o->channels);
  }
  return qeq_calculate_qparams_for(fn, &o->config, count, o->min, o->max, scale, zero_point,
                                   zero_point_float);
}
