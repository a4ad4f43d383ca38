#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* int8 is compared as uint8 after flipping the top bit (an order-preserving map), and
 * flipped back before the store. Channel tails use masked loads and stores. */
void QEQ_X86_KERNEL(qeq_q8_maxpool_ukernel__avx512)(size_t rows, size_t channels,
                                                    const uint8_t* const* x, int is_signed,
                                                    uint8_t* y) {
  const __m512i flip = _mm512_set1_epi8(is_signed ? (char)0x80 : 0);
  for (size_t j = 0; j < channels; j += 64) {
    const size_t left = channels - j < 64 ? channels - j : 64;
    const __mmask64 mask = left == 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
    __m512i best = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, x[0] + j), flip);
    for (size_t r = 1; r < rows; r++) {
      best = _mm512_max_epu8(best, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, x[r] + j), flip));
    }
    _mm512_mask_storeu_epi8(y + j, mask, _mm512_xor_si512(best, flip));
  }
}
