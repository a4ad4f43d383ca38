/* AVX2 min/max with qeq's rules (see minmax-scalar.h for why OR/AND of both orders). */
#ifndef QEQ_KERNELS_COMMON_MINMAX_AVX2_H
#define QEQ_KERNELS_COMMON_MINMAX_AVX2_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/common/x86.h"
static inline __m256 qeq_min_ps_avx2(__m256 a, __m256 b) {
  return _mm256_or_ps(_mm256_min_ps(a, b), _mm256_min_ps(b, a));
}
static inline __m256 qeq_max_ps_avx2(__m256 a, __m256 b) {
  return _mm256_and_ps(_mm256_max_ps(a, b), _mm256_max_ps(b, a));
}
static inline __m128 qeq_min_ps_sse(__m128 a, __m128 b) {
  return _mm_or_ps(_mm_min_ps(a, b), _mm_min_ps(b, a));
}
static inline __m128 qeq_max_ps_sse(__m128 a, __m128 b) {
  return _mm_and_ps(_mm_max_ps(a, b), _mm_max_ps(b, a));
}

/* Horizontal reductions; the result is in lane 0. */
static inline __m128 qeq_hmin_avx2(__m256 v) {
  __m128 m = qeq_min_ps_sse(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = qeq_min_ps_sse(m, _mm_movehl_ps(m, m));
  return qeq_min_ps_sse(m, _mm_shuffle_ps(m, m, 1));
}
static inline __m128 qeq_hmax_avx2(__m256 v) {
  __m128 m = qeq_max_ps_sse(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = qeq_max_ps_sse(m, _mm_movehl_ps(m, m));
  return qeq_max_ps_sse(m, _mm_shuffle_ps(m, m, 1));
}

/* Lane mask selecting the first n (0..8) of 8 lanes. */
static inline __m256i qeq_tail_mask_avx2(size_t n) {
  static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i*)(table + 8 - n));
}

#endif /* QEQ_KERNELS_COMMON_MINMAX_AVX2_H */
