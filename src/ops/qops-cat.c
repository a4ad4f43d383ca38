/* qeq_q8_cat: each input requantized to y's qparams (the add kernel with a zero second term)
 * or copied when its qparams are y's; along the batch or the channel axis. */
#include <qeq/qops.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-tensor.h"

static qeq_status check_inputs(const char* fn, size_t count, const qeq_q8_tensor* inputs,
                               const void* const* inputs_data, qeq_cat_axis axis,
                               const qeq_q8_tensor* y, const void* y_data, const qeq_q8_view* yv) {
  const int batch = axis == QEQ_CAT_BATCH;
  size_t total = 0;
  for (size_t i = 0; i < count; i++) {
    char name[40];
    snprintf(name, sizeof name, "inputs[%zu]", i);
    qeq_q8_view v;
    qeq_status status = qeq_q8_tensor_check(fn, name, &inputs[i], inputs_data[i], &v);
    if (status == QEQ_OK)
      status = qeq_q8_check_sizes(fn, "y", y, name, &inputs[i], !batch, 1, 1, batch);
    if (status != QEQ_OK) return status;
    const size_t part = batch ? inputs[i].n : inputs[i].c;
    if (part > SIZE_MAX - total) {
      return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: the inputs' sizes overflow", fn);
    }
    total += part;
    if (qeq_ranges_overlap(y_data, yv->bytes, inputs_data[i], v.bytes)) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y_data overlaps %s_data", fn, name);
    }
  }
  if (total != (batch ? y->n : y->c)) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: the inputs' %s add up to %zu, y->%s is %zu", fn,
                    batch ? "n" : "c", total, batch ? "n" : "c", batch ? y->n : y->c);
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
  if (axis != QEQ_CAT_BATCH && axis != QEQ_CAT_CHANNELS) {
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
  size_t offset = 0; /* pixels (batch) or channels (channel axis) written so far */
  for (size_t i = 0; i < count; i++) {
    const qeq_q8_tensor* x = &inputs[i];
    const size_t x_stride = x->pixel_stride_bytes == 0 ? x->c : x->pixel_stride_bytes;
    const int copy = x->scale == y->scale && x->zero_point == y->zero_point;
    p.a_scale = x->scale;
    p.a_zero_point = x->zero_point;
    const size_t pixels = x->n * x->h * x->w; /* checked above */
    uint8_t* out = (uint8_t*)y_data;
    if (axis == QEQ_CAT_BATCH) {
      convert(pixels, x->c, (const uint8_t*)inputs_data[i], x_stride, copy, yv.is_signed, &p,
              out + offset * yv.stride, yv.stride);
      offset += pixels;
    } else {
      convert(pixels, x->c, (const uint8_t*)inputs_data[i], x_stride, copy, yv.is_signed, &p,
              out + offset, yv.stride);
      offset += x->c;
    }
  }
  return QEQ_OK;
}
