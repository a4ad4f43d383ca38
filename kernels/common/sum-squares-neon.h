/* NEON form of kernels/common/sum-squares.h's lane order: a vector's squares added, in double,
 * to the lanes its elements belong to. */
#ifndef QEQ_KERNELS_COMMON_SUM_SQUARES_NEON_H
#define QEQ_KERNELS_COMMON_SUM_SQUARES_NEON_H

#include <stddef.h>

#include "kernels/common/neon.h"

/* v's 4 floats: elements 0-1 into a, 2-3 into b. A float's square is exact in double, so
 * one fused multiply-add gives the bits of a multiply then an add, in one instruction. */
static inline void qeq_add_squares4_neon(float32x4_t v, float64x2_t* a, float64x2_t* b) {
  const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v));
  const float64x2_t hi = vcvt_f64_f32(vget_high_f32(v));
  *a = vfmaq_f64(*a, lo, lo);
  *b = vfmaq_f64(*b, hi, hi);
}

/* acc[0..4) += squares of v's floats for the rows that exist (count of 4), in row order. */
static inline void qeq_add_row_squares4_neon(double* acc, const float32x4_t v[4], size_t count) {
  float64x2_t lo = vld1q_f64(acc), hi = vld1q_f64(acc + 2);
  for (size_t k = 0; k < count; k++) qeq_add_squares4_neon(v[k], &lo, &hi);
  vst1q_f64(acc, lo);
  vst1q_f64(acc + 2, hi);
}

#endif /* QEQ_KERNELS_COMMON_SUM_SQUARES_NEON_H */
