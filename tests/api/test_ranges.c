/* The public range and scaling API on random N-d shapes (1 to 8 dims, every axis, negative
 * axes), under every ISA cap the CPU allows: results must equal the independent reference to
 * the bit, hence be identical across ISAs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/tuning.h"
#include "tests/support/test-support.h"

static qeq_isa isas[QEQ_ISA_COUNT];
static size_t isa_count;

static void random_shape(test_rng* rng, qeq_shape* shape, size_t budget) {
  shape->ndim = 1 + rng_below(rng, QEQ_MAX_DIMS);
  size_t remaining = budget;
  for (size_t d = 0; d < shape->ndim; d++) {
    const size_t cap = remaining < 1 ? 1 : remaining;
    const size_t dim = rng_size_pick(rng, cap > 70 ? 70 : cap);
    shape->dims[d] = dim;
    remaining /= dim;
  }
  for (size_t d = shape->ndim; d < QEQ_MAX_DIMS; d++) shape->dims[d] = 0;
}

static float expected_range(float min, float max) {
  if (isnan(min)) return canonical_nan;
  const float r = max - min;
  return isnan(r) ? canonical_nan : r;
}

static float expected_absmax(float min, float max) {
  if (isnan(min)) return canonical_nan;
  const float a = fabsf(min), b = fabsf(max);
  return a > b ? a : b;
}

/* Runs every API function on one tensor under the current cap and checks it bit for bit. */
static void check_one(const qeq_shape* shape, int axis, const float* x, const char* isa_name) {
  const size_t ndim = shape->ndim;
  const size_t a = (size_t)(axis < 0 ? axis + (int)ndim : axis);
  const size_t channels = shape->dims[a];
  const size_t numel = shape_numel(shape);
  float* ref_min = malloc(channels * sizeof(float));
  float* ref_max = malloc(channels * sizeof(float));
  float* got_a = malloc(channels * sizeof(float));
  float* got_b = malloc(channels * sizeof(float));
  ref_channel_minmax(shape, x, a, ref_min, ref_max);

  char where[160];
  int len = snprintf(where, sizeof where, "isa=%s axis=%d shape=(", isa_name, axis);
  for (size_t d = 0; d < ndim && len < (int)sizeof where - 12; d++) {
    len += snprintf(where + len, sizeof where - (size_t)len, "%zu%s", shape->dims[d],
                    d + 1 < ndim ? "," : ")");
  }

  CHECK(qeq_channel_minmax_f32(shape, x, axis, got_a, got_b) == QEQ_OK, "minmax failed: %s (%s)",
        qeq_last_error(), where);
  for (size_t c = 0; c < channels; c++) {
    CHECK(same_bits(got_a[c], ref_min[c]) && same_bits(got_b[c], ref_max[c]),
          "minmax[%zu] = (%a, %a), want (%a, %a) %s", c, got_a[c], got_b[c], ref_min[c], ref_max[c],
          where);
  }
  CHECK(qeq_channel_range_f32(shape, x, axis, got_a) == QEQ_OK, "range failed: %s",
        qeq_last_error());
  CHECK(qeq_channel_absmax_f32(shape, x, axis, got_b) == QEQ_OK, "absmax failed: %s",
        qeq_last_error());
  for (size_t c = 0; c < channels; c++) {
    const float r = expected_range(ref_min[c], ref_max[c]);
    const float m = expected_absmax(ref_min[c], ref_max[c]);
    CHECK(same_bits(got_a[c], r), "range[%zu] = %a, want %a %s", c, got_a[c], r, where);
    CHECK(same_bits(got_b[c], m), "absmax[%zu] = %a, want %a %s", c, got_b[c], m, where);
  }

  /* Whole tensor: the reference over a single-channel view. */
  const qeq_shape flat = {2, {1, numel}}; /* one channel holding everything */
  float tmin, tmax, want_min, want_max;
  ref_channel_minmax(&flat, x, 0, &want_min, &want_max);
  CHECK(qeq_tensor_minmax_f32(shape, x, &tmin, &tmax) == QEQ_OK, "tensor minmax failed: %s",
        qeq_last_error());
  CHECK(same_bits(tmin, want_min) && same_bits(tmax, want_max),
        "tensor minmax = (%a, %a), want (%a, %a) %s", tmin, tmax, want_min, want_max, where);

  /* Scaling, out of place and in place. */
  float* scales = malloc(channels * sizeof(float));
  for (size_t c = 0; c < channels; c++) scales[c] = 0.25f + 0.37f * (float)(c % 11);
  float* want = malloc(numel * sizeof(float));
  float* y = malloc(numel * sizeof(float));
  ref_scale(shape, x, a, scales, want);
  CHECK(qeq_scale_channels_f32(shape, x, axis, scales, y) == QEQ_OK, "scale failed: %s",
        qeq_last_error());
  for (size_t i = 0; i < numel; i++) {
    CHECK(same_or_both_nan(y[i], want[i]), "scale y[%zu] = %a, want %a %s", i, y[i], want[i],
          where);
  }
  memcpy(y, x, numel * sizeof(float));
  CHECK(qeq_scale_channels_f32(shape, y, axis, scales, y) == QEQ_OK, "in-place scale failed: %s",
        qeq_last_error());
  for (size_t i = 0; i < numel; i++) {
    CHECK(same_or_both_nan(y[i], want[i]), "in-place y[%zu] = %a, want %a %s", i, y[i], want[i],
          where);
  }
  free(scales), free(want), free(y);
  free(ref_min), free(ref_max), free(got_a), free(got_b);
}

