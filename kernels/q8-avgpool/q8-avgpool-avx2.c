#include "kernels/common/qops-scalar.h"
#include "kernels/common/quant-avx2.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* Rows summed in uint16 per chunk: 256 * 255 < 2^16. */
enum { CHUNK_ROWS = 256 };

/* int8 is summed as uint8 after flipping the top bit (q ^ 0x80 = q + 128); the bias takes
 * the 128 * rows back out, so the int32 sum is the same. */
static inline __m256i widen8(const uint8_t* q, __m128i flip) {
  return _mm256_cvtepu8_epi32(_mm_xor_si128(_mm_loadl_epi64((const __m128i*)q), flip));
}

/* Blocks of 32 channels: each chunk of rows is summed with 8 -> 16-bit widening adds (two
 * per 32-byte row, where 32-bit lanes took four widenings and four adds), then folded into
 * four int32 accumulators. */
void QEQ_X86_KERNEL(qeq_q8_avgpool_ukernel__avx2)(size_t rows, size_t channels,
                                                  const uint8_t* const* x, int is_signed,
                                                  const qeq_q8_avgpool_params* params, uint8_t* y) {
  const __m256i flip = _mm256_set1_epi8(is_signed ? (char)0x80 : 0);
  const __m128i flip16 = _mm256_castsi256_si128(flip);
  const int32_t bias = params->bias - (is_signed ? 128 * (int32_t)rows : 0);
  const __m256 m = _mm256_set1_ps(params->out.inv_scale);
  const __m256 lo = _mm256_set1_ps(params->out.lo);
  const __m256 hi = _mm256_set1_ps(params->out.hi);
  const __m256i zp = _mm256_set1_epi32(params->out.zero_point);
  size_t j = 0;
  for (; j + 32 <= channels; j += 32) {
    __m256i acc[4];
    for (int k = 0; k < 4; k++) acc[k] = _mm256_set1_epi32(bias);
    for (size_t r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
      const size_t end = rows - r0 < CHUNK_ROWS ? rows : r0 + CHUNK_ROWS;
      __m256i sum_lo = _mm256_setzero_si256(), sum_hi = _mm256_setzero_si256();
      for (size_t r = r0; r < end; r++) {
        const __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(x[r] + j)), flip);
        sum_lo = _mm256_add_epi16(sum_lo, _mm256_cvtepu8_epi16(_mm256_castsi256_si128(v)));
        sum_hi = _mm256_add_epi16(sum_hi, _mm256_cvtepu8_epi16(_mm256_extracti128_si256(v, 1)));
      }
      const __m256i sums[2] = {sum_lo, sum_hi};
      for (int k = 0; k < 4; k++) {
        const __m128i half =
            k % 2 ? _mm256_extracti128_si256(sums[k / 2], 1) : _mm256_castsi256_si128(sums[k / 2]);
        acc[k] = _mm256_add_epi32(acc[k], _mm256_cvtepu16_epi32(half));
      }
    }
    __m256i q[4];
    for (int k = 0; k < 4; k++)
      q[k] = qeq_quantize_ps_avx2(_mm256_cvtepi32_ps(acc[k]), m, lo, hi, zp);
    _mm256_storeu_si256((__m256i*)(y + j), qeq_low_bytes32_avx2(q[0], q[1], q[2], q[3]));
  }
  for (; j + 8 <= channels; j += 8) {
    __m256i acc = _mm256_set1_epi32(bias);
    for (size_t r = 0; r < rows; r++) acc = _mm256_add_epi32(acc, widen8(x[r] + j, flip16));
    const __m256i q = qeq_quantize_ps_avx2(_mm256_cvtepi32_ps(acc), m, lo, hi, zp);
    _mm_storel_epi64((__m128i*)(y + j), qeq_low_bytes8_avx2(q));
  }
  for (; j < channels; j++) y[j] = qeq_q8_avg_column(rows, x, j, is_signed, params);
}
