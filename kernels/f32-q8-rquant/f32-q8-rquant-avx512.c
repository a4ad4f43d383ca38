#include "kernels/common/minmax-avx512.h"
#include "kernels/common/prefetch.h"
#include "kernels/common/quant-avx512.h"
#include "kernels/common/stream-store.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_f32_q8_rquant_ukernel__avx512)(size_t outer, size_t channels, size_t inner,
                                                       const float* x,
                                                       const qeq_q8_quant_params* params,
                                                       int stream, uint8_t* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const __m512 inv = _mm512_set1_ps(params[c].inv_scale);
      const __m512 lo = _mm512_set1_ps(params[c].lo);
      const __m512 hi = _mm512_set1_ps(params[c].hi);
      const __m512i zp = _mm512_set1_epi32(params[c].zero_point);
      size_t i = 0;
      for (; i + 64 <= inner; i += 64) {
        for (size_t line = 0; line < 64; line += 16) qeq_prefetch_row_ahead(x + i + line);
        const __m512i q0 = qeq_quantize_ps_avx512(_mm512_loadu_ps(x + i), inv, lo, hi, zp);
        const __m512i q1 = qeq_quantize_ps_avx512(_mm512_loadu_ps(x + i + 16), inv, lo, hi, zp);
        const __m512i q2 = qeq_quantize_ps_avx512(_mm512_loadu_ps(x + i + 32), inv, lo, hi, zp);
        const __m512i q3 = qeq_quantize_ps_avx512(_mm512_loadu_ps(x + i + 48), inv, lo, hi, zp);
        const __m256i b01 = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm512_cvtepi32_epi8(q0)), _mm512_cvtepi32_epi8(q1), 1);
        const __m256i b23 = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm512_cvtepi32_epi8(q2)), _mm512_cvtepi32_epi8(q3), 1);
        if (stream && qeq_is_aligned(y + i, 32)) {
          _mm256_stream_si256((__m256i*)(y + i), b01);
          _mm256_stream_si256((__m256i*)(y + i + 32), b23);
        } else {
          _mm256_storeu_si256((__m256i*)(y + i), b01);
          _mm256_storeu_si256((__m256i*)(y + i + 32), b23);
        }
      }
      for (; i + 16 <= inner; i += 16) {
        const __m512i q = qeq_quantize_ps_avx512(_mm512_loadu_ps(x + i), inv, lo, hi, zp);
        _mm_storeu_si128((__m128i*)(y + i), _mm512_cvtepi32_epi8(q));
      }
      if (i < inner) {
        const __mmask16 mask = qeq_tail_mask_avx512(inner - i);
        const __m512i q =
            qeq_quantize_ps_avx512(_mm512_maskz_loadu_ps(mask, x + i), inv, lo, hi, zp);
        _mm512_mask_cvtepi32_storeu_epi8(y + i, mask, q);
      }
    }
  }
  if (stream) _mm_sfence(); /* order the streaming stores before the caller reads y */
}