static void set_cap(qeq_isa isa) {
  CHECK(qeq_set_isa_cap(isa) == QEQ_OK, "cap %s: %s", qeq_isa_name(isa), qeq_last_error());
  CHECK(qeq_isa_effective() == isa, "effective ISA is not the cap %s", qeq_isa_name(isa));
}

static void test_random_shapes_every_isa(void** state) {
  (void)state;
  const size_t cases = test_iterations(500);
  for (size_t k = 0; k < isa_count; k++) {
    set_cap(isas[k]);
    test_rng rng;
    rng_init(&rng, test_seed()); /* same tensors under every ISA */
    for (size_t t = 0; t < cases; t++) {
      qeq_shape shape;
      random_shape(&rng, &shape, 6000);
      const size_t numel = shape_numel(&shape);
      float* x = malloc(numel * sizeof(float));
      fill_values(&rng, x, numel);
      const int axis = (int)rng_below(&rng, 2 * shape.ndim) - (int)shape.ndim;
      if (rng_below(&rng, 2)) {
        const size_t a = (size_t)(axis < 0 ? axis + (int)shape.ndim : axis);
        size_t outer = 1, inner = 1;
        for (size_t d = 0; d < a; d++) outer *= shape.dims[d];
        for (size_t d = a + 1; d < shape.ndim; d++) inner *= shape.dims[d];
        inject_specials(&rng, x, outer, shape.dims[a], inner);
      }
      check_one(&shape, axis, x, qeq_isa_name(isas[k]));
      free(x);
    }
    coverage_record(isas[k], 0, cases);
  }
  qeq_clear_isa_cap();
}

/* Shapes that force each strategy: long runs, inner == 1 wider than a row block, short runs
 * spanning several blocks, conv weights along both axes. */
