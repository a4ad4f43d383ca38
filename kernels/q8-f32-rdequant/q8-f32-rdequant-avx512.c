#include "kernels/common/minmax-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

static inline __m512 dequantize16(__m128i bytes, int is_signed, __m512i zp, __m512 scale) {
  const __m512i level = is_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
  return _mm512_mul_ps(scale, _mm512_cvtepi32_ps(_mm512_sub_epi32(level, zp)));
}

void QEQ_X86_KERNEL(qeq_q8_f32_rdequant_ukernel__avx512)(size_t outer, size_t channels,
                                                         size_t inner, const uint8_t* q,
                                                         int is_signed,
                                                         const qeq_q8_dequant_params* params,
                                                         float* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, q += inner, y += inner) {
      const __m512 scale = _mm512_set1_ps(params[c].scale);
      const __m512i zp = _mm512_set1_epi32(params[c].zero_point);
      size_t i = 0;
      for (; i + 32 <= inner; i += 32) {
        const __m256i b = _mm256_loadu_si256((const __m256i*)(q + i));
        _mm512_storeu_ps(y + i, dequantize16(_mm256_castsi256_si128(b), is_signed, zp, scale));
        _mm512_storeu_ps(y + i + 16,
                         dequantize16(_mm256_extracti128_si256(b, 1), is_signed, zp, scale));
      }
      for (; i + 16 <= inner; i += 16) {
        const __m128i b = _mm_loadu_si128((const __m128i*)(q + i));
        _mm512_storeu_ps(y + i, dequantize16(b, is_signed, zp, scale));
      }
      if (i < inner) {
        const __mmask16 mask = qeq_tail_mask_avx512(inner - i);
        const __m128i b = _mm_maskz_loadu_epi8(mask, q + i);
        _mm512_mask_storeu_ps(y + i, mask, dequantize16(b, is_signed, zp, scale));
      }
    }
  }
}
