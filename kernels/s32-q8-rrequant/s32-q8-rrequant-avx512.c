#include "kernels/common/minmax-avx512.h"
#include "kernels/common/prefetch.h"
#include "kernels/common/quant-avx512.h"
#include "kernels/common/stream-store.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

static inline __m512i requantize16(__m512i acc, __m512 m, __m512 lo, __m512 hi, __m512i zp) {
  return qeq_quantize_ps_avx512(_mm512_cvtepi32_ps(acc), m, lo, hi, zp);
}

void QEQ_X86_KERNEL(qeq_s32_q8_rrequant_ukernel__avx512)(size_t outer, size_t channels,
                                                         size_t inner, const int32_t* acc,
                                                         const qeq_q8_quant_params* params,
                                                         int stream, uint8_t* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, acc += inner, y += inner) {
      const __m512 m = _mm512_set1_ps(params[c].inv_scale);
      const __m512 lo = _mm512_set1_ps(params[c].lo);
      const __m512 hi = _mm512_set1_ps(params[c].hi);
      const __m512i zp = _mm512_set1_epi32(params[c].zero_point);
      size_t i = 0;
      for (; i + 32 <= inner; i += 32) {
        qeq_prefetch_row_ahead(acc + i);
        qeq_prefetch_row_ahead(acc + i + 16);
        const __m512i q0 = requantize16(_mm512_loadu_si512(acc + i), m, lo, hi, zp);
        const __m512i q1 = requantize16(_mm512_loadu_si512(acc + i + 16), m, lo, hi, zp);
        const __m256i bytes = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm512_cvtepi32_epi8(q0)), _mm512_cvtepi32_epi8(q1), 1);
        if (stream && qeq_is_aligned(y + i, 32)) {
          _mm256_stream_si256((__m256i*)(y + i), bytes);
        } else {
          _mm256_storeu_si256((__m256i*)(y + i), bytes);
        }
      }
      for (; i + 16 <= inner; i += 16) {
        const __m512i q = requantize16(_mm512_loadu_si512(acc + i), m, lo, hi, zp);
        _mm_storeu_si128((__m128i*)(y + i), _mm512_cvtepi32_epi8(q));
      }
      if (i < inner) {
        const __mmask16 mask = qeq_tail_mask_avx512(inner - i);
        const __m512i q = requantize16(_mm512_maskz_loadu_epi32(mask, acc + i), m, lo, hi, zp);
        _mm512_mask_cvtepi32_storeu_epi8(y + i, mask, q);
      }
    }
  }
  if (stream) _mm_sfence(); /* order the streaming stores before the caller reads y */
}
