#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

uint64_t test_seed(void) {
  static uint64_t seed;
  static int ready;
  if (!ready) {
    const char* env = getenv("QEQ_TEST_SEED");
    seed = env != NULL && env[0] != '\0' ? strtoull(env, NULL, 10) : 20261122u;
    ready = 1;
  }
  return seed;
}

size_t test_iterations(size_t n) {
  const char* env = getenv("QEQ_TEST_SCALE");
  const double scale = env != NULL && env[0] != '\0' ? atof(env) : 1.0;
  const double scaled = (double)n * scale;
  return scaled < 1.0 ? 1 : (size_t)scaled;
}

void rng_init(test_rng* rng, uint64_t seed) {
  rng->state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  if (rng->state == 0) rng->state = 1;
  for (int i = 0; i < 4; i++) rng_next(rng);
}

uint64_t rng_next(test_rng* rng) {
  uint64_t x = rng->state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng->state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

size_t rng_below(test_rng* rng, size_t n) {
  return n == 0 ? 0 : (size_t)(rng_next(rng) % n);
}

size_t rng_size_pick(test_rng* rng, size_t max) {
  /* 1, primes, and one either side of every vector width (4, 8, 16) and unroll (32, 64). */
  static const size_t interesting[] = {1,  2,  3,  4,  5,  7,  8,  9,  13,  15,  16,  17,
                                       31, 32, 33, 47, 63, 64, 65, 97, 127, 128, 129, 257};
  size_t v;
  if (rng_below(rng, 4) != 0) {
    v = interesting[rng_below(rng, sizeof interesting / sizeof interesting[0])];
  } else {
    v = 1 + rng_below(rng, max);
  }
  return v > max ? max : v;
}

float rng_value(test_rng* rng) {
  const uint64_t r = rng_next(rng);
  const double u = (double)(r >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
  switch (r & 15) {
    case 0: return 0.0f;
    case 1: return -0.0f;
    case 2: return (float)((u - 0.5) * 1e30);   /* huge */
    case 3: return (float)((u - 0.5) * 1e-38);  /* tiny, partly subnormal */
    case 4: return (float)(int)((u - 0.5) * 8); /* small integers: many exact ties */
    default: return (float)(u * 2.0 - 1.0);
  }
}

void fill_values(test_rng* rng, float* x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = rng_value(rng);
}

void inject_specials(test_rng* rng, float* x, size_t outer, size_t channels, size_t inner) {
  static const float specials[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f};
  const size_t count = 1 + rng_below(rng, 3);
  const size_t per_channel = outer * inner;
  for (size_t k = 0; k < count; k++) {
    const size_t c = rng_below(rng, channels);
    size_t pos; /* position within the channel, in channel order (o-major) */
    switch (rng_below(rng, 3)) {
      case 0: pos = 0; break;
      case 1: pos = per_channel - 1; break;
      default: pos = rng_below(rng, per_channel); break;
    }
    const size_t o = pos / inner, i = pos % inner;
    float v = specials[rng_below(rng, sizeof specials / sizeof specials[0])];
    if (v != v && rng_below(rng, 2)) v = -v; /* negative NaN too */
    x[(o * channels + c) * inner + i] = v;
  }
}
