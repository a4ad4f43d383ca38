#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_x8_zip2_ukernel__avx2)(size_t n, const uint8_t* a, const uint8_t* b,
                                               uint8_t* y) {
  size_t k = 0;
  for (; k + 32 <= n; k += 32) {
    const __m256i va = _mm256_loadu_si256((const __m256i*)(a + k));
    const __m256i vb = _mm256_loadu_si256((const __m256i*)(b + k));
    /* unpack works within 128-bit lanes: lo holds outputs 0..15 and 32..47, hi 16..31 and
     * 48..63; the lane permutes put them in order. */
    const __m256i lo = _mm256_unpacklo_epi8(va, vb);
    const __m256i hi = _mm256_unpackhi_epi8(va, vb);
    _mm256_storeu_si256((__m256i*)(y + 2 * k), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256((__m256i*)(y + 2 * k + 32), _mm256_permute2x128_si256(lo, hi, 0x31));
  }
  for (; k + 16 <= n; k += 16) {
    const __m128i va = _mm_loadu_si128((const __m128i*)(a + k));
    const __m128i vb = _mm_loadu_si128((const __m128i*)(b + k));
    _mm_storeu_si128((__m128i*)(y + 2 * k), _mm_unpacklo_epi8(va, vb));
    _mm_storeu_si128((__m128i*)(y + 2 * k + 16), _mm_unpackhi_epi8(va, vb));
  }
  for (; k < n; k++) {
    y[2 * k] = a[k];
    y[2 * k + 1] = b[k];
  }
}
