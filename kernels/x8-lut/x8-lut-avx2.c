#include <string.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* The table's sixteen 16-entry slices as the lookups XOR them: within each half of the table
 * (entries 0-127, 128-255), slice j XOR slice j - 1, so that XORing slices 0 .. k gives slice
 * k. */
static inline void lut_steps(const uint8_t table[256], __m256i steps[16]) {
  for (int j = 0; j < 16; j++) {
    __m128i slice = _mm_loadu_si128((const __m128i*)(table + 16 * j));
    if (j % 8 != 0)
      slice = _mm_xor_si128(slice, _mm_loadu_si128((const __m128i*)(table + 16 * j - 16)));
    steps[j] = _mm256_broadcastsi128_si256(slice);
  }
}

/* 32 lookups. VPSHUFB looks up 16 entries by the index's low four bits, and gives 0 where the
 * index byte has its top bit set. For each half of the table the index starts at x (entries
 * 0-127) or x ^ 0x80 (entries 128-255) and drops by 16 per slice with a signed saturating
 * subtract: slice j contributes while the index is still non-negative, that is for j up to
 * x's own slice, and a byte of the other half is negative from the start and stays so. The
 * contributions XOR to x's entry. */
static inline __m256i lookup32(__m256i x, const __m256i steps[16]) {
  const __m256i sixteen = _mm256_set1_epi8(16);
  __m256i lo = x, hi = _mm256_xor_si256(x, _mm256_set1_epi8((char)0x80));
  __m256i out =
      _mm256_xor_si256(_mm256_shuffle_epi8(steps[0], lo), _mm256_shuffle_epi8(steps[8], hi));
  for (int j = 1; j < 8; j++) {
    lo = _mm256_subs_epi8(lo, sixteen);
    hi = _mm256_subs_epi8(hi, sixteen);
    out = _mm256_xor_si256(out, _mm256_shuffle_epi8(steps[j], lo));
    out = _mm256_xor_si256(out, _mm256_shuffle_epi8(steps[8 + j], hi));
  }
  return out;
}

void QEQ_X86_KERNEL(qeq_x8_lut_ukernel__avx2)(size_t n, const uint8_t* x, const uint8_t table[256],
                                              uint8_t* y) {
  __m256i steps[16];
  lut_steps(table, steps);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256((const __m256i*)(x + i));
    _mm256_storeu_si256((__m256i*)(y + i), lookup32(v, steps));
  }
  if (i < n) {
    /* The last n - i (< 32) bytes go through the same steps from a copy. */
    uint8_t tx[32] = {0}, ty[32];
    memcpy(tx, x + i, n - i);
    _mm256_storeu_si256((__m256i*)ty, lookup32(_mm256_loadu_si256((const __m256i*)tx), steps));
    memcpy(y + i, ty, n - i);
  }
}
