/* AVX-512 form of kernels/common/sum-squares.h's lane order: a vector's squares added, in
 * double, to the lanes its elements belong to. */
#ifndef QEQ_KERNELS_COMMON_SUM_SQUARES_AVX512_H
#define QEQ_KERNELS_COMMON_SUM_SQUARES_AVX512_H

#include <stddef.h>

#include "kernels/common/x86.h"

/* v's 16 floats: elements 0-7 into lo, 8-15 into hi. A float's square is exact in double, so
 * one fused multiply-add gives the bits of a multiply then an add, in one instruction. */
static inline void qeq_add_squares16_avx512(__m512 v, __m512d* lo, __m512d* hi) {
  const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
  const __m512d b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  *lo = _mm512_fmadd_pd(a, a, *lo);
  *hi = _mm512_fmadd_pd(b, b, *hi);
}

/* v's 16 floats into sum-squares lanes 0-15 (sq0, sq1) or, when upper, 16-31 (sq2, sq3). */
static inline __attribute__((always_inline)) void qeq_add_squares16_half_avx512(
    __m512 v, int upper, __m512d* sq0, __m512d* sq1, __m512d* sq2, __m512d* sq3) {
  if (upper) {
    qeq_add_squares16_avx512(v, sq2, sq3);
  } else {
    qeq_add_squares16_avx512(v, sq0, sq1);
  }
}

/* acc[0..16) += squares of v's floats for the rows that exist (count of 4), in row order. */
static inline void qeq_add_row_squares16_avx512(double* acc, const __m512 v[4], size_t count) {
  __m512d lo = _mm512_loadu_pd(acc), hi = _mm512_loadu_pd(acc + 8);
  for (size_t k = 0; k < count; k++) qeq_add_squares16_avx512(v[k], &lo, &hi);
  _mm512_storeu_pd(acc, lo);
  _mm512_storeu_pd(acc + 8, hi);
}

#endif /* QEQ_KERNELS_COMMON_SUM_SQUARES_AVX512_H */
