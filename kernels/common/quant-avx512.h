/* AVX-512 piece of f32 -> 8-bit quantization shared by the quantize and requantize kernels. */
#ifndef QEQ_KERNELS_COMMON_QUANT_AVX512_H
#define QEQ_KERNELS_COMMON_QUANT_AVX512_H

#include "kernels/common/x86.h"

/* clamp(x * inv, lo, hi) with NaN -> 0, converted under MXCSR (round to nearest even by
 * default): the quantized value before the zero point. */
static inline __m512i qeq_round_ps_avx512(__m512 x, __m512 inv, __m512 lo, __m512 hi) {
  __m512 v = _mm512_mul_ps(x, inv);
  v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
  v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
  return _mm512_cvtps_epi32(v);
}

/* The same plus the zero point; VPMOVDB keeps the low byte. */
static inline __m512i qeq_quantize_ps_avx512(__m512 x, __m512 inv, __m512 lo, __m512 hi,
                                             __m512i zp) {
  return _mm512_add_epi32(qeq_round_ps_avx512(x, inv, lo, hi), zp);
}

/* Sixty-four rounded values from qeq_round_ps_avx512 (clamped into the dtype minus the zero
 * point, so packs_epi32 is exact) -> plus the zero point (zp16: 16-bit lanes) -> their low
 * bytes, in order. Masking to the low byte before packus_epi16 keeps negative (qint8)
 * values' bit patterns. Eight simple ops where four VPMOVDBs (two uops each, one port on
 * Zen) and four zero-point adds took twelve. */
static inline __m512i qeq_pack_bytes64_avx512(__m512i q0, __m512i q1, __m512i q2, __m512i q3,
                                              __m512i zp16) {
  const __m512i low_byte = _mm512_set1_epi16(0xFF);
  const __m512i w01 =
      _mm512_and_si512(_mm512_add_epi16(_mm512_packs_epi32(q0, q1), zp16), low_byte);
  const __m512i w23 =
      _mm512_and_si512(_mm512_add_epi16(_mm512_packs_epi32(q2, q3), zp16), low_byte);
  /* Dword 4 * lane + k now holds q_k[4 * lane .. 4 * lane + 3]. */
  const __m512i bytes = _mm512_packus_epi16(w01, w23);
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(order, bytes);
}

#endif /* QEQ_KERNELS_COMMON_QUANT_AVX512_H */
