#include <string.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* 32 lookups. VPSHUFB looks up 16 entries and gives 0 where the index byte has its top bit
 * set, so the table is searched in sixteen 16-entry slices: for slice j the index is
 * x ^ 16 j, below 16 exactly when x's high four bits are j, and a saturating add of 0x70 keeps
 * the top bit clear exactly then while keeping the low four bits. The slices' results are
 * ORed: each byte gets one non-zero contribution at most, its own. */
static inline __m256i lookup32(__m256i x, const __m256i slices[16]) {
  const __m256i bias = _mm256_set1_epi8(0x70);
  __m256i out = _mm256_setzero_si256();
  for (int j = 0; j < 16; j++) {
    const __m256i index = _mm256_xor_si256(x, _mm256_set1_epi8((char)(16 * j)));
    out = _mm256_or_si256(out, _mm256_shuffle_epi8(slices[j], _mm256_adds_epu8(index, bias)));
  }
  return out;
}

void QEQ_X86_KERNEL(qeq_x8_lut_ukernel__avx2)(size_t n, const uint8_t* x, const uint8_t table[256],
                                              uint8_t* y) {
  __m256i slices[16];
  for (int j = 0; j < 16; j++) {
    slices[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)(table + 16 * j)));
  }
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256((const __m256i*)(x + i));
    _mm256_storeu_si256((__m256i*)(y + i), lookup32(v, slices));
  }
  if (i < n) {
    /* The last n - i (< 32) bytes go through the same steps from a copy. */
    uint8_t tx[32] = {0}, ty[32];
    memcpy(tx, x + i, n - i);
    _mm256_storeu_si256((__m256i*)ty, lookup32(_mm256_loadu_si256((const __m256i*)tx), slices));
    memcpy(y + i, ty, n - i);
  }
}
