#include <string.h>

#include "kernels/common/quant-scalar.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

static inline __m256 dequantize8(const uint8_t* q, int is_signed, __m256i zp, __m256 scale) {
  int64_t bits;
  memcpy(&bits, q, sizeof bits); /* exactly 8 bytes: no over-read */
  const __m128i bytes = _mm_cvtsi64_si128(bits);
  const __m256i level = is_signed ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
  return _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_sub_epi32(level, zp)));
}

void QEQ_X86_KERNEL(qeq_q8_f32_rdequant_ukernel__avx2)(size_t outer, size_t channels, size_t inner,
                                                       const uint8_t* q, int is_signed,
                                                       const qeq_q8_dequant_params* params,
                                                       float* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, q += inner, y += inner) {
      const qeq_q8_dequant_params p = params[c];
      const __m256 scale = _mm256_set1_ps(p.scale);
      const __m256i zp = _mm256_set1_epi32(p.zero_point);
      size_t i = 0;
      for (; i + 16 <= inner; i += 16) {
        _mm256_storeu_ps(y + i, dequantize8(q + i, is_signed, zp, scale));
        _mm256_storeu_ps(y + i + 8, dequantize8(q + i + 8, is_signed, zp, scale));
      }
      for (; i + 8 <= inner; i += 8)
        _mm256_storeu_ps(y + i, dequantize8(q + i, is_signed, zp, scale));
      for (; i < inner; i++) y[i] = qeq_dequantize_one(q[i], is_signed, &p);
    }
  }
}
