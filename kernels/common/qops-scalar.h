/* One element of the quantized ops, for scalar kernels and vector-kernel tails, so every path
 * applies the same steps (see kernels/ukernels.h). */
#ifndef QEQ_KERNELS_COMMON_QOPS_SCALAR_H
#define QEQ_KERNELS_COMMON_QOPS_SCALAR_H

#include <stdint.h>

#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

static inline int32_t qeq_q8_level(uint8_t q, int is_signed) {
  return is_signed ? (int32_t)(int8_t)q : (int32_t)q;
}

static inline uint8_t qeq_q8_add_one(uint8_t a, uint8_t b, int is_signed,
                                     const qeq_q8_add_params* p) {
  const float da = p->a_scale * (float)(qeq_q8_level(a, is_signed) - p->a_zero_point);
  const float db = p->b_scale * (float)(qeq_q8_level(b, is_signed) - p->b_zero_point);
  return qeq_quantize_one(da + db, &p->out);
}

#endif /* QEQ_KERNELS_COMMON_QOPS_SCALAR_H */