static void test_strategy_shapes_every_isa(void** state) {
  (void)state;
  static const struct {
    size_t ndim;
    size_t dims[4];
    int axis;
  } cases[] = {
      {2, {3, 5000}, 1},
      {2, {3, 5000}, 0},
      {3, {2, 700, 9}, 1},
      {3, {2, 700, 9}, -1},
      {3, {5, 3, 1000}, -2},
      {4, {64, 64, 3, 3}, 0},
      {4, {64, 64, 3, 3}, 1},
      {4, {64, 64, 3, 3}, 3},
      {1, {1}, 0},
      {1, {4097}, 0},
      {2, {7, 4100}, 0},
      {2, {4100, 2}, 0},
      {2, {33, 31}, 0},
      /* run lengths either side of the run-kernel threshold */
      {3, {3, 5, QEQ_RUN_KERNEL_MIN_INNER - 1}, 1},
      {3, {3, 5, QEQ_RUN_KERNEL_MIN_INNER}, 1},
      /* rows wider than one row block: several blocks, the last one partial */
      {3, {3, QEQ_ROW_BLOCK_ELEMENTS + 5, 1}, 1},
      {3, {2, QEQ_ROW_BLOCK_ELEMENTS / 9 + 3, 9}, 1},
      {3, {2, QEQ_ROW_BLOCK_ELEMENTS / 9 + 3, 9}, -2},
      /* along axis 0: two runs longer than two blocks; along axis 1: three row blocks */
      {2, {2, 2 * QEQ_ROW_BLOCK_ELEMENTS + 1}, 0},
      {2, {2, 2 * QEQ_ROW_BLOCK_ELEMENTS + 1}, -1},
  };
  for (size_t k = 0; k < isa_count; k++) {
    set_cap(isas[k]);
    test_rng rng;
    rng_init(&rng, test_seed() ^ 0xabcdefu);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
      qeq_shape shape;
      CHECK(qeq_shape_init(&shape, cases[t].ndim, cases[t].dims) == QEQ_OK, "shape init");
      const size_t numel = shape_numel(&shape);
      float* x = malloc(numel * sizeof(float));
      fill_values(&rng, x, numel);
      check_one(&shape, cases[t].axis, x, qeq_isa_name(isas[k]));
      free(x);
    }
    coverage_record(isas[k], 0, sizeof cases / sizeof cases[0]);
  }
  qeq_clear_isa_cap();
}

/* Documented special values, spelled out. */
static void test_special_values(void** state) {
  (void)state;
  const float nan = NAN, inf = INFINITY;
  for (size_t k = 0; k < isa_count; k++) {
    set_cap(isas[k]);
    /* rows: channels along axis 0 of a (5, 40) tensor, specials at head/middle/tail */
    float x[5][40];
    for (int c = 0; c < 5; c++) {
      for (int i = 0; i < 40; i++) x[c][i] = (float)(i % 7) - 3.0f;
    }
    x[0][0] = nan;                                                 /* NaN at the head */
    x[1][39] = -nan;                                               /* negative NaN at the tail */
    x[2][17] = inf;                                                /* +inf in the middle */
    for (int i = 0; i < 40; i++) x[3][i] = (i % 2) ? 0.0f : -0.0f; /* only zeros */
    for (int i = 0; i < 40; i++) x[4][i] = inf;                    /* only +inf */
    const qeq_shape shape = {2, {5, 40}};
    float mn[5], mx[5], rg[5], am[5];
    CHECK(qeq_channel_minmax_f32(&shape, &x[0][0], 0, mn, mx) == QEQ_OK, "minmax");
    CHECK(qeq_channel_range_f32(&shape, &x[0][0], -2, rg) == QEQ_OK, "range");
    CHECK(qeq_channel_absmax_f32(&shape, &x[0][0], 0, am) == QEQ_OK, "absmax");
    for (int c = 0; c < 2; c++) {
      CHECK(f32_bits(mn[c]) == 0x7fc00000u && f32_bits(mx[c]) == 0x7fc00000u &&
                f32_bits(rg[c]) == 0x7fc00000u && f32_bits(am[c]) == 0x7fc00000u,
            "NaN channel %d must give canonical NaN everywhere", c);
    }
    CHECK(mn[2] == -3.0f && mx[2] == inf && rg[2] == inf && am[2] == inf, "+inf channel");
    CHECK(f32_bits(mn[3]) == 0x80000000u && f32_bits(mx[3]) == 0u, "zeros: min -0, max +0");
    CHECK(f32_bits(rg[3]) == 0u && f32_bits(am[3]) == 0u, "zeros: range +0, absmax +0");
    CHECK(mn[4] == inf && mx[4] == inf && f32_bits(rg[4]) == 0x7fc00000u && am[4] == inf,
          "only +inf: range is inf - inf = NaN");
  }
  qeq_clear_isa_cap();
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("public API under each ISA cap", 0) == 0, "ISA coverage incomplete");
}

int main(void) {
  isa_count = detected_isas(isas);
  printf("test_ranges: seed %llu; ISA caps:", (unsigned long long)test_seed());
  for (size_t k = 0; k < isa_count; k++) printf(" %s", qeq_isa_name(isas[k]));
  printf("\n");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_shapes_every_isa),
      cmocka_unit_test(test_strategy_shapes_every_isa),
      cmocka_unit_test(test_special_values),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
