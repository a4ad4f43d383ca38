/* PyTorch's CPU generator (ATen's mt19937) stepped from a state exported by
 * tests/golden/models_cases.py, so the tests regenerate torch.rand's calibration data instead
 * of committing it. */
#ifndef QEQ_TESTS_SUPPORT_MT19937_H
#define QEQ_TESTS_SUPPORT_MT19937_H

#include <stddef.h>
#include <stdint.h>

typedef struct mt19937 {
  uint32_t state[624];
  size_t left; /* draws until the state is regenerated, plus one (ATen's `left_`) */
  size_t next; /* index of the next word (ATen's `next_`) */
} mt19937;

/* The next 32-bit draw. */
uint32_t mt19937_next(mt19937* mt);
/* torch.rand's float32 on the CPU: one draw each, (draw & (2^24 - 1)) * 2^-24; `units`
 * (may be NULL) receives the 24-bit integers (the value in units of 2^-24). */
void mt19937_rand(mt19937* mt, float* out, uint32_t* units, size_t count);

#endif /* QEQ_TESTS_SUPPORT_MT19937_H */
