/* ReLU, ReLU6 and hardtanh on 8-bit tensors: a clamp of the integers between bounds quantized
 * with the tensor's own qparams (PyTorch's quantized relu, ReLU6 and hardtanh). Memory-bound
 * and simple enough that the compiler's vectorization of the loop serves. */
#include <math.h>
#include <qeq/qops.h>
#include <stdint.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-tensor.h"

static void clamp_run(size_t n, const uint8_t* x, int is_signed, int32_t lo, int32_t hi,
                      uint8_t* y) {
  if (is_signed) {
    const int8_t* xs = (const int8_t*)x;
    int8_t* ys = (int8_t*)y;
    for (size_t i = 0; i < n; i++) {
      const int8_t v = xs[i] < lo ? (int8_t)lo : xs[i];
      ys[i] = v > hi ? (int8_t)hi : v;
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      const uint8_t v = x[i] < lo ? (uint8_t)lo : x[i];
      y[i] = v > hi ? (uint8_t)hi : v;
    }
  }
}

/* Checks x, y (same sizes and qparams; y may be exactly x), then clamps. The bounds come as
 * real values (±INFINITY: no bound). */
static qeq_status clamp_op(const char* fn, const qeq_q8_tensor* x, const void* x_data,
                           float min_val, float max_val, const qeq_q8_tensor* y, void* y_data) {
  qeq_q8_view xv, yv;
  qeq_status status = qeq_q8_tensor_check(fn, "x", x, x_data, &xv);
  if (status == QEQ_OK) status = qeq_q8_tensor_check(fn, "y", y, y_data, &yv);
  if (status == QEQ_OK) status = qeq_q8_check_sizes(fn, "x", x, "y", y, 1, 1, 1, 1);
  if (status == QEQ_OK) status = qeq_q8_check_same_qparams(fn, x, y);
  if (status != QEQ_OK) return status;
  qeq_buffer buffers[2] = {{"y_data", y_data, yv.bytes, 1, 0}, {"x_data", x_data, xv.bytes, 0, 0}};
  if (y_data == x_data && yv.stride == xv.stride) buffers[0].in_place_of = 2;
  status = qeq_check_overlaps(fn, buffers, 2);
  if (status != QEQ_OK) return status;
  const int32_t lo = isinf(min_val) ? xv.qmin : qeq_q8_quantize_value(min_val, x, &xv);
  const int32_t hi = isinf(max_val) ? xv.qmax : qeq_q8_quantize_value(max_val, x, &xv);
  if (yv.bytes == 0) return QEQ_OK;
  const uint8_t* in = (const uint8_t*)x_data;
  uint8_t* out = (uint8_t*)y_data;
  if (xv.stride == x->c && yv.stride == x->c) {
    clamp_run(xv.pixels * x->c, in, xv.is_signed, lo, hi, out);
  } else {
    for (size_t i = 0; i < xv.pixels; i++) {
      clamp_run(x->c, in + i * xv.stride, xv.is_signed, lo, hi, out + i * yv.stride);
    }
  }
  return QEQ_OK;
}

qeq_status qeq_q8_relu(const qeq_q8_tensor* x, const void* x_data, const qeq_q8_tensor* y,
                       void* y_data) {
  /* quantize(0) is the zero point itself. */
  return clamp_op("qeq_q8_relu", x, x_data, 0.0f, INFINITY, y, y_data);
}

qeq_status qeq_q8_relu6(const qeq_q8_tensor* x, const void* x_data, const qeq_q8_tensor* y,
                        void* y_data) {
  return clamp_op("qeq_q8_relu6", x, x_data, 0.0f, 6.0f, y, y_data);
}

qeq_status qeq_q8_hardtanh(const qeq_q8_tensor* x, const void* x_data, float min_val, float max_val,
                           const qeq_q8_tensor* y, void* y_data) {
  static const char fn[] = "qeq_q8_hardtanh";
  if (!isfinite(min_val) || !isfinite(max_val) || !(min_val <= max_val)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: min_val %g and max_val %g must be finite with min_val <= max_val", fn,
                    (double)min_val, (double)max_val);
  }
  return clamp_op(fn, x, x_data, min_val, max_val, y, y_data);
}
