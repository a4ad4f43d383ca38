/* AVX-512 min/max with qeq's rules (see minmax-scalar.h for why OR/AND of both orders). */
#ifndef QEQ_KERNELS_COMMON_MINMAX_AVX512_H
#define QEQ_KERNELS_COMMON_MINMAX_AVX512_H

#include <immintrin.h>
#include <stddef.h>

#include "kernels/common/minmax-avx2.h"

static inline __m512 qeq_min_ps_avx512(__m512 a, __m512 b) {
  return _mm512_or_ps(_mm512_min_ps(a, b), _mm512_min_ps(b, a));
}
static inline __m512 qeq_max_ps_avx512(__m512 a, __m512 b) {
  return _mm512_and_ps(_mm512_max_ps(a, b), _mm512_max_ps(b, a));
}
static inline __m128 qeq_hmin_avx512(__m512 v) {
  return qeq_hmin_avx2(qeq_min_ps_avx2(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
static inline __m128 qeq_hmax_avx512(__m512 v) {
  return qeq_hmax_avx2(qeq_max_ps_avx2(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
/* Mask of the first n (0..16) lanes. */
static inline __mmask16 qeq_tail_mask_avx512(size_t n) {
  return (__mmask16)((1u << n) - 1u);
}

#endif /* QEQ_KERNELS_COMMON_MINMAX_AVX512_H */
