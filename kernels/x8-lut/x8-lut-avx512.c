#include <string.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* 64 lookups: the AVX2 kernel's sixteen 16-entry slices (x ^ 16 j, a saturating add of 0x70
 * clearing the top bit only inside the slice, VPSHUFB, OR) on 512-bit vectors. */
static inline __m512i lookup64(__m512i x, const __m512i slices[16]) {
  const __m512i bias = _mm512_set1_epi8(0x70);
  __m512i out = _mm512_setzero_si512();
  for (int j = 0; j < 16; j++) {
    const __m512i index = _mm512_xor_si512(x, _mm512_set1_epi8((char)(16 * j)));
    out = _mm512_or_si512(out, _mm512_shuffle_epi8(slices[j], _mm512_adds_epu8(index, bias)));
  }
  return out;
}

void QEQ_X86_KERNEL(qeq_x8_lut_ukernel__avx512)(size_t n, const uint8_t* x,
                                                const uint8_t table[256], uint8_t* y) {
  __m512i slices[16];
  for (int j = 0; j < 16; j++) {
    slices[j] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i*)(table + 16 * j)));
  }
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i v = _mm512_loadu_si512((const void*)(x + i));
    _mm512_storeu_si512((void*)(y + i), lookup64(v, slices));
  }
  if (i < n) {
    /* The last n - i (< 64) bytes go through the same steps from a copy. */
    uint8_t tx[64] = {0}, ty[64];
    memcpy(tx, x + i, n - i);
    _mm512_storeu_si512((void*)ty, lookup64(_mm512_loadu_si512((const void*)tx), slices));
    memcpy(y + i, ty, n - i);
  }
}
