/* Shape validation, element counts with overflow checks, canonical axis views, and the
 * finiteness check shared by the API layer. */
#include "src/base/shape.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "src/base/error.h"

static qeq_status count_elements(const char* fn, size_t ndim, const size_t* dims, size_t* numel) {
  if (ndim < 1 || ndim > QEQ_MAX_DIMS) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: shape ndim %zu is outside [1, %d]", fn, ndim,
                    QEQ_MAX_DIMS);
  }
  size_t count = 1;
  int has_zero = 0;
  for (size_t d = 0; d < ndim; d++) {
    if (dims[d] == 0) has_zero = 1;
  }
  for (size_t d = 0; d < ndim && !has_zero; d++) {
    if (count > SIZE_MAX / dims[d]) {
      return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW,
                      "%s: shape element count overflows size_t at dim %zu", fn, d);
    }
    count *= dims[d];
  }
  if (has_zero) count = 0;
  /* Byte offsets must fit too (and pointer differences must stay defined). */
  if (count > QEQ_MAX_BYTES / sizeof(float)) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: shape of %zu elements exceeds addressable bytes",
                    fn, count);
  }
  *numel = count;
  return QEQ_OK;
}

qeq_status qeq_shape_check(const char* fn, const qeq_shape* shape, size_t* numel) {
  if (shape == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: shape is NULL", fn);
  return count_elements(fn, shape->ndim, shape->dims, numel);
}

qeq_status qeq_axis_view_make(const char* fn, const qeq_shape* shape, int axis,
                              qeq_axis_view* view) {
  size_t numel;
  qeq_status status = qeq_shape_check(fn, shape, &numel);
  if (status != QEQ_OK) return status;
  const long ndim = (long)shape->ndim;
  if (axis < -ndim || axis >= ndim) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: axis %d is out of range for ndim %ld", fn,
                    axis, ndim);
  }
  const size_t a = (size_t)(axis < 0 ? axis + ndim : axis);
  view->outer = 1;
  view->inner = 1;
  for (size_t d = 0; d < a; d++) view->outer *= shape->dims[d];
  for (size_t d = a + 1; d < shape->ndim; d++) view->inner *= shape->dims[d];
  view->channels = shape->dims[a];
  view->numel = numel;
  /* With a zero dim the partial products above may wrap; numel == 0 tells callers. */
  return QEQ_OK;
}

int qeq_span_fits(size_t rows, size_t row_bytes, size_t stride, size_t* bytes) {
  if (rows == 0) {
    *bytes = 0;
    return 1;
  }
  if (row_bytes > QEQ_MAX_BYTES) return 0;
  /* the last row's start, then its end, both within QEQ_MAX_BYTES */
  if (stride != 0 && rows - 1 > (QEQ_MAX_BYTES - row_bytes) / stride) return 0;
  *bytes = (rows - 1) * stride + row_bytes;
  return 1;
}

int qeq_scale_is_valid(float scale) {
  return scale > 0.0f && isfinite(scale) && isfinite(1.0f / scale);
}

qeq_status qeq_check_scale(const char* fn, const char* name, float scale) {
  if (qeq_scale_is_valid(scale)) return QEQ_OK;
  return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                  "%s: %s = %g is not a valid scale (positive, finite, with a finite reciprocal)",
                  fn, name, (double)scale);
}

qeq_status qeq_check_scales(const char* fn, const char* name, const float* scales, size_t count) {
  if (scales == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
  for (size_t i = 0; i < count; i++) {
    if (!qeq_scale_is_valid(scales[i])) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: %s[%zu] = %g is not a valid scale (positive, finite, with a finite "
                      "reciprocal)",
                      fn, name, i, (double)scales[i]);
    }
  }
  return QEQ_OK;
}

int qeq_ranges_overlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  const uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
  return a_bytes != 0 && b_bytes != 0 && a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}

qeq_status qeq_check_overlaps(const char* fn, const qeq_buffer* buffers, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const qeq_buffer* a = &buffers[i];
    if (!a->written || a->data == NULL) continue;
    for (size_t j = 0; j < count; j++) {
      const qeq_buffer* b = &buffers[j];
      if (j == i || b->data == NULL || !qeq_ranges_overlap(a->data, a->bytes, b->data, b->bytes)) {
        continue;
      }
      const int exact = a->data == b->data && a->bytes == b->bytes;
      if (a->in_place_of == (int)j + 1) {
        if (exact) continue;
        return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                        "%s: %s partially overlaps %s (only %s == %s is allowed)", fn, a->name,
                        b->name, a->name, b->name);
      }
      if (exact) {
        return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s and %s are the same buffer", fn,
                        a->name, b->name);
      }
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s overlaps %s", fn, a->name, b->name);
    }
  }
  return QEQ_OK;
}

qeq_status qeq_shape_init(qeq_shape* shape, size_t ndim, const size_t* dims) {
  return qeq_shape_init_for("qeq_shape_init", shape, ndim, dims);
}

qeq_status qeq_shape_init_for(const char* fn, qeq_shape* shape, size_t ndim, const size_t* dims) {
  if (shape == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: shape is NULL", fn);
  if (dims == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: dims is NULL", fn);
  size_t numel;
  qeq_status status = count_elements(fn, ndim, dims, &numel);
  if (status != QEQ_OK) return status;
  shape->ndim = ndim;
  for (size_t d = 0; d < QEQ_MAX_DIMS; d++) shape->dims[d] = d < ndim ? dims[d] : 0;
  return QEQ_OK;
}

qeq_status qeq_shape_numel(const qeq_shape* shape, size_t* numel) {
  static const char fn[] = "qeq_shape_numel";
  if (numel == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: numel is NULL", fn);
  size_t count;
  qeq_status status = qeq_shape_check(fn, shape, &count);
  if (status != QEQ_OK) return status;
  *numel = count;
  return QEQ_OK;
}

size_t qeq_first_non_finite(const float* v, size_t n) {
  /* Blocks scanned branch-free on the exponent bits (the compiler vectorizes it: equalize
   * checks every weight of a chain on each call), then searched only if they hold one. */
  enum { BLOCK = 1024 };
  for (size_t start = 0; start < n; start += BLOCK) {
    const size_t end = n - start < BLOCK ? n : start + BLOCK;
    uint32_t any = 0;
    for (size_t i = start; i < end; i++) {
      uint32_t bits;
      memcpy(&bits, v + i, sizeof bits);
      any |= (uint32_t)((bits & 0x7f800000u) == 0x7f800000u);
    }
    for (size_t i = start; any != 0 && i < end; i++) {
      if (!isfinite(v[i])) return i;
    }
  }
  return n;
}

qeq_status qeq_check_finite(const char* fn, const char* name, const float* v, size_t n) {
  if (v == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
  const size_t i = qeq_first_non_finite(v, n);
  if (i < n) return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: %s[%zu] is not finite", fn, name, i);
  return QEQ_OK;
}
