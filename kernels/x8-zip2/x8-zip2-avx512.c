#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_x8_zip2_ukernel__avx512)(size_t n, const uint8_t* a, const uint8_t* b,
                                                 uint8_t* y) {
  size_t k = 0;
  /* unpack works within 128-bit lanes: lane l of lo holds outputs 32l..32l+15, of hi
   * 32l+16..32l+31; the two-source qword permutes put them in order. */
  const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
  const __m512i second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  for (; k + 64 <= n; k += 64) {
    const __m512i va = _mm512_loadu_si512((const void*)(a + k));
    const __m512i vb = _mm512_loadu_si512((const void*)(b + k));
    const __m512i lo = _mm512_unpacklo_epi8(va, vb);
    const __m512i hi = _mm512_unpackhi_epi8(va, vb);
    _mm512_storeu_si512((void*)(y + 2 * k), _mm512_permutex2var_epi64(lo, first, hi));
    _mm512_storeu_si512((void*)(y + 2 * k + 64), _mm512_permutex2var_epi64(lo, second, hi));
  }
  if (k < n) {
    /* The last n - k (< 64) pairs with masked loads and stores: 32 bytes of y per 16 inputs. */
    const size_t left = n - k;
    const __mmask64 in_mask = ((__mmask64)1 << left) - 1;
    const __m512i va = _mm512_maskz_loadu_epi8(in_mask, a + k);
    const __m512i vb = _mm512_maskz_loadu_epi8(in_mask, b + k);
    const __m512i lo = _mm512_unpacklo_epi8(va, vb);
    const __m512i hi = _mm512_unpackhi_epi8(va, vb);
    const size_t out = 2 * left;
    const __mmask64 out0 = out >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << out) - 1;
    const __mmask64 out1 = out > 64 ? ((__mmask64)1 << (out - 64)) - 1 : 0;
    _mm512_mask_storeu_epi8(y + 2 * k, out0, _mm512_permutex2var_epi64(lo, first, hi));
    _mm512_mask_storeu_epi8(y + 2 * k + 64, out1, _mm512_permutex2var_epi64(lo, second, hi));
  }
}
