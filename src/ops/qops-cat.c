/* qeq_q8_cat: each input requantized to y's qparams (the add kernel with a zero second term)
 * or copied when its qparams are y's; along any axis of the NHWC layout. */
#include <qeq/qops.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-tensor.h"

/* The size of t along the axis. */
static size_t extent(const qeq_q8_tensor* t, qeq_cat_axis axis) {
  switch (axis) {
    case QEQ_CAT_BATCH: return t->n;
    case QEQ_CAT_HEIGHT: return t->h;
    case QEQ_CAT_WIDTH: return t->w;
    default: return t->c;
  }
}

static const char* const axis_names[4] = {"n", "c", "h", "w"}; /* by qeq_cat_axis */

static qeq_status check_inputs(const char* fn, size_t count, const qeq_q8_tensor* inputs,
                               const void* const* inputs_data, qeq_cat_axis axis,
                               const qeq_q8_tensor* y, const void* y_data, const qeq_q8_view* yv) {
  size_t total = 0;
  for (size_t i = 0; i < count; i++) {
    char name[40];
    snprintf(name, sizeof name, "inputs[%zu]", i);
    qeq_q8_view v;
    qeq_status status = qeq_q8_tensor_check(fn, name, &inputs[i], inputs_data[i], &v);
    if (status == QEQ_OK) {
      status = qeq_q8_check_sizes(fn, "y", y, name, &inputs[i], axis != QEQ_CAT_BATCH,
                                  axis != QEQ_CAT_HEIGHT, axis != QEQ_CAT_WIDTH,
                                  axis != QEQ_CAT_CHANNELS);
    }
    if (status != QEQ_OK) return status;
    const size_t part = extent(&inputs[i], axis);
    if (part > SIZE_MAX - total) {
      return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: the inputs' sizes overflow", fn);
    }
    total += part;
    if (qeq_ranges_overlap(y_data, yv->bytes, inputs_data[i], v.bytes)) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y_data overlaps %s_data", fn, name);
    }
  }
  if (total != extent(y, axis)) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: the inputs' %s add up to %zu, y->%s is %zu", fn,
                    axis_names[axis], total, axis_names[axis], extent(y, axis));
  }
  return QEQ_OK;
}

/* Pixels [0, pixels) of x, c channels each, to y: copied, or requantized by the add kernel. */
static void convert(size_t pixels, size_t c, const uint8_t* x, size_t x_stride, int copy,
                    int is_signed, const qeq_q8_add_params* p, uint8_t* y, size_t y_stride) {
  if (pixels == 0 || c == 0) return;
  qeq_q8_vadd_ukernel_fn* kernel = QEQ_DISPATCH(q8_vadd);
  const int dense = x_stride == c && y_stride == c;
  const size_t runs = dense ? 1 : pixels, run = dense ? pixels * c : c;
  for (size_t i = 0; i < runs; i++) {
    const uint8_t* xi = x + i * x_stride;
    uint8_t* yi = y + i * y_stride;
    if (copy) {
      memcpy(yi, xi, run);
    } else {
      kernel(run, xi, xi, is_signed, p, yi);
    }
  }
}

qeq_status qeq_q8_cat(size_t count, const qeq_q8_tensor* inputs, const void* const* inputs_data,
                      qeq_cat_axis axis, const qeq_q8_tensor* y, void* y_data) {
  static const char fn[] = "qeq_q8_cat";
  if (count == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: count is 0", fn);
  if (inputs == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: inputs is NULL", fn);
  if (inputs_data == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: inputs_data is NULL", fn);
  }
  if (axis != QEQ_CAT_BATCH && axis != QEQ_CAT_CHANNELS && axis != QEQ_CAT_HEIGHT &&
      axis != QEQ_CAT_WIDTH) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: axis %d is not a qeq_cat_axis", fn, (int)axis);
  }
  qeq_q8_view yv;
  qeq_status status = qeq_q8_tensor_check(fn, "y", y, y_data, &yv);
  if (status == QEQ_OK) status = check_inputs(fn, count, inputs, inputs_data, axis, y, y_data, &yv);
  if (status != QEQ_OK) return status;

  qeq_q8_add_params p;
  p.out = qeq_q8_output_params(y, &yv);
  p.b_scale = 0.0f; /* deq(x) + 0 is deq(x): the add kernel then only requantizes */
  p.b_zero_point = 0;
  size_t offset = 0; /* along the axis: images, rows, columns or channels written so far */
  uint8_t* out = (uint8_t*)y_data;
  for (size_t i = 0; i < count; i++) {
    const qeq_q8_tensor* x = &inputs[i];
    const uint8_t* in = (const uint8_t*)inputs_data[i];
    const size_t x_stride = x->pixel_stride_bytes == 0 ? x->c : x->pixel_stride_bytes;
    const int copy = x->scale == y->scale && x->zero_point == y->zero_point;
    p.a_scale = x->scale;
    p.a_zero_point = x->zero_point;
    const size_t pixels = x->n * x->h * x->w; /* checked above */
    if (axis == QEQ_CAT_CHANNELS) {
      convert(pixels, x->c, in, x_stride, copy, yv.is_signed, &p, out + offset, yv.stride);
    } else if (pixels != 0) {
      /* x is `blocks` runs of block_pixels consecutive pixels; run b lands at y's pixel
       * b * y_block + offset * inner, inner pixels per step along the axis. */
      const size_t inner = axis == QEQ_CAT_BATCH ? x->h * x->w : axis == QEQ_CAT_HEIGHT ? x->w : 1;
      const size_t block_pixels = extent(x, axis) * inner;
      const size_t y_block = extent(y, axis) * inner;
      const size_t blocks = pixels / block_pixels;
      for (size_t b = 0; b < blocks; b++) {
        convert(block_pixels, x->c, in + b * block_pixels * x_stride, x_stride, copy, yv.is_signed,
                &p, out + (b * y_block + offset * inner) * yv.stride, yv.stride);
      }
    }
    offset += extent(x, axis);
  }
  return QEQ_OK;
}
