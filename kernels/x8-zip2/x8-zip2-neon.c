#include "kernels/common/neon.h"
#include "kernels/ukernels.h"

void qeq_x8_zip2_ukernel__neon(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y) {
  size_t k = 0;
  for (; k + 16 <= n; k += 16) {
    uint8x16x2_t pair;
    pair.val[0] = vld1q_u8(a + k);
    pair.val[1] = vld1q_u8(b + k);
    vst2q_u8(y + 2 * k, pair); /* the interleaving store */
  }
  for (; k < n; k++) {
    y[2 * k] = a[k];
    y[2 * k + 1] = b[k];
  }
}
