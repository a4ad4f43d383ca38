#include "kernels/common/qops-scalar.h"
#include "kernels/ukernels.h"

void qeq_q8_vadd_ukernel__scalar(size_t n, const uint8_t* a, const uint8_t* b, int is_signed,
                                 const qeq_q8_add_params* params, uint8_t* y) {
  const float a_offset = qeq_q8_scaled_neg_zero_point(params->a_scale, params->a_zero_point);
  const float b_offset = qeq_q8_scaled_neg_zero_point(params->b_scale, params->b_zero_point);
  for (size_t i = 0; i < n; i++) {
    y[i] = qeq_q8_add_one(a[i], b[i], is_signed, params, a_offset, b_offset);
  }
}
