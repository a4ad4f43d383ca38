/* The Mersenne Twister MT19937 as ATen steps it: regenerate the 624 words when `left` runs
 * out, then temper the next word. */
#include "tests/support/mt19937.h"

enum { MT_N = 624, MT_M = 397 };

static void regenerate(mt19937* mt) {
  uint32_t* s = mt->state;
  for (size_t i = 0; i < MT_N; i++) {
    const uint32_t next = s[(i + 1) % MT_N];
    const uint32_t y = (s[i] & 0x80000000u) | (next & 0x7FFFFFFFu);
    s[i] = s[(i + MT_M) % MT_N] ^ (y >> 1) ^ ((next & 1u) ? 0x9908B0DFu : 0u);
  }
  mt->left = MT_N;
  mt->next = 0;
}

uint32_t mt19937_next(mt19937* mt) {
  if (--mt->left == 0) regenerate(mt);
  uint32_t y = mt->state[mt->next++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9D2C5680u;
  y ^= (y << 15) & 0xEFC60000u;
  y ^= y >> 18;
  return y;
}

void mt19937_rand(mt19937* mt, float* out, uint32_t* units, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const uint32_t u = mt19937_next(mt) & ((1u << 24) - 1);
    out[i] = (float)u * 0x1p-24f; /* exact: 24 bits */
    if (units != NULL) units[i] = u;
  }
}
