#include <immintrin.h>

#include "kernels/common/minmax-avx512.h"
#include "kernels/common/quant-avx512.h"
#include "kernels/ukernels.h"

/* int8 is summed as uint8 after flipping the top bit (q ^ 0x80 = q + 128); the bias takes
 * the 128 * rows back out, so the int32 sum is the same. Blocks of 64 channels keep four
 * accumulators in registers across the rows; the last block is masked. */
void qeq_q8_avgpool_ukernel__avx512(size_t rows, size_t channels, const uint8_t* const* x,
                                    int is_signed, const qeq_q8_avgpool_params* params,
                                    uint8_t* y) {
  const __m128i flip = _mm_set1_epi8(is_signed ? (char)0x80 : 0);
  const int32_t bias = params->bias - (is_signed ? 128 * (int32_t)rows : 0);
  const __m512 m = _mm512_set1_ps(params->out.inv_scale);
  const __m512 lo = _mm512_set1_ps(params->out.lo);
  const __m512 hi = _mm512_set1_ps(params->out.hi);
  const __m512i zp = _mm512_set1_epi32(params->out.zero_point);
  for (size_t j = 0; j < channels; j += 64) {
    __mmask16 mask[4];
    for (int k = 0; k < 4; k++) {
      const size_t start = j + 16 * (size_t)k;
      const size_t left = start < channels ? channels - start : 0;
      mask[k] = qeq_tail_mask_avx512(left < 16 ? left : 16);
    }
    __m512i acc[4];
    for (int k = 0; k < 4; k++) acc[k] = _mm512_set1_epi32(bias);
    for (size_t r = 0; r < rows; r++) {
      for (int k = 0; k < 4; k++) {
        const __m128i q = _mm_xor_si128(_mm_maskz_loadu_epi8(mask[k], x[r] + j + 16 * k), flip);
        acc[k] = _mm512_add_epi32(acc[k], _mm512_cvtepu8_epi32(q));
      }
    }
    for (int k = 0; k < 4; k++) {
      const __m512i q = qeq_quantize_ps_avx512(_mm512_cvtepi32_ps(acc[k]), m, lo, hi, zp);
      _mm512_mask_cvtepi32_storeu_epi8(y + j + 16 * k, mask[k], q);
    }
  }
}
