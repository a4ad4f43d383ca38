#include <immintrin.h>

#include "kernels/common/qops-scalar.h"
#include "kernels/common/quant-avx2.h"
#include "kernels/ukernels.h"

/* int8 is summed as uint8 after flipping the top bit (q ^ 0x80 = q + 128); the bias takes
 * the 128 * rows back out, so the int32 sum is the same. */
static inline __m256i widen8(const uint8_t* q, __m128i flip) {
  return _mm256_cvtepu8_epi32(_mm_xor_si128(_mm_loadl_epi64((const __m128i*)q), flip));
}

void qeq_q8_avgpool_ukernel__avx2(size_t rows, size_t channels, const uint8_t* const* x,
                                  int is_signed, const qeq_q8_avgpool_params* params, uint8_t* y) {
  const __m128i flip = _mm_set1_epi8(is_signed ? (char)0x80 : 0);
  const int32_t bias = params->bias - (is_signed ? 128 * (int32_t)rows : 0);
  const __m256 m = _mm256_set1_ps(params->out.inv_scale);
  const __m256 lo = _mm256_set1_ps(params->out.lo);
  const __m256 hi = _mm256_set1_ps(params->out.hi);
  const __m256i zp = _mm256_set1_epi32(params->out.zero_point);
  size_t j = 0;
  for (; j + 32 <= channels; j += 32) {
    __m256i acc[4];
    for (int k = 0; k < 4; k++) acc[k] = _mm256_set1_epi32(bias);
    for (size_t r = 0; r < rows; r++) {
      for (int k = 0; k < 4; k++) acc[k] = _mm256_add_epi32(acc[k], widen8(x[r] + j + 8 * k, flip));
    }
    __m256i q[4];
    for (int k = 0; k < 4; k++)
      q[k] = qeq_quantize_ps_avx2(_mm256_cvtepi32_ps(acc[k]), m, lo, hi, zp);
    _mm256_storeu_si256((__m256i*)(y + j), qeq_low_bytes32_avx2(q[0], q[1], q[2], q[3]));
  }
  for (; j + 8 <= channels; j += 8) {
    __m256i acc = _mm256_set1_epi32(bias);
    for (size_t r = 0; r < rows; r++) acc = _mm256_add_epi32(acc, widen8(x[r] + j, flip));
    const __m256i q = qeq_quantize_ps_avx2(_mm256_cvtepi32_ps(acc), m, lo, hi, zp);
    _mm_storel_epi64((__m128i*)(y + j), qeq_low_bytes8_avx2(q));
  }
  for (; j < channels; j++) {
    int32_t acc = params->bias;
    for (size_t r = 0; r < rows; r++) acc += qeq_q8_level(x[r][j], is_signed);
    y[j] = qeq_quantize_one((float)acc, &params->out);
  }
}
