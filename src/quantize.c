/* Quantization of float32 tensors on top of the f32_q8_rquant kernels: the API checks the
 * qparams, prepares each channel's reciprocal and clamp bounds, and runs the kernel over
 * the [outer, channels, inner] view (per tensor: one channel holding everything). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <qeq/quantize.h>

#include "dispatch/dispatch.h"
#include "src/error.h"
#include "src/shape.h"

qeq_status qeq_quantize_f32(const qeq_shape* shape, const float* x, int axis, qeq_dtype dtype,
                            size_t count, const float* scales, const int32_t* zero_points,
                            void* y) {
  static const char fn[] = "qeq_quantize_f32";
  size_t numel;
  qeq_status status = qeq_shape_check(fn, shape, &numel);
  if (status != QEQ_OK) return status;
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (scales == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: scales is NULL", fn);
  if (zero_points == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: zero_points is NULL", fn);
  }
  if (y == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  int32_t qmin, qmax;
  switch (dtype) {
    case QEQ_DTYPE_QUINT8: qmin = 0, qmax = 255; break;
    case QEQ_DTYPE_QINT8: qmin = -128, qmax = 127; break;
    case QEQ_DTYPE_QINT32:
      return qeq_fail(QEQ_ERROR_UNSUPPORTED, "%s: dtype qint32 is not supported", fn);
    default:
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: dtype %d is not a qeq_dtype", fn,
                      (int)dtype);
  }
  qeq_axis_view view = {1, 1, numel, numel};
  if (count != 1) {
    status = qeq_axis_view_make(fn, shape, axis, &view);
    if (status != QEQ_OK) return status;
    if (count != view.channels) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                      "%s: count %zu is neither 1 (per tensor) nor dims[axis] = %zu", fn, count,
                      view.channels);
    }
  }
  if (count == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: count is 0", fn);
  if (qeq_ranges_overlap(y, numel, x, numel * sizeof(float)) ||
      qeq_ranges_overlap(y, numel, scales, count * sizeof(float)) ||
      qeq_ranges_overlap(y, numel, zero_points, count * sizeof(int32_t))) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y overlaps an input", fn);
  }
  for (size_t c = 0; c < count; c++) {
    if (!(scales[c] > 0.0f) || !isfinite(scales[c]) || !isfinite(1.0f / scales[c])) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: scales[%zu] = %g must be positive, finite, with a finite reciprocal", fn,
                      c, (double)scales[c]);
    }
    if (zero_points[c] < qmin || zero_points[c] > qmax) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: zero_points[%zu] = %d is outside the dtype range [%d, %d]", fn, c,
                      (int)zero_points[c], (int)qmin, (int)qmax);
    }
  }
  if (numel == 0) return QEQ_OK;
  qeq_q8_quant_params* params = malloc(count * sizeof *params);
  if (params == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channel parameters", fn,
                    count);
  }
  for (size_t c = 0; c < count; c++) {
    params[c].inv_scale = 1.0f / scales[c];
    params[c].lo = (float)(qmin - zero_points[c]);
    params[c].hi = (float)(qmax - zero_points[c]);
    params[c].zero_point = zero_points[c];
  }
  QEQ_DISPATCH(f32_q8_rquant, F32_Q8_RQUANT)
  (view.outer, view.channels, view.inner, x, params, (uint8_t*)y);
  free(params);
  return QEQ_OK;
}
