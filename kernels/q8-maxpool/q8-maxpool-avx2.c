#include "kernels/common/qops-scalar.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* int8 is compared as uint8 after flipping the top bit (an order-preserving map), and
 * flipped back before the store. */
void QEQ_X86_KERNEL(qeq_q8_maxpool_ukernel__avx2)(size_t rows, size_t channels,
                                                  const uint8_t* const* x, int is_signed,
                                                  uint8_t* y) {
  const __m256i flip = _mm256_set1_epi8(is_signed ? (char)0x80 : 0);
  size_t j = 0;
  for (; j + 32 <= channels; j += 32) {
    __m256i best = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(x[0] + j)), flip);
    for (size_t r = 1; r < rows; r++) {
      const __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(x[r] + j)), flip);
      best = _mm256_max_epu8(best, v);
    }
    _mm256_storeu_si256((__m256i*)(y + j), _mm256_xor_si256(best, flip));
  }
  const __m128i flip16 = _mm256_castsi256_si128(flip);
  for (; j + 16 <= channels; j += 16) {
    __m128i best = _mm_xor_si128(_mm_loadu_si128((const __m128i*)(x[0] + j)), flip16);
    for (size_t r = 1; r < rows; r++) {
      best = _mm_max_epu8(best, _mm_xor_si128(_mm_loadu_si128((const __m128i*)(x[r] + j)), flip16));
    }
    _mm_storeu_si128((__m128i*)(y + j), _mm_xor_si128(best, flip16));
  }
  for (; j + 8 <= channels; j += 8) {
    __m128i best = _mm_xor_si128(_mm_loadl_epi64((const __m128i*)(x[0] + j)), flip16);
    for (size_t r = 1; r < rows; r++) {
      best = _mm_max_epu8(best, _mm_xor_si128(_mm_loadl_epi64((const __m128i*)(x[r] + j)), flip16));
    }
    _mm_storel_epi64((__m128i*)(y + j), _mm_xor_si128(best, flip16));
  }
  for (; j < channels; j++) y[j] = qeq_q8_max_column(rows, x, j, is_signed);
}
