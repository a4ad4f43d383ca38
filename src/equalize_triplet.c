/* Closed-form equalization of conv -> depthwise -> conv (DFQ's depthwise-separable case). */
#include <math.h>
#include <stdlib.h>

#include <qeq/equalize.h>

#include "src/error.h"
#include "src/layer.h"
#include "src/shape.h"

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
                             float* lo, float* hi, float* range, float* absmax) {
  qeq_channel_set set;
  qeq_layer_channel_set(layer, produces, &set);
  qeq_status status = qeq_channel_set_minmax(&set, layer->weight, lo, hi);
  if (status != QEQ_OK) return status;
  status = check_channels_finite(fn, what, lo, set.channels);
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
  const qeq_layer* layers[3] = {first, depthwise, third};
  for (int i = 0; i < 3; i++) {
    for (int j = i + 1; j < 3; j++) {
      if (qeq_ranges_overlap(layers[i]->weight, qeq_layer_weight_bytes(layers[i]),
                             layers[j]->weight, qeq_layer_weight_bytes(layers[j]))) {
        return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: two of the weights overlap", fn);
      }
    }
  }
  const size_t n = out0;
  for (int i = 0; i < 2; i++) {
    const qeq_layer* l = layers[i];
    if (l->bias != NULL && (status = qeq_check_finite(fn, i ? "depthwise's bias" : "first's bias",
                                                      l->bias, n)) != QEQ_OK) {
      return status;
    }
  }
  float* scratch = malloc(12 * n * sizeof(float));
  if (scratch == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channels", fn, n);
  }
  float *lo = scratch, *hi = scratch + n, *range[3], *absmax[3];
  for (int i = 0; i < 3; i++) range[i] = scratch + (2 + i) * n, absmax[i] = scratch + (5 + i) * n;
  float *inv01 = scratch + 8 * n, *middle = scratch + 9 * n, *inv12 = scratch + 10 * n,
        *s12 = scratch + 11 * n;
  status = set_ranges(fn, "first's output", first, 1, lo, hi, range[0], absmax[0]);
  if (status == QEQ_OK) {
    status = set_ranges(fn, "the depthwise", depthwise, 1, lo, hi, range[1], absmax[1]);
  }
  if (status == QEQ_OK) {
    status = set_ranges(fn, "third's input", third, 0, lo, hi, range[2], absmax[2]);
  }
  if (status != QEQ_OK) {
    free(scratch);
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
  /* Everything was checked: from here nothing can fail. */
  qeq_channel_set set;
  qeq_layer_channel_set(first, 1, &set);
  qeq_channel_set_scale(&set, first->weight, inv01);
  if (first->bias != NULL) {
    for (size_t c = 0; c < n; c++) first->bias[c] *= inv01[c];
  }
  qeq_layer_channel_set(depthwise, 1, &set);
  qeq_channel_set_scale(&set, depthwise->weight, middle);
  if (depthwise->bias != NULL) {
    for (size_t c = 0; c < n; c++) depthwise->bias[c] *= inv12[c];
  }
  qeq_layer_channel_set(third, 0, &set);
  qeq_channel_set_scale(&set, third->weight, s12);
  free(scratch);
  return QEQ_OK;
}
