/* Float buffers with sentinels after their end, and the scales the scaling kernels are tested
 * with: shared by the element-wise kernel tests. */
#include <stdlib.h>

#include "tests/support/test-support.h"

static const uint32_t SENTINEL = 0x7fa5a5a5u; /* a signalling-NaN pattern nothing computes */

static void fill_guard(float* p, size_t n) {
  for (size_t i = 0; i < n + GUARD_FLOATS; i++) p[i] = f32_from_bits(SENTINEL);
}

float* alloc_guarded(size_t n) {
  float* p = malloc((n + GUARD_FLOATS) * sizeof(float));
  fill_guard(p, n);
  return p;
}

float* alloc_shifted(test_rng* rng, size_t n, float** block) {
  const size_t shift = rng_below(rng, 16);
  const size_t bytes = (n + shift + GUARD_FLOATS) * sizeof(float);
  *block = aligned_alloc(64, (bytes + 63) / 64 * 64);
  float* p = *block + shift;
  fill_guard(p, n);
  return p;
}

int guard_intact(const float* p, size_t n) {
  for (size_t i = n; i < n + GUARD_FLOATS; i++) {
    if (f32_bits(p[i]) != SENTINEL) return 0;
  }
  return 1;
}

float rng_scale(test_rng* rng) {
  switch (rng_below(rng, 6)) {
    case 0: return 0.0f;
    case 1: return -1.5f;
    case 2: return 3.0e30f; /* times the huge inputs: +-Inf */
    case 3: return 1.0e-30f;
    default: return (float)(rng_below(rng, 2000001)) / 1000000.0f; /* [0, 2] */
  }
}
