#include <immintrin.h>

#include "kernels/common/minmax-avx512.h"
#include "kernels/common/quant-avx512.h"
#include "kernels/ukernels.h"

/* int8 inputs are read as uint8 after flipping the top bit (q ^ 0x80 = q + 128), with the
 * zero point moved by 128, so one widening serves both dtypes and q - zp stays exact. */
static inline __m512 dequantize16(__m128i bytes, __m128i flip, __m512i zp, __m512 scale) {
  const __m512i level = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_xor_si128(bytes, flip)), zp);
  return _mm512_mul_ps(scale, _mm512_cvtepi32_ps(level));
}

void qeq_q8_vadd_ukernel__avx512(size_t n, const uint8_t* a, const uint8_t* b, int is_signed,
                                 const qeq_q8_add_params* params, uint8_t* y) {
  const int32_t shift = is_signed ? 128 : 0;
  const __m128i flip = _mm_set1_epi8(is_signed ? (char)0x80 : 0);
  const __m512 a_scale = _mm512_set1_ps(params->a_scale);
  const __m512 b_scale = _mm512_set1_ps(params->b_scale);
  const __m512i a_zp = _mm512_set1_epi32(params->a_zero_point + shift);
  const __m512i b_zp = _mm512_set1_epi32(params->b_zero_point + shift);
  const __m512 inv = _mm512_set1_ps(params->out.inv_scale);
  const __m512 lo = _mm512_set1_ps(params->out.lo);
  const __m512 hi = _mm512_set1_ps(params->out.hi);
  const __m512i y_zp = _mm512_set1_epi32(params->out.zero_point);
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 4; k++) {
      const __m128i qa = _mm_loadu_si128((const __m128i*)(a + i + 16 * k));
      const __m128i qb = _mm_loadu_si128((const __m128i*)(b + i + 16 * k));
      const __m512 sum = _mm512_add_ps(dequantize16(qa, flip, a_zp, a_scale),
                                       dequantize16(qb, flip, b_zp, b_scale));
      _mm_storeu_si128((__m128i*)(y + i + 16 * k),
                       _mm512_cvtepi32_epi8(qeq_quantize_ps_avx512(sum, inv, lo, hi, y_zp)));
    }
  }
  for (; i < n; i += 16) {
    const size_t left = n - i < 16 ? n - i : 16;
    const __mmask16 mask = qeq_tail_mask_avx512(left);
    const __m512 sum =
        _mm512_add_ps(dequantize16(_mm_maskz_loadu_epi8(mask, a + i), flip, a_zp, a_scale),
                      dequantize16(_mm_maskz_loadu_epi8(mask, b + i), flip, b_zp, b_scale));
    _mm512_mask_cvtepi32_storeu_epi8(y + i, mask, qeq_quantize_ps_avx512(sum, inv, lo, hi, y_zp));
  }
}
