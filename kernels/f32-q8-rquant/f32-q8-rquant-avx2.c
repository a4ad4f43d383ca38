#include <immintrin.h>
#include "kernels/common/quant-avx2.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

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
        const __m128i b0 =
            qeq_low_bytes8_avx2(qeq_quantize_ps_avx2(_mm256_loadu_ps(x + i), inv, lo, hi, zp));
        const __m128i b1 =
            qeq_low_bytes8_avx2(qeq_quantize_ps_avx2(_mm256_loadu_ps(x + i + 8), inv, lo, hi, zp));
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
