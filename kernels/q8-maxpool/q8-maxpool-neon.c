#include "kernels/common/neon.h"
#include "kernels/common/qops-scalar.h"
#include "kernels/ukernels.h"

/* int8 is compared as uint8 after flipping the top bit (an order-preserving map), and
 * flipped back before the store. */
void qeq_q8_maxpool_ukernel__neon(size_t rows, size_t channels, const uint8_t* const* x,
                                  int is_signed, uint8_t* y) {
  const uint8x16_t flip = vdupq_n_u8(is_signed ? 0x80 : 0);
  size_t j = 0;
  for (; j + 16 <= channels; j += 16) {
    uint8x16_t best = veorq_u8(vld1q_u8(x[0] + j), flip);
    for (size_t r = 1; r < rows; r++) best = vmaxq_u8(best, veorq_u8(vld1q_u8(x[r] + j), flip));
    vst1q_u8(y + j, veorq_u8(best, flip));
  }
  const uint8x8_t flip8 = vget_low_u8(flip);
  for (; j + 8 <= channels; j += 8) {
    uint8x8_t best = veor_u8(vld1_u8(x[0] + j), flip8);
    for (size_t r = 1; r < rows; r++) best = vmax_u8(best, veor_u8(vld1_u8(x[r] + j), flip8));
    vst1_u8(y + j, veor_u8(best, flip8));
  }
  for (; j < channels; j++) y[j] = qeq_q8_max_column(rows, x, j, is_signed);
}
