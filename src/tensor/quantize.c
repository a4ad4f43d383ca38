/* Quantization and fake quantization of float32 tensors on top of the f32_q8_rquant and
 * f32_fq_rquant kernels: the API checks the qparams, prepares each channel's reciprocal and
 * clamp bounds, and runs the kernel over the [outer, channels, inner] view. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <qeq/quantize.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/tuning.h"

/* The checks both operations share: shape, pointers, count against the axis, scales, zero
 * points within [qmin, qmax]. Fills *view ([outer, channels, inner]; per tensor: one channel
 * holding everything). */
static qeq_status check_qparams(const char* fn, const qeq_shape* shape, const void* x, int axis,
                                size_t count, const float* scales, const int32_t* zero_points,
                                int32_t qmin, int32_t qmax, const void* y, qeq_axis_view* view) {
  size_t numel;
  qeq_status status = qeq_shape_check(fn, shape, &numel);
  if (status != QEQ_OK) return status;
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (scales == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: scales is NULL", fn);
  if (zero_points == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: zero_points is NULL", fn);
  }
  if (y == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  if (count == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: count is 0", fn);
  const qeq_axis_view whole = {1, 1, numel, numel};
  *view = whole;
  if (count != 1) {
    status = qeq_axis_view_make(fn, shape, axis, view);
    if (status != QEQ_OK) return status;
    if (count != view->channels) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                      "%s: count %zu is neither 1 (per tensor) nor dims[axis] = %zu", fn, count,
                      view->channels);
    }
  }
  status = qeq_check_scales(fn, "scales", scales, count);
  if (status != QEQ_OK) return status;
  for (size_t c = 0; c < count; c++) {
    if (zero_points[c] < qmin || zero_points[c] > qmax) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: zero_points[%zu] = %d is outside [%d, %d]",
                      fn, c, (int)zero_points[c], (int)qmin, (int)qmax);
    }
  }
  return QEQ_OK;
}

/* y against its inputs (y == x allowed when `in_place`), with the API's one overlap rule. */
static qeq_status check_y_overlaps(const char* fn, const void* y, size_t y_bytes,
                                   const char* x_name, const void* x, size_t x_bytes, int in_place,
                                   const float* scales, const char* scales_name, size_t count,
                                   const int32_t* zero_points) {
  const qeq_buffer buffers[] = {{"y", y, y_bytes, 1, in_place ? 2 : 0},
                                {x_name, x, x_bytes, 0, 0},
                                {scales_name, scales, count * sizeof(float), 0, 0},
                                {"zero_points", zero_points, count * sizeof(int32_t), 0, 0}};
  return qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
}

static qeq_status byte_dtype_range(const char* fn, qeq_dtype dtype, int32_t* qmin, int32_t* qmax) {
  switch (dtype) {
    case QEQ_DTYPE_QUINT8: *qmin = 0, *qmax = 255; return QEQ_OK;
    case QEQ_DTYPE_QINT8: *qmin = -128, *qmax = 127; return QEQ_OK;
    case QEQ_DTYPE_QINT32:
      return qeq_fail(QEQ_ERROR_UNSUPPORTED, "%s: dtype qint32 is not supported", fn);
  }
  return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: dtype %d is not a qeq_dtype", fn, (int)dtype);
}

/* `count` channels' kernel parameters of `size` bytes each, or NULL with the failure recorded
 * (an unrepresentable size fails as an allocation would). */
static void* channel_params(const char* fn, size_t count, size_t size) {
  void* params = count <= SIZE_MAX / size ? malloc(count * size) : NULL;
  if (params == NULL) {
    (void)qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu channel parameters", fn,
                   count);
  }
  return params;
}

qeq_status qeq_quantize_f32(const qeq_shape* shape, const float* x, int axis, qeq_dtype dtype,
                            size_t count, const float* scales, const int32_t* zero_points,
                            void* y) {
  static const char fn[] = "qeq_quantize_f32";
  int32_t qmin = 0, qmax = 0;
  const qeq_status dtype_status = byte_dtype_range(fn, dtype, &qmin, &qmax);
  if (dtype_status != QEQ_OK) return dtype_status;
  qeq_axis_view view;
  qeq_status status =
      check_qparams(fn, shape, x, axis, count, scales, zero_points, qmin, qmax, y, &view);
  if (status != QEQ_OK) return status;
  const size_t numel = view.numel;
  status = check_y_overlaps(fn, y, numel, "x", x, numel * sizeof(float), 0, scales, "scales", count,
                            zero_points);
  if (status != QEQ_OK) return status;
  if (numel == 0) return QEQ_OK;
  qeq_q8_quant_params* params = channel_params(fn, count, sizeof *params);
  if (params == NULL) return QEQ_ERROR_OUT_OF_MEMORY;
  for (size_t c = 0; c < count; c++) {
    params[c] = qeq_q8_quant_params_make(1.0f / scales[c], zero_points[c], qmin, qmax);
  }
  QEQ_DISPATCH(f32_q8_rquant)
  (view.outer, view.channels, view.inner, x, params, qeq_tuning_stream_stores(numel), (uint8_t*)y);
  free(params);
  return QEQ_OK;
}

/* Quantization levels stay exact in float32 up to 2^24. */
#define QEQ_FAKE_QUANT_LIMIT (1 << 24)

