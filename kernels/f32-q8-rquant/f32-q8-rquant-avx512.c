#include <immintrin.h>

#include "kernels/common/minmax-avx512.h"
#include "kernels/ukernels.h"

/* v = clamp(x * inv, lo, hi) with NaN -> 0, converted under MXCSR (round to nearest even by
 * default), plus the zero point; VPMOVDB keeps the low byte. */
static inline __m512i quantize16(__m512 x, __m512 inv, __m512 lo, __m512 hi, __m512i zp) {
  __m512 v = _mm512_mul_ps(x, inv);
  v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
  v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
  return _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
}

void qeq_f32_q8_rquant_ukernel__avx512(size_t outer, size_t channels, size_t inner, const float* x,
                                       const qeq_q8_quant_params* params, uint8_t* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const __m512 inv = _mm512_set1_ps(params[c].inv_scale);
      const __m512 lo = _mm512_set1_ps(params[c].lo);
      const __m512 hi = _mm512_set1_ps(params[c].hi);
      const __m512i zp = _mm512_set1_epi32(params[c].zero_point);
      size_t i = 0;
      for (; i + 64 <= inner; i += 64) {
        const __m512i q0 = quantize16(_mm512_loadu_ps(x + i), inv, lo, hi, zp);
        const __m512i q1 = quantize16(_mm512_loadu_ps(x + i + 16), inv, lo, hi, zp);
        const __m512i q2 = quantize16(_mm512_loadu_ps(x + i + 32), inv, lo, hi, zp);
        const __m512i q3 = quantize16(_mm512_loadu_ps(x + i + 48), inv, lo, hi, zp);
        const __m256i b01 = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm512_cvtepi32_epi8(q0)), _mm512_cvtepi32_epi8(q1), 1);
        const __m256i b23 = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm512_cvtepi32_epi8(q2)), _mm512_cvtepi32_epi8(q3), 1);
        _mm256_storeu_si256((__m256i*)(y + i), b01);
        _mm256_storeu_si256((__m256i*)(y + i + 32), b23);
      }
      for (; i + 16 <= inner; i += 16) {
        const __m512i q = quantize16(_mm512_loadu_ps(x + i), inv, lo, hi, zp);
        _mm_storeu_si128((__m128i*)(y + i), _mm512_cvtepi32_epi8(q));
      }
      if (i < inner) {
        const __mmask16 mask = qeq_tail_mask_avx512(inner - i);
        const __m512i q = quantize16(_mm512_maskz_loadu_ps(mask, x + i), inv, lo, hi, zp);
        _mm512_mask_cvtepi32_storeu_epi8(y + i, mask, q);
      }
    }
  }
}
