#include <immintrin.h>
#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

/* Eight int32 lanes -> their low bytes, in order, in the low 8 bytes of the result. */
static inline __m128i low_bytes8(__m256i q) {
  const __m256i pick =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i bytes = _mm256_shuffle_epi8(q, pick); /* dword 0 and dword 4 */
  const __m256i joined =
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
  return _mm256_castsi256_si128(joined);
}

static inline __m256i quantize8(__m256 x, __m256 inv, __m256 lo, __m256 hi, __m256i zp) {
  __m256 v = _mm256_mul_ps(x, inv);
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), zp); /* MXCSR: nearest even by default */
}

void qeq_f32_q8_rquant_ukernel__avx2(size_t outer, size_t channels, size_t inner, const float* x,
                                     const qeq_q8_quant_params* params, uint8_t* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const qeq_q8_quant_params p = params[c];
      const __m256 inv = _mm256_set1_ps(p.inv_scale);
      const __m256 lo = _mm256_set1_ps(p.lo);
      const __m256 hi = _mm256_set1_ps(p.hi);
      const __m256i zp = _mm256_set1_epi32(p.zero_point);
      size_t i = 0;
      for (; i + 16 <= inner; i += 16) {
        const __m128i b0 = low_bytes8(quantize8(_mm256_loadu_ps(x + i), inv, lo, hi, zp));
        const __m128i b1 = low_bytes8(quantize8(_mm256_loadu_ps(x + i + 8), inv, lo, hi, zp));
        _mm_storeu_si128((__m128i*)(y + i), _mm_unpacklo_epi64(b0, b1));
      }
      for (; i < inner; i++) {
        /* the same steps as the vector lanes, one element at a time */
        float v = x[i] * p.inv_scale;
        if (v != v) v = 0.0f;
        v = v < p.lo ? p.lo : v;
        v = v > p.hi ? p.hi : v;
        y[i] = (uint8_t)(p.zero_point + (int32_t)nearbyintf(v));
      }
    }
  }
}