qeq_status qeq_fake_quantize_f32(const qeq_shape* shape, const float* x, int axis, size_t count,
                                 const float* scales, const int32_t* zero_points, int32_t quant_min,
                                 int32_t quant_max, float* y) {
  static const char fn[] = "qeq_fake_quantize_f32";
  if (quant_min > quant_max) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: quant_min %d > quant_max %d", fn,
                    (int)quant_min, (int)quant_max);
  }
  if (quant_min < -QEQ_FAKE_QUANT_LIMIT || quant_max > QEQ_FAKE_QUANT_LIMIT) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: [quant_min, quant_max] = [%d, %d] exceeds +-2^24", fn, (int)quant_min,
                    (int)quant_max);
  }
  qeq_axis_view view;
  qeq_status status =
      check_qparams(fn, shape, x, axis, count, scales, zero_points, quant_min, quant_max, y, &view);
  if (status != QEQ_OK) return status;
  const size_t bytes = view.numel * sizeof(float);
  status = check_y_overlaps(fn, y, bytes, "x", x, bytes, 1, scales, "scales", count, zero_points);
  if (status != QEQ_OK) return status;
  if (view.numel == 0) return QEQ_OK;
  qeq_fq_params* params = channel_params(fn, count, sizeof *params);
  if (params == NULL) return QEQ_ERROR_OUT_OF_MEMORY;
  for (size_t c = 0; c < count; c++) {
    params[c] = qeq_fq_params_make(scales[c], zero_points[c], quant_min, quant_max);
  }
  QEQ_DISPATCH(f32_fq_rquant)
  (view.outer, view.channels, view.inner, x, params, qeq_tuning_stream_stores(bytes), y);
  free(params);
  return QEQ_OK;
}

qeq_status qeq_dequantize_f32(const qeq_shape* shape, const void* q, int axis, qeq_dtype dtype,
                              size_t count, const float* scales, const int32_t* zero_points,
                              float* y) {
  static const char fn[] = "qeq_dequantize_f32";
  int32_t qmin = 0, qmax = 0;
  qeq_status status = byte_dtype_range(fn, dtype, &qmin, &qmax);
  if (status != QEQ_OK) return status;
  if (q == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: q is NULL", fn);
  qeq_axis_view view;
  status = check_qparams(fn, shape, q, axis, count, scales, zero_points, qmin, qmax, y, &view);
  if (status != QEQ_OK) return status;
  const size_t bytes = view.numel * sizeof(float);
  status =
      check_y_overlaps(fn, y, bytes, "q", q, view.numel, 0, scales, "scales", count, zero_points);
  if (status != QEQ_OK) return status;
  if (view.numel == 0) return QEQ_OK;
  qeq_q8_dequant_params* params = channel_params(fn, count, sizeof *params);
  if (params == NULL) return QEQ_ERROR_OUT_OF_MEMORY;
  for (size_t c = 0; c < count; c++) {
    params[c] = (qeq_q8_dequant_params){scales[c], zero_points[c]};
  }
  QEQ_DISPATCH(q8_f32_rdequant)
  (view.outer, view.channels, view.inner, (const uint8_t*)q, dtype == QEQ_DTYPE_QINT8, params, y);
  free(params);
  return QEQ_OK;
}

qeq_status qeq_requantize_s32(const qeq_shape* shape, const int32_t* acc, int axis, size_t count,
                              const float* multipliers, int32_t zero_point, int32_t quant_min,
                              int32_t quant_max, qeq_dtype dtype, void* y) {
  static const char fn[] = "qeq_requantize_s32";
  int32_t dmin = 0, dmax = 0;
  qeq_status status = byte_dtype_range(fn, dtype, &dmin, &dmax);
  if (status != QEQ_OK) return status;
  if (quant_min > quant_max || quant_min < dmin || quant_max > dmax) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: [quant_min, quant_max] = [%d, %d] must be ordered and inside [%d, %d]", fn,
                    (int)quant_min, (int)quant_max, (int)dmin, (int)dmax);
  }
  if (zero_point < quant_min || zero_point > quant_max) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: zero_point %d is outside [%d, %d]", fn,
                    (int)zero_point, (int)quant_min, (int)quant_max);
  }
  if (multipliers == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: multipliers is NULL", fn);
  }
  /* The multipliers pass the scale checks; one zero point serves every channel. */
  qeq_axis_view view;
  size_t numel;
  status = qeq_shape_check(fn, shape, &numel);
  if (status != QEQ_OK) return status;
  if (acc == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: acc is NULL", fn);
  if (y == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  if (count == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: count is 0", fn);
  const qeq_axis_view whole = {1, 1, numel, numel};
  view = whole;
  if (count != 1) {
    status = qeq_axis_view_make(fn, shape, axis, &view);
    if (status != QEQ_OK) return status;
    if (count != view.channels) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                      "%s: count %zu is neither 1 (per tensor) nor dims[axis] = %zu", fn, count,
                      view.channels);
    }
  }
  for (size_t c = 0; c < count; c++) {
    if (!(multipliers[c] > 0.0f) || !isfinite(multipliers[c])) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: multipliers[%zu] = %g must be positive and finite", fn, c,
                      (double)multipliers[c]);
    }
  }
  status = check_y_overlaps(fn, y, numel, "acc", acc, numel * sizeof(int32_t), 0, multipliers,
                            "multipliers", count, NULL);
  if (status != QEQ_OK) return status;
  if (numel == 0) return QEQ_OK;
  qeq_q8_quant_params* params = channel_params(fn, count, sizeof *params);
  if (params == NULL) return QEQ_ERROR_OUT_OF_MEMORY;
  for (size_t c = 0; c < count; c++) {
    params[c] = qeq_q8_quant_params_make(multipliers[c], zero_point, quant_min, quant_max);
  }
  QEQ_DISPATCH(s32_q8_rrequant)
  (view.outer, view.channels, view.inner, acc, params, qeq_tuning_stream_stores(numel),
   (uint8_t*)y);
  free(params);
  return QEQ_OK;
}
