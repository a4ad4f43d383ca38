/* qeq_q8_add / qeq_q8_add_relu: check everything, then one kernel call per dense run. */
#include <qeq/qops.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-tensor.h"

static qeq_status add(const char* fn, const qeq_q8_tensor* a, const void* a_data,
                      const qeq_q8_tensor* b, const void* b_data, const qeq_q8_tensor* y,
                      void* y_data, int relu) {
  qeq_q8_view av, bv, yv;
  qeq_status status = qeq_q8_tensor_check(fn, "a", a, a_data, &av);
  if (status == QEQ_OK) status = qeq_q8_tensor_check(fn, "b", b, b_data, &bv);
  if (status == QEQ_OK) status = qeq_q8_tensor_check(fn, "y", y, y_data, &yv);
  if (status == QEQ_OK) status = qeq_q8_check_sizes(fn, "a", a, "b", b, 1, 1, 1, 1);
  if (status == QEQ_OK) status = qeq_q8_check_sizes(fn, "a", a, "y", y, 1, 1, 1, 1);
  if (status != QEQ_OK) return status;
  /* y may be exactly a or b (same start and layout): the kernels load before they store. */
  const int b_is_a = b_data == a_data && bv.bytes == av.bytes && bv.stride == av.stride;
  qeq_buffer checked[3] = {{"y_data", y_data, yv.bytes, 1, 0},
                           {"a_data", a_data, av.bytes, 0, 0},
                           {"b_data", b_data, bv.bytes, 0, 0}};
  if (y_data == b_data && yv.bytes == bv.bytes && yv.stride == bv.stride)
    checked[0].in_place_of = 3;
  if (y_data == a_data && yv.bytes == av.bytes && yv.stride == av.stride)
    checked[0].in_place_of = 2;
  status = qeq_check_overlaps(fn, checked, b_is_a ? 2 : 3); /* add(x, x): b is a */
  if (status != QEQ_OK) return status;

  qeq_q8_add_params p;
  p.a_scale = a->scale;
  p.b_scale = b->scale;
  p.a_zero_point = a->zero_point;
  p.b_zero_point = b->zero_point;
  p.out = qeq_q8_output_params(y, &yv);
  /* ReLU on the float sum before rounding equals clamping the scaled value at 0 (> lo). */
  if (relu && p.out.lo < 0.0f) p.out.lo = 0.0f;
  if (yv.bytes == 0) return QEQ_OK;
  qeq_q8_vadd_ukernel_fn* kernel = QEQ_DISPATCH(q8_vadd);
  const uint8_t* pa = (const uint8_t*)a_data;
  const uint8_t* pb = (const uint8_t*)b_data;
  uint8_t* py = (uint8_t*)y_data;
  if (av.stride == a->c && bv.stride == a->c && yv.stride == a->c) {
    kernel(av.pixels * a->c, pa, pb, av.is_signed, &p, py);
    return QEQ_OK;
  }
  for (size_t i = 0; i < av.pixels; i++) {
    kernel(a->c, pa + i * av.stride, pb + i * bv.stride, av.is_signed, &p, py + i * yv.stride);
  }
  return QEQ_OK;
}

qeq_status qeq_q8_add(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                      const void* b_data, const qeq_q8_tensor* y, void* y_data) {
  return add("qeq_q8_add", a, a_data, b, b_data, y, y_data, 0);
}

qeq_status qeq_q8_add_relu(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                           const void* b_data, const qeq_q8_tensor* y, void* y_data) {
  return add("qeq_q8_add_relu", a, a_data, b, b_data, y, y_data, 1);
}
