#include <immintrin.h>

#include "kernels/common/qops-scalar.h"
#include "kernels/common/quant-avx2.h"
#include "kernels/ukernels.h"

/* int8 inputs are read as uint8 after flipping the top bit (q ^ 0x80 = q + 128), with the
 * zero point moved by 128, so one widening serves both dtypes and q - zp stays exact. */
static inline __m256 dequantize8(const uint8_t* q, __m128i flip, __m256i zp, __m256 scale) {
  const __m128i bytes = _mm_xor_si128(_mm_loadl_epi64((const __m128i*)q), flip);
  const __m256i level = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), zp);
  return _mm256_mul_ps(scale, _mm256_cvtepi32_ps(level));
}

void qeq_q8_vadd_ukernel__avx2(size_t n, const uint8_t* a, const uint8_t* b, int is_signed,
                               const qeq_q8_add_params* params, uint8_t* y) {
  const int32_t shift = is_signed ? 128 : 0;
  const __m128i flip = _mm_set1_epi8(is_signed ? (char)0x80 : 0);
  const __m256 a_scale = _mm256_set1_ps(params->a_scale);
  const __m256 b_scale = _mm256_set1_ps(params->b_scale);
  const __m256i a_zp = _mm256_set1_epi32(params->a_zero_point + shift);
  const __m256i b_zp = _mm256_set1_epi32(params->b_zero_point + shift);
  const __m256 inv = _mm256_set1_ps(params->out.inv_scale);
  const __m256 lo = _mm256_set1_ps(params->out.lo);
  const __m256 hi = _mm256_set1_ps(params->out.hi);
  const __m256i y_zp = _mm256_set1_epi32(params->out.zero_point);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
      const __m256 sum = _mm256_add_ps(dequantize8(a + i + 8 * k, flip, a_zp, a_scale),
                                       dequantize8(b + i + 8 * k, flip, b_zp, b_scale));
      q[k] = qeq_quantize_ps_avx2(sum, inv, lo, hi, y_zp);
    }
    _mm256_storeu_si256((__m256i*)(y + i), qeq_low_bytes32_avx2(q[0], q[1], q[2], q[3]));
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 sum = _mm256_add_ps(dequantize8(a + i, flip, a_zp, a_scale),
                                     dequantize8(b + i, flip, b_zp, b_scale));
    _mm_storel_epi64((__m128i*)(y + i),
                     qeq_low_bytes8_avx2(qeq_quantize_ps_avx2(sum, inv, lo, hi, y_zp)));
  }
  for (; i < n; i++) y[i] = qeq_q8_add_one(a[i], b[i], is_signed, params);
}
