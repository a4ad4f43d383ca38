#include <string.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* 64 lookups: the AVX2 kernel's steps (two halves of the table, a signed saturating subtract
 * of 16 per slice, VPSHUFB, XOR; see x8-lut-avx2.c) on 512-bit vectors. */
static inline __m512i lookup64(__m512i x, const __m512i steps[16]) {
  const __m512i sixteen = _mm512_set1_epi8(16);
  __m512i lo = x, hi = _mm512_xor_si512(x, _mm512_set1_epi8((char)0x80));
  __m512i out =
      _mm512_xor_si512(_mm512_shuffle_epi8(steps[0], lo), _mm512_shuffle_epi8(steps[8], hi));
  for (int j = 1; j < 8; j++) {
    lo = _mm512_subs_epi8(lo, sixteen);
    hi = _mm512_subs_epi8(hi, sixteen);
    out = _mm512_xor_si512(out, _mm512_shuffle_epi8(steps[j], lo));
    out = _mm512_xor_si512(out, _mm512_shuffle_epi8(steps[8 + j], hi));
  }
  return out;
}

void QEQ_X86_KERNEL(qeq_x8_lut_ukernel__avx512)(size_t n, const uint8_t* x,
                                                const uint8_t table[256], uint8_t* y) {
  __m512i steps[16];
  for (int j = 0; j < 16; j++) {
    /* within each half, slice j XOR slice j - 1 (XORing slices 0 .. k gives slice k) */
    __m128i slice = _mm_loadu_si128((const __m128i*)(table + 16 * j));
    if (j % 8 != 0) {
      slice = _mm_xor_si128(slice, _mm_loadu_si128((const __m128i*)(table + 16 * j - 16)));
    }
    steps[j] = _mm512_broadcast_i32x4(slice);
  }
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i v = _mm512_loadu_si512((const void*)(x + i));
    _mm512_storeu_si512((void*)(y + i), lookup64(v, steps));
  }
  if (i < n) {
    /* The last n - i (< 64) bytes go through the same steps from a copy. */
    uint8_t tx[64] = {0}, ty[64];
    memcpy(tx, x + i, n - i);
    _mm512_storeu_si512((void*)ty, lookup64(_mm512_loadu_si512((const void*)tx), steps));
    memcpy(y + i, ty, n - i);
  }
}
