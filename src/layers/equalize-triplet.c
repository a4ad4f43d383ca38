/* Closed-form equalization of conv -> depthwise -> conv (DFQ's depthwise-separable case). */
#include <math.h>
#include <stdlib.h>

#include <qeq/equalize.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/workspace.h"
#include "src/layers/layer.h"

static qeq_status check_channels_finite(const char* fn, const char* what, const float* v,
                                        size_t n) {
  for (size_t c = 0; c < n; c++) {
    if (!isfinite(v[c])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: %s channel %zu holds NaN or Inf", fn, what, c);
    }
  }
  return QEQ_OK;
}

/* Ranges of a channel set into range[], failing on non-finite weights. */
static qeq_status set_ranges(const char* fn, const char* what, const qeq_layer* layer, int produces,
                             float* lo, float* hi, float* range, float* absmax, float* work) {
  qeq_channel_set set;
  qeq_layer_channel_set(layer, produces, &set);
  qeq_channel_set_minmax(&set, layer->weight, lo, hi, work);
  qeq_status status = check_channels_finite(fn, what, lo, set.channels);
  if (status == QEQ_OK) status = check_channels_finite(fn, what, hi, set.channels);
  if (status != QEQ_OK) return status;
  for (size_t c = 0; c < set.channels; c++) {
    range[c] = hi[c] - lo[c];
    absmax[c] = fmaxf(fabsf(lo[c]), fabsf(hi[c]));
  }
  return QEQ_OK;
}

static int finite_product(float a, float b) {
  return isfinite(a * b);
}

qeq_status qeq_equalize_depthwise_separable(qeq_layer* first, qeq_layer* depthwise,
                                            qeq_layer* third, float* scales01, float* scales12) {
  static const char fn[] = "qeq_equalize_depthwise_separable";
  size_t out0, in1, out1, in2;
  qeq_status status = qeq_layer_check(fn, "first", first, NULL, &out0);
  if (status == QEQ_OK) status = qeq_layer_check(fn, "depthwise", depthwise, &in1, &out1);
  if (status == QEQ_OK) status = qeq_layer_check(fn, "third", third, &in2, NULL);
  if (status != QEQ_OK) return status;
  const int is_conv = depthwise->kind >= QEQ_LAYER_CONV1D && depthwise->kind <= QEQ_LAYER_CONV3D;
  if (!is_conv || depthwise->groups != in1 || in1 != out1) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: the middle layer is not a depthwise Conv (groups == in == out)", fn);
  }
  if (out0 != in1 || out1 != in2) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: channels do not chain (%zu -> %zu depthwise -> %zu input channels)", fn,
                    out0, in1, in2);
  }
  if (first->activation == QEQ_ACTIVATION_RELU6 || depthwise->activation == QEQ_ACTIVATION_RELU6) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED, "%s: a ReLU6 does not commute with per-channel scaling",
                    fn);
  }
  const size_t n = out0;
  const qeq_buffer buffers[] = {
      {"first's weight", first->weight, qeq_layer_weight_bytes(first), 1, 0},
      {"first's bias", first->bias, n * sizeof(float), 1, 0},
      {"depthwise's weight", depthwise->weight, qeq_layer_weight_bytes(depthwise), 1, 0},
      {"depthwise's bias", depthwise->bias, n * sizeof(float), 1, 0},
      {"third's weight", third->weight, qeq_layer_weight_bytes(third), 1, 0},
      {"scales01", scales01, n * sizeof(float), 1, 0},
      {"scales12", scales12, n * sizeof(float), 1, 0}};
  status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  const qeq_layer* layers[3] = {first, depthwise, third};
  qeq_channel_set sets[3];
  size_t work_floats = 0;
  for (int i = 0; i < 3; i++) {
    qeq_layer_channel_set(layers[i], i < 2, &sets[i]);
    const size_t w = qeq_channel_set_workspace_floats(&sets[i]);
    if (w > work_floats) work_floats = w;
  }
  for (int i = 0; i < 2; i++) {
    const qeq_layer* l = layers[i];
    if (l->bias != NULL && (status = qeq_check_finite(fn, i ? "depthwise's bias" : "first's bias",
                                                      l->bias, n)) != QEQ_OK) {
      return status;
    }
  }
  /* Every buffer before the first write: afterwards nothing can fail. */
  float* work;
  float* scratch = qeq_scratch_acquire(12 * n, work_floats, &work);
  if (scratch == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channels", fn, n);
  }
  float *lo = scratch, *hi = scratch + n, *range[3], *absmax[3];
  for (int i = 0; i < 3; i++) range[i] = scratch + (2 + i) * n, absmax[i] = scratch + (5 + i) * n;
  float *inv01 = scratch + 8 * n, *middle = scratch + 9 * n, *inv12 = scratch + 10 * n,
        *s12 = scratch + 11 * n;
  status = set_ranges(fn, "first's output", first, 1, lo, hi, range[0], absmax[0], work);
  if (status == QEQ_OK) {
    status = set_ranges(fn, "the depthwise", depthwise, 1, lo, hi, range[1], absmax[1], work);
  }
  if (status == QEQ_OK) {
    status = set_ranges(fn, "third's input", third, 0, lo, hi, range[2], absmax[2], work);
  }
  if (status != QEQ_OK) {
    qeq_scratch_release(scratch, work);
    return status;
  }
  for (size_t c = 0; c < n; c++) {
    const float r0 = range[0][c], r1 = range[1][c], r2 = range[2][c];
    const float cube = (float)cbrt((double)r0 * (double)r1 * (double)r2);
    const float a = r0 / cube, b = cube / r2; /* s01, s12 */
    const float ia = 1.0f / a, ib = 1.0f / b, m = a / b;
    const int usable = r0 > 0.0f && r1 > 0.0f && r2 > 0.0f && isfinite(a) && isfinite(b) &&
                       a > 0.0f && b > 0.0f && isfinite(ia) && isfinite(ib) && isfinite(m) &&
                       m > 0.0f && finite_product(absmax[0][c], ia) &&
                       finite_product(absmax[1][c], m) && finite_product(absmax[2][c], b) &&
                       (first->bias == NULL || finite_product(first->bias[c], ia)) &&
                       (depthwise->bias == NULL || finite_product(depthwise->bias[c], ib));
    inv01[c] = usable ? ia : 1.0f;
    middle[c] = usable ? m : 1.0f;
    inv12[c] = usable ? ib : 1.0f;
    s12[c] = usable ? b : 1.0f;
    if (scales01 != NULL) scales01[c] = usable ? a : 1.0f;
    if (scales12 != NULL) scales12[c] = s12[c];
  }
  qeq_channel_set_scale(&sets[0], first->weight, inv01, work);
  if (first->bias != NULL) {
    for (size_t c = 0; c < n; c++) first->bias[c] *= inv01[c];
  }
  qeq_channel_set_scale(&sets[1], depthwise->weight, middle, work);
  if (depthwise->bias != NULL) {
    for (size_t c = 0; c < n; c++) depthwise->bias[c] *= inv12[c];
  }
  qeq_channel_set_scale(&sets[2], third->weight, s12, work);
  qeq_scratch_release(scratch, work);
  return QEQ_OK;
}
