/* qeq_q8_mul / qeq_q8_mul_relu: the integer product of the two centred inputs, requantized with
 * one float32 multiplier (PyTorch's quantized mul under both engines), with broadcasting of
 * size-1 axes (a squeeze-excite scale over a feature map). */
#include <qeq/qops.h>
#include <stdint.h>

#include "dispatch/dispatch.h"
#include "kernels/common/qops-scalar.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-tensor.h"

/* A run with a broadcast channel (one input's c is 1): y[i] from a[i * a_step], b[i * b_step]. */
static void mul_strided(size_t n, const uint8_t* a, size_t a_step, const uint8_t* b, size_t b_step,
                        int is_signed, const qeq_q8_mul_params* p, uint8_t* y) {
  for (size_t i = 0; i < n; i++) y[i] = qeq_q8_mul_one(a[i * a_step], b[i * b_step], is_signed, p);
}

static qeq_status mul(const char* fn, const qeq_q8_tensor* a, const void* a_data,
                      const qeq_q8_tensor* b, const void* b_data, const qeq_q8_tensor* y,
                      void* y_data, int relu) {
  qeq_q8_view av, bv, yv;
  qeq_status status = qeq_q8_check_binary(fn, a, a_data, b, b_data, y, y_data, &av, &bv, &yv);
  if (status != QEQ_OK) return status;
  if (yv.bytes == 0) return QEQ_OK;

  /* PyTorch: multiplier = s_a * s_b * (1.0f / s_y), left to right in float32. */
  qeq_q8_mul_params p;
  p.a_zero_point = a->zero_point;
  p.b_zero_point = b->zero_point;
  p.out = qeq_q8_quant_params_make(a->scale * b->scale * (1.0f / y->scale), y->zero_point, yv.qmin,
                                   yv.qmax);
  /* ReLU after rounding (max with z_y) equals clamping the scaled value at 0. */
  if (relu && p.out.lo < 0.0f) p.out.lo = 0.0f;
  qeq_q8_vmul_ukernel_fn* kernel = QEQ_DISPATCH(q8_vmul);
  const uint8_t* pa = (const uint8_t*)a_data;
  const uint8_t* pb = (const uint8_t*)b_data;
  uint8_t* py = (uint8_t*)y_data;
  const size_t a_step = a->c == y->c ? 1 : 0, b_step = b->c == y->c ? 1 : 0;
  if (a_step && b_step && qeq_q8_same_layout(a, &av, y, &yv) &&
      qeq_q8_same_layout(b, &bv, y, &yv) && yv.stride == y->c) {
    kernel(yv.pixels * y->c, pa, pb, yv.is_signed, &p, py); /* equal dense tensors: one run */
    return QEQ_OK;
  }
  for (size_t n = 0; n < y->n; n++) {
    for (size_t h = 0; h < y->h; h++) {
      for (size_t w = 0; w < y->w; w++) {
        const size_t ai = qeq_q8_broadcast_pixel(a, n, h, w);
        const size_t bi = qeq_q8_broadcast_pixel(b, n, h, w);
        const size_t yi = (n * y->h + h) * y->w + w;
        const uint8_t* ra = pa + ai * av.stride;
        const uint8_t* rb = pb + bi * bv.stride;
        uint8_t* ry = py + yi * yv.stride;
        if (a_step && b_step) {
          kernel(y->c, ra, rb, yv.is_signed, &p, ry);
        } else {
          mul_strided(y->c, ra, a_step, rb, b_step, yv.is_signed, &p, ry);
        }
      }
    }
  }
  return QEQ_OK;
}

qeq_status qeq_q8_mul(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                      const void* b_data, const qeq_q8_tensor* y, void* y_data) {
  return mul("qeq_q8_mul", a, a_data, b, b_data, y, y_data, 0);
}

qeq_status qeq_q8_mul_relu(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                           const void* b_data, const qeq_q8_tensor* y, void* y_data) {
  return mul("qeq_q8_mul_relu", a, a_data, b, b_data, y, y_data, 1);
}
