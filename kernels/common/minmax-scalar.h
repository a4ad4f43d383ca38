/* Scalar min/max with qeq's rules: NaN in a min propagates; -0.0 orders below +0.0.
 *
 * Every ISA uses the same construction: x86's min returns its second operand when the
 * operands compare equal or either is NaN, so min(a,b) and min(b,a) differ only for zeros of
 * opposite sign (OR of the bits gives -0.0) and for NaN (OR keeps an all-ones exponent and a
 * non-zero mantissa, so the result stays NaN). max uses AND, which gives +0.0 for mixed zeros;
 * max is only guaranteed when the slice holds no NaN, which callers know from min. */
#ifndef QEQ_KERNELS_COMMON_MINMAX_SCALAR_H
#define QEQ_KERNELS_COMMON_MINMAX_SCALAR_H

#include <stdint.h>
#include <string.h>

static inline uint32_t qeq_f32_bits(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

static inline float qeq_f32_from_bits(uint32_t u) {
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

static inline float qeq_min_f32(float a, float b) {
  const float ab = a < b ? a : b;
  const float ba = b < a ? b : a;
  return qeq_f32_from_bits(qeq_f32_bits(ab) | qeq_f32_bits(ba));
}

static inline float qeq_max_f32(float a, float b) {
  const float ab = a > b ? a : b;
  const float ba = b > a ? b : a;
  return qeq_f32_from_bits(qeq_f32_bits(ab) & qeq_f32_bits(ba));
}

#endif /* QEQ_KERNELS_COMMON_MINMAX_SCALAR_H */
