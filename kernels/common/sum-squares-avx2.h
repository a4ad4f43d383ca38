/* AVX2 form of kernels/common/sum-squares.h's lane order: a vector's squares added, in double,
 * to the lanes its elements belong to. */
#ifndef QEQ_KERNELS_COMMON_SUM_SQUARES_AVX2_H
#define QEQ_KERNELS_COMMON_SUM_SQUARES_AVX2_H

#include <stddef.h>

#include "kernels/common/x86.h"

/* v's 8 floats: elements 0-3 into a, 4-7 into b. A float's square is exact in double, so
 * one fused multiply-add gives the bits of a multiply then an add, in one instruction. */
static inline void qeq_add_squares8_avx2(__m256 v, __m256d* a, __m256d* b) {
  const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  *a = _mm256_fmadd_pd(lo, lo, *a);
  *b = _mm256_fmadd_pd(hi, hi, *b);
}

/* v's eight floats added (for rough sums, whose order is free). */
static inline float qeq_add_lanes8_avx2(__m256 v) {
  const __m128 four = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
}

/* acc[0..8) += squares of v's floats for the rows that exist (count of 4), in row order. */
static inline void qeq_add_row_squares8_avx2(double* acc, const __m256 v[4], size_t count) {
  __m256d lo = _mm256_loadu_pd(acc), hi = _mm256_loadu_pd(acc + 4);
  for (size_t k = 0; k < count; k++) qeq_add_squares8_avx2(v[k], &lo, &hi);
  _mm256_storeu_pd(acc, lo);
  _mm256_storeu_pd(acc + 4, hi);
}

#endif /* QEQ_KERNELS_COMMON_SUM_SQUARES_AVX2_H */
