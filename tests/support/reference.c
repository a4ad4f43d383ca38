/* Independent references: walk every element by its N-d coordinates (no [outer, channels,
 * inner] folding) and compare floats through an integer total-order key. */
#include <math.h>
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
  for (size_t c = 0; c < channels; c++) {
    int seen = 0, has_nan = 0;
    uint32_t lo = 0, hi = 0;
    for (size_t i = 0; i < numel; i++) {
      if (coordinate(shape, i, axis) != c) continue;
      if (isnan(x[i])) {
        has_nan = 1;
        continue;
      }
      const uint32_t k = order_key(x[i]);
      if (!seen || k < lo) lo = k;
      if (!seen || k > hi) hi = k;
      seen = 1;
    }
    if (has_nan) {
      min[c] = max[c] = canonical_nan;
    } else {
      /* invert order_key */
      min[c] = f32_from_bits((lo & 0x80000000u) ? (lo & 0x7fffffffu) : ~lo);
      max[c] = f32_from_bits((hi & 0x80000000u) ? (hi & 0x7fffffffu) : ~hi);
    }
  }
}

void ref_scale(const qeq_shape* shape, const float* x, size_t axis, const float* scales, float* y) {
  const size_t numel = shape_numel(shape);
  for (size_t i = 0; i < numel; i++) {
    volatile float product = x[i] * scales[coordinate(shape, i, axis)];
    y[i] = product;
  }
}
