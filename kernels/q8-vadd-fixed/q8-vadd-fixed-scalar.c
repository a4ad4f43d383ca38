#include "kernels/common/qops-scalar.h"
#include "kernels/ukernels.h"

void qeq_q8_vadd_fixed_ukernel__scalar(size_t n, const uint8_t* a, const uint8_t* b, int is_signed,
                                       const qeq_q8_vadd_fixed_params* params, uint8_t* y) {
  for (size_t i = 0; i < n; i++) y[i] = qeq_q8_vadd_fixed_one(a[i], b[i], is_signed, params);
}
