/* Independent references: walk every element by its N-d coordinates (no [outer, channels,
 * inner] folding) and compare floats through an integer total-order key. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

const float canonical_nan = NAN;

uint32_t f32_bits(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

float f32_from_bits(uint32_t u) {
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

int same_bits(float a, float b) {
  return f32_bits(a) == f32_bits(b);
}

int same_or_both_nan(float a, float b) {
  return (isnan(a) && isnan(b)) || same_bits(a, b);
}

/* Monotonic in the float order for non-NaN values, with -0.0 just below +0.0. */
static uint32_t order_key(float v) {
  const uint32_t u = f32_bits(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

size_t shape_numel(const qeq_shape* shape) {
  size_t n = 1;
  for (size_t d = 0; d < shape->ndim; d++) n *= shape->dims[d];
  return n;
}

/* Coordinate of flat index `index` along `axis` of a row-major shape. */
static size_t coordinate(const qeq_shape* shape, size_t index, size_t axis) {
  for (size_t d = shape->ndim; d-- > axis + 1;) index /= shape->dims[d];
  return index % shape->dims[axis];
}

void ref_channel_minmax(const qeq_shape* shape, const float* x, size_t axis, float* min,
                        float* max) {
  const size_t channels = shape->dims[axis];
  const size_t numel = shape_numel(shape);
  /* Per-channel state, filled in one pass over the elements in memory order. */
  uint32_t* lo = calloc(channels, sizeof *lo);
  uint32_t* hi = calloc(channels, sizeof *hi);
  unsigned char* seen = calloc(channels, 1);
  unsigned char* has_nan = calloc(channels, 1);
  assert_non_null(lo);
  assert_non_null(hi);
  assert_non_null(seen);
  assert_non_null(has_nan);
  for (size_t i = 0; i < numel; i++) {
    const size_t c = coordinate(shape, i, axis);
    if (isnan(x[i])) {
      has_nan[c] = 1;
      continue;
    }
    const uint32_t k = order_key(x[i]);
    if (!seen[c] || k < lo[c]) lo[c] = k;
    if (!seen[c] || k > hi[c]) hi[c] = k;
    seen[c] = 1;
  }
  for (size_t c = 0; c < channels; c++) {
    if (has_nan[c]) {
      min[c] = max[c] = canonical_nan;
    } else {
      /* invert order_key */
      min[c] = f32_from_bits((lo[c] & 0x80000000u) ? (lo[c] & 0x7fffffffu) : ~lo[c]);
      max[c] = f32_from_bits((hi[c] & 0x80000000u) ? (hi[c] & 0x7fffffffu) : ~hi[c]);
    }
  }
  free(lo);
  free(hi);
  free(seen);
  free(has_nan);
}

void ref_scale(const qeq_shape* shape, const float* x, size_t axis, const float* scales, float* y) {
  const size_t numel = shape_numel(shape);
  for (size_t i = 0; i < numel; i++) {
    volatile float product = x[i] * scales[coordinate(shape, i, axis)];
    y[i] = product;
  }
}
