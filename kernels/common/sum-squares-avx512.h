/* AVX-512 form of kernels/common/sum-squares.h's lane order: a vector's squares added, in
 * double, to the lanes its elements belong to. */
#ifndef QEQ_KERNELS_COMMON_SUM_SQUARES_AVX512_H
#define QEQ_KERNELS_COMMON_SUM_SQUARES_AVX512_H

#include <immintrin.h>

/* v's 16 floats: elements 0-7 into lo, 8-15 into hi. */
static inline void qeq_add_squares16_avx512(__m512 v, __m512d* lo, __m512d* hi) {
  const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
  const __m512d b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  *lo = _mm512_add_pd(*lo, _mm512_mul_pd(a, a));
  *hi = _mm512_add_pd(*hi, _mm512_mul_pd(b, b));
}

#endif /* QEQ_KERNELS_COMMON_SUM_SQUARES_AVX512_H */
