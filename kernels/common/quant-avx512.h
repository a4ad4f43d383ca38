/* AVX-512 piece of f32 -> 8-bit quantization shared by the quantize and requantize kernels. */
#ifndef QEQ_KERNELS_COMMON_QUANT_AVX512_H
#define QEQ_KERNELS_COMMON_QUANT_AVX512_H

#include <immintrin.h>

/* v = clamp(x * inv, lo, hi) with NaN -> 0, converted under MXCSR (round to nearest even by
 * default), plus the zero point; VPMOVDB keeps the low byte. */
static inline __m512i qeq_quantize_ps_avx512(__m512 x, __m512 inv, __m512 lo, __m512 hi,
                                             __m512i zp) {
  __m512 v = _mm512_mul_ps(x, inv);
  v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
  v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
  return _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
}

#endif /* QEQ_KERNELS_COMMON_QUANT_AVX512_H */
