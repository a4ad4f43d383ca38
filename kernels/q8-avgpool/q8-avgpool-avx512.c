#include "kernels/common/quant-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* Rows summed in uint16 per chunk: 256 * 255 < 2^16. */
enum { CHUNK_ROWS = 256 };

/* int8 is summed as uint8 after flipping the top bit (q ^ 0x80 = q + 128); the bias takes
 * the 128 * rows back out, so the int32 sum is the same. Blocks of 64 channels: each chunk of
 * rows is summed with 8 -> 16-bit widening adds (two per 64-byte row, where 32-bit lanes
 * took four widenings and four adds), then folded into four int32 accumulators. The last
 * block is masked. */
void QEQ_X86_KERNEL(qeq_q8_avgpool_ukernel__avx512)(size_t rows, size_t channels,
                                                    const uint8_t* const* x, int is_signed,
                                                    const qeq_q8_avgpool_params* params,
                                                    uint8_t* y) {
  const __m512i flip = _mm512_set1_epi8(is_signed ? (char)0x80 : 0);
  const int32_t bias = params->bias - (is_signed ? 128 * (int32_t)rows : 0);
  const __m512 m = _mm512_set1_ps(params->out.inv_scale);
  const __m512 lo = _mm512_set1_ps(params->out.lo);
  const __m512 hi = _mm512_set1_ps(params->out.hi);
  const __m512i zp16 = _mm512_set1_epi16((short)params->out.zero_point);
  for (size_t j = 0; j < channels; j += 64) {
    const size_t left = channels - j < 64 ? channels - j : 64;
    const __mmask64 mask = left == 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
    __m512i acc[4];
    for (int k = 0; k < 4; k++) acc[k] = _mm512_set1_epi32(bias);
    for (size_t r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
      const size_t end = rows - r0 < CHUNK_ROWS ? rows : r0 + CHUNK_ROWS;
      __m512i sum_lo = _mm512_setzero_si512(), sum_hi = _mm512_setzero_si512();
      for (size_t r = r0; r < end; r++) {
        const __m512i v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, x[r] + j), flip);
        sum_lo = _mm512_add_epi16(sum_lo, _mm512_cvtepu8_epi16(_mm512_castsi512_si256(v)));
        sum_hi = _mm512_add_epi16(sum_hi, _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(v, 1)));
      }
      const __m512i sums[2] = {sum_lo, sum_hi};
      for (int k = 0; k < 4; k++) {
        const __m256i half =
            k % 2 ? _mm512_extracti64x4_epi64(sums[k / 2], 1) : _mm512_castsi512_si256(sums[k / 2]);
        acc[k] = _mm512_add_epi32(acc[k], _mm512_cvtepu16_epi32(half));
      }
    }
    __m512i q[4];
    for (int k = 0; k < 4; k++) q[k] = qeq_round_ps_avx512(_mm512_cvtepi32_ps(acc[k]), m, lo, hi);
    _mm512_mask_storeu_epi8(y + j, mask, qeq_pack_bytes64_avx512(q[0], q[1], q[2], q[3], zp16));
  }
}
