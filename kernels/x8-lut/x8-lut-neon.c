#include <string.h>

#include "kernels/common/neon.h"
#include "kernels/ukernels.h"

/* 16 lookups: TBL over four registers covers 64 entries and gives 0 for an index of 64 or
 * more, TBX leaves the lane alone there; four quarters with the index moved down by 64 each
 * time (wrapping) cover the table, each byte found in exactly one. */
static inline uint8x16_t lookup16(uint8x16_t x, const uint8x16x4_t quarters[4]) {
  const uint8x16_t step = vdupq_n_u8(64);
  uint8x16_t out = vqtbl4q_u8(quarters[0], x);
  uint8x16_t index = vsubq_u8(x, step);
  out = vqtbx4q_u8(out, quarters[1], index);
  index = vsubq_u8(index, step);
  out = vqtbx4q_u8(out, quarters[2], index);
  index = vsubq_u8(index, step);
  return vqtbx4q_u8(out, quarters[3], index);
}

void qeq_x8_lut_ukernel__neon(size_t n, const uint8_t* x, const uint8_t table[256], uint8_t* y) {
  uint8x16x4_t quarters[4];
  for (int q = 0; q < 4; q++) quarters[q] = vld1q_u8_x4(table + 64 * q);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) vst1q_u8(y + i, lookup16(vld1q_u8(x + i), quarters));
  if (i < n) {
    /* The last n - i (< 16) bytes go through the same steps from a copy. */
    uint8_t tx[16] = {0}, ty[16];
    memcpy(tx, x + i, n - i);
    vst1q_u8(ty, lookup16(vld1q_u8(tx), quarters));
    memcpy(y + i, ty, n - i);
  }
}
