/* Checking qeq_q8_tensor descriptors; the public descriptor helpers. */
#include "src/ops/qops-tensor.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "src/base/error.h"
#include "src/base/shape.h"

qeq_q8_tensor qeq_q8_tensor_make(size_t n, size_t h, size_t w, size_t c, qeq_dtype dtype,
                                 float scale, int32_t zero_point) {
  qeq_q8_tensor t = {n, h, w, c, c, dtype, scale, zero_point};
  return t;
}

/* a * b into *out; 0 on overflow. */
static int mul_fits(size_t a, size_t b, size_t* out) {
  if (a != 0 && b > SIZE_MAX / a) return 0;
  *out = a * b;
  return 1;
}

qeq_status qeq_q8_tensor_check(const char* fn, const char* name, const qeq_q8_tensor* t,
                               const void* data, qeq_q8_view* view) {
  if (t == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
  if (data == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s_data is NULL", fn, name);
  if (t->dtype == QEQ_DTYPE_QUINT8) {
    view->qmin = 0;
    view->qmax = 255;
  } else if (t->dtype == QEQ_DTYPE_QINT8) {
    view->qmin = -128;
    view->qmax = 127;
  } else {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s->dtype %d is not QUINT8 or QINT8", fn, name,
                    (int)t->dtype);
  }
  view->is_signed = t->dtype == QEQ_DTYPE_QINT8;
  char scale_name[48];
  snprintf(scale_name, sizeof scale_name, "%s->scale", name);
  const qeq_status scale = qeq_check_scale(fn, scale_name, t->scale);
  if (scale != QEQ_OK) return scale;
  /* Dequantized values (at most 255 steps from the zero point) must stay finite. */
  if (t->scale > FLT_MAX / 256.0f) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s = %g is more than FLT_MAX / 256", fn,
                    scale_name, (double)t->scale);
  }
  if (t->zero_point < view->qmin || t->zero_point > view->qmax) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s->zero_point %d is outside [%d, %d]", fn,
                    name, (int)t->zero_point, (int)view->qmin, (int)view->qmax);
  }
  view->stride = t->pixel_stride_bytes == 0 ? t->c : t->pixel_stride_bytes;
  if (view->stride < t->c) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s->pixel_stride_bytes %zu is less than c %zu",
                    fn, name, t->pixel_stride_bytes, t->c);
  }
  size_t nh = 0, span = 0;
  if (!mul_fits(t->n, t->h, &nh) || !mul_fits(nh, t->w, &view->pixels) ||
      !qeq_span_fits(view->pixels, t->c, view->stride, &span)) {
    return qeq_fail(
        QEQ_ERROR_SIZE_OVERFLOW,
        "%s: %s (n %zu, h %zu, w %zu, pixel_stride_bytes %zu) overflows: it spans more than "
        "PTRDIFF_MAX bytes",
        fn, name, t->n, t->h, t->w, view->stride);
  }
  view->bytes = t->c == 0 ? 0 : span;
  return QEQ_OK;
}

qeq_status qeq_q8_check_same_qparams(const char* fn, const qeq_q8_tensor* x,
                                     const qeq_q8_tensor* y) {
  if (y->dtype != x->dtype || y->scale != x->scale || y->zero_point != x->zero_point) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: y's dtype, scale, zero_point (%d, %g, %d) must equal x's (%d, %g, %d): "
                    "this op keeps the input's qparams",
                    fn, (int)y->dtype, (double)y->scale, (int)y->zero_point, (int)x->dtype,
                    (double)x->scale, (int)x->zero_point);
  }
  return QEQ_OK;
}

qeq_status qeq_q8_check_sizes(const char* fn, const char* a_name, const qeq_q8_tensor* a,
                              const char* b_name, const qeq_q8_tensor* b, int n, int h, int w,
                              int c) {
  const struct {
    int check;
    const char* what;
    size_t av, bv;
  } sizes[4] = {
      {n, "n", a->n, b->n}, {h, "h", a->h, b->h}, {w, "w", a->w, b->w}, {c, "c", a->c, b->c}};
  for (int i = 0; i < 4; i++) {
    if (sizes[i].check && sizes[i].av != sizes[i].bv) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: %s->%s %zu differs from %s->%s %zu", fn,
                      b_name, sizes[i].what, sizes[i].bv, a_name, sizes[i].what, sizes[i].av);
    }
  }
  if (a->dtype != b->dtype) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: %s->dtype %d differs from %s->dtype %d", fn,
                    b_name, (int)b->dtype, a_name, (int)a->dtype);
  }
  return QEQ_OK;
}

