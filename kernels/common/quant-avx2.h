/* AVX2 pieces of f32 -> 8-bit quantization shared by the quantize and requantize kernels. */
#ifndef QEQ_KERNELS_COMMON_QUANT_AVX2_H
#define QEQ_KERNELS_COMMON_QUANT_AVX2_H

#include "kernels/common/x86.h"

/* Eight int32 lanes -> their low bytes, in order, in the low 8 bytes of the result. */
static inline __m128i qeq_low_bytes8_avx2(__m256i q) {
  const __m256i pick =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i bytes = _mm256_shuffle_epi8(q, pick); /* dword 0 and dword 4 */
  const __m256i joined =
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
  return _mm256_castsi256_si128(joined);
}

/* Thirty-two int32 lanes holding 8-bit values (already clamped into the dtype) -> their low
 * bytes, in order. packs_epi32 is exact on them; masking to the low byte before packus_epi16
 * keeps negative (qint8) values' bit patterns. */
static inline __m256i qeq_low_bytes32_avx2(__m256i q0, __m256i q1, __m256i q2, __m256i q3) {
  const __m256i low_byte = _mm256_set1_epi16(0xFF);
  const __m256i w01 = _mm256_and_si256(_mm256_packs_epi32(q0, q1), low_byte);
  const __m256i w23 = _mm256_and_si256(_mm256_packs_epi32(q2, q3), low_byte);
  /* Lanes now hold q0[0:4] q1[0:4] q2[0:4] q3[0:4] | q0[4:8] q1[4:8] q2[4:8] q3[4:8]. */
  const __m256i bytes = _mm256_packus_epi16(w01, w23);
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline __m256i qeq_quantize_ps_avx2(__m256 x, __m256 inv, __m256 lo, __m256 hi, __m256i zp) {
  __m256 v = _mm256_mul_ps(x, inv);
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), zp); /* MXCSR: nearest even by default */
}

#endif /* QEQ_KERNELS_COMMON_QUANT_AVX2_H */