/* Each of t's sizes equals y's or is 1. */
static qeq_status check_broadcast_one(const char* fn, const char* name, const qeq_q8_tensor* t,
                                      const qeq_q8_tensor* y) {
  const size_t ts[4] = {t->n, t->h, t->w, t->c}, ys[4] = {y->n, y->h, y->w, y->c};
  static const char* const axes[4] = {"n", "h", "w", "c"};
  for (int i = 0; i < 4; i++) {
    if (ts[i] != ys[i] && ts[i] != 1) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                      "%s: %s->%s %zu neither equals y->%s %zu nor is 1 (broadcast)", fn, name,
                      axes[i], ts[i], axes[i], ys[i]);
    }
  }
  return QEQ_OK;
}

/* y's sizes are the broadcast of a's and b's: each is a's or b's. */
static qeq_status check_result_sizes(const char* fn, const qeq_q8_tensor* a, const qeq_q8_tensor* b,
                                     const qeq_q8_tensor* y) {
  const size_t as[4] = {a->n, a->h, a->w, a->c}, bs[4] = {b->n, b->h, b->w, b->c};
  const size_t ys[4] = {y->n, y->h, y->w, y->c};
  static const char* const axes[4] = {"n", "h", "w", "c"};
  for (int i = 0; i < 4; i++) {
    if (ys[i] != as[i] && ys[i] != bs[i]) {
      return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: y->%s %zu is neither a->%s %zu nor b->%s %zu",
                      fn, axes[i], ys[i], axes[i], as[i], axes[i], bs[i]);
    }
  }
  return QEQ_OK;
}

qeq_status qeq_q8_check_broadcast(const char* fn, const qeq_q8_tensor* a, const qeq_q8_tensor* b,
                                  const qeq_q8_tensor* y) {
  qeq_status status = check_broadcast_one(fn, "a", a, y);
  if (status == QEQ_OK) status = check_broadcast_one(fn, "b", b, y);
  if (status == QEQ_OK) status = check_result_sizes(fn, a, b, y);
  return status;
}

qeq_q8_quant_params qeq_q8_output_params(const qeq_q8_tensor* t, const qeq_q8_view* view) {
  return qeq_q8_quant_params_make(1.0f / t->scale, t->zero_point, view->qmin, view->qmax);
}

int32_t qeq_q8_quantize_value(float v, const qeq_q8_tensor* t, const qeq_q8_view* view) {
  float r = nearbyintf(v * (1.0f / t->scale));
  if (r != r) r = 0.0f; /* NaN: the zero point, as the kernels do */
  /* Clamp in float first: r may be far outside int32 for a tiny scale. */
  const float lo = (float)(view->qmin - t->zero_point), hi = (float)(view->qmax - t->zero_point);
  return t->zero_point + (int32_t)(r < lo ? lo : r > hi ? hi : r);
}

qeq_status qeq_q8_check_binary(const char* fn, const qeq_q8_tensor* a, const void* a_data,
                               const qeq_q8_tensor* b, const void* b_data, const qeq_q8_tensor* y,
                               const void* y_data, qeq_q8_view* av, qeq_q8_view* bv,
                               qeq_q8_view* yv) {
  qeq_status status = qeq_q8_tensor_check(fn, "a", a, a_data, av);
  if (status == QEQ_OK) status = qeq_q8_tensor_check(fn, "b", b, b_data, bv);
  if (status == QEQ_OK) status = qeq_q8_tensor_check(fn, "y", y, y_data, yv);
  if (status == QEQ_OK) status = qeq_q8_check_sizes(fn, "a", a, "b", b, 0, 0, 0, 0);
  if (status == QEQ_OK) status = qeq_q8_check_sizes(fn, "a", a, "y", y, 0, 0, 0, 0);
  if (status == QEQ_OK) status = qeq_q8_check_broadcast(fn, a, b, y);
  if (status != QEQ_OK) return status;
  const int b_is_a = b_data == a_data && bv->bytes == av->bytes && bv->stride == av->stride;
  qeq_buffer checked[3] = {{"y_data", y_data, yv->bytes, 1, 0},
                           {"a_data", a_data, av->bytes, 0, 0},
                           {"b_data", b_data, bv->bytes, 0, 0}};
  if (y_data == b_data && qeq_q8_same_layout(b, bv, y, yv)) checked[0].in_place_of = 3;
  if (y_data == a_data && qeq_q8_same_layout(a, av, y, yv)) checked[0].in_place_of = 2;
  return qeq_check_overlaps(fn, checked, b_is_a ? 2 : 3); /* op(x, x): b is a */
}
