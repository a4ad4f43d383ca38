/* The min/max and scaling families (f32_rminmax, f32_vminmax, f32_rscale, f32_vscale): every
 * variant (NEON through SIMDe on x86 too) against the independent references, on random sizes
 * and NaN / +-Inf / -0.0 placements; and every registered variant of every family is in the
 * test list. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

static size_t cases_per_variant(const test_variant* v) {
  return variant_cases(v, 400);
}

static int same_double(double a, double b) {
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* The documented order of a run's sum of squares (kernels/common/sum-squares.h), written out
 * independently: element i into lane i % 32, lanes folded 16, 8, 4, 2, 1 apart. */
static double ref_run_sum_squares(const float* run, size_t n) {
  double lane[32] = {0};
  for (size_t i = 0; i < n; i++) lane[i % 32] += (double)run[i] * (double)run[i];
  for (size_t half = 16; half >= 1; half /= 2) {
    for (size_t l = 0; l < half; l++) lane[l] += lane[l + half];
  }
  return lane[0];
}

/* Sums of squares out of the kernel (min and max must not change from the call without). */
static void check_rminmax_squares(const test_variant* v, qeq_f32_rminmax_ukernel_fn* kernel,
                                  size_t outer, size_t channels, size_t inner, const float* x,
                                  const float* min, const float* max) {
  double* squares = malloc((channels + GUARD_FLOATS) * sizeof(double));
  for (size_t c = 0; c < channels + GUARD_FLOATS; c++) squares[c] = -1.0;
  float* min2 = malloc(channels * sizeof(float));
  float* max2 = malloc(channels * sizeof(float));
  kernel(outer, channels, inner, x, min2, max2, squares);
  for (size_t c = 0; c < GUARD_FLOATS; c++) {
    CHECK(squares[channels + c] == -1.0, "%s wrote past sum_squares (channels=%zu)", v->name,
          channels);
  }
  for (size_t c = 0; c < channels; c++) {
    double want = 0.0;
    for (size_t o = 0; o < outer; o++) {
      const double run = ref_run_sum_squares(x + (o * channels + c) * inner, inner);
      want = o == 0 ? run : want + run;
    }
    CHECK(same_double(squares[c], want),
          "%s sum_squares[%zu] = %a, want %a (outer=%zu channels=%zu inner=%zu)", v->name, c,
          squares[c], want, outer, channels, inner);
    CHECK(same_bits(min2[c], min[c]) && same_bits(max2[c], max[c]),
          "%s: min/max differ when sum_squares is asked for (channel %zu)", v->name, c);
  }
  free(squares), free(min2), free(max2);
}

static void run_rminmax(const test_variant* v, test_rng* rng) {
  qeq_f32_rminmax_ukernel_fn* kernel = (qeq_f32_rminmax_ukernel_fn*)v->fn;
  const size_t cases = cases_per_variant(v);
  for (size_t t = 0; t < cases; t++) {
    const size_t outer = rng_size_pick(rng, 9);
    const size_t channels = rng_size_pick(rng, 40);
    const size_t inner = rng_size_pick(rng, 300);
    const size_t n = outer * channels * inner;
    float* x = malloc(n * sizeof(float));
    fill_values(rng, x, n);
    if (rng_below(rng, 2)) inject_specials(rng, x, outer, channels, inner);
    float* min = alloc_guarded(channels);
    float* max = alloc_guarded(channels);
    float* ref_min = malloc(channels * sizeof(float));
    float* ref_max = malloc(channels * sizeof(float));
    const qeq_shape shape = {3, {outer, channels, inner}};
    ref_channel_minmax(&shape, x, 1, ref_min, ref_max);
    kernel(outer, channels, inner, x, min, max, NULL);
    CHECK(guard_intact(min, channels) && guard_intact(max, channels),
          "%s wrote past its outputs (outer=%zu channels=%zu inner=%zu)", v->name, outer, channels,
          inner);
    for (size_t c = 0; c < channels; c++) {
      CHECK(same_or_both_nan(min[c], ref_min[c]),
            "%s min[%zu] = %a, want %a (outer=%zu channels=%zu inner=%zu)", v->name, c, min[c],
            ref_min[c], outer, channels, inner);
      CHECK(isnan(ref_max[c]) || same_bits(max[c], ref_max[c]),
            "%s max[%zu] = %a, want %a (outer=%zu channels=%zu inner=%zu)", v->name, c, max[c],
            ref_max[c], outer, channels, inner);
    }
    check_rminmax_squares(v, kernel, outer, channels, inner, x, min, max);
    free(x), free(min), free(max), free(ref_min), free(ref_max);
  }
  coverage_record(v->isa, v->via_simde, cases);
}

static void run_vminmax(const test_variant* v, test_rng* rng) {
  qeq_f32_vminmax_ukernel_fn* kernel = (qeq_f32_vminmax_ukernel_fn*)v->fn;
  const size_t cases = cases_per_variant(v);
  for (size_t t = 0; t < cases; t++) {
    const size_t rows = rng_size_pick(rng, 20);
    const size_t width = rng_size_pick(rng, 300);
    const size_t stride = width + rng_below(rng, 6);
    /* Row padding holds NaN: a kernel that reads it would poison its results. */
    float* x = malloc(rows * stride * sizeof(float));
    for (size_t i = 0; i < rows * stride; i++) x[i] = NAN;
    /* Reference input: row 0 is the initial accumulator, then the rows. */
    float* ref_in_min = malloc((rows + 1) * width * sizeof(float));
    float* ref_in_max = malloc((rows + 1) * width * sizeof(float));
    float* acc_min = alloc_guarded(width);
    float* acc_max = alloc_guarded(width);
    for (size_t j = 0; j < width; j++) {
      acc_min[j] = rng_below(rng, 4) ? rng_value(rng) : INFINITY;
      acc_max[j] = rng_below(rng, 4) ? rng_value(rng) : -INFINITY;
      ref_in_min[j] = acc_min[j];
      ref_in_max[j] = acc_max[j];
    }
    float* rows_dense = malloc(rows * width * sizeof(float));
    fill_values(rng, rows_dense, rows * width);
    if (rng_below(rng, 2)) inject_specials(rng, rows_dense, rows, width, 1);
    for (size_t r = 0; r < rows; r++) {
      memcpy(x + r * stride, rows_dense + r * width, width * sizeof(float));
      memcpy(ref_in_min + (r + 1) * width, rows_dense + r * width, width * sizeof(float));
      memcpy(ref_in_max + (r + 1) * width, rows_dense + r * width, width * sizeof(float));
    }
    float* ref_min = malloc(width * sizeof(float));
    float* ref_max = malloc(width * sizeof(float));
    float* unused = malloc(width * sizeof(float));
    const qeq_shape shape = {2, {rows + 1, width}};
    ref_channel_minmax(&shape, ref_in_min, 1, ref_min, unused);
    ref_channel_minmax(&shape, ref_in_max, 1, unused, ref_max);
    /* Sums of squares: random starting sums, then each row's squares added in row order. */
    const int squares_wanted = rng_below(rng, 2);
    double* acc_squares = malloc((width + GUARD_FLOATS) * sizeof(double));
    double* ref_squares = malloc(width * sizeof(double));
    double* start_squares = malloc(width * sizeof(double));
    for (size_t j = 0; j < width + GUARD_FLOATS; j++) {
      acc_squares[j] = j < width ? (double)rng_below(rng, 1000) / 7.0 : -1.0;
    }
    for (size_t j = 0; j < width; j++) {
      start_squares[j] = ref_squares[j] = acc_squares[j];
      for (size_t r = 0; r < rows; r++) {
        const double value = (double)rows_dense[r * width + j];
        ref_squares[j] += value * value;
      }
    }
    kernel(rows, width, stride, x, acc_min, acc_max, squares_wanted ? acc_squares : NULL);
    for (size_t j = 0; j < width + GUARD_FLOATS; j++) {
      const double want = j >= width ? -1.0 : squares_wanted ? ref_squares[j] : start_squares[j];
      CHECK(same_double(acc_squares[j], want),
            "%s acc_sum_squares[%zu] = %a, want %a (rows=%zu width=%zu stride=%zu, wanted %d)",
            v->name, j, acc_squares[j], want, rows, width, stride, squares_wanted);
    }
    free(acc_squares), free(ref_squares), free(start_squares);
    CHECK(guard_intact(acc_min, width) && guard_intact(acc_max, width),
          "%s wrote past its accumulators (rows=%zu width=%zu stride=%zu)", v->name, rows, width,
          stride);
    for (size_t j = 0; j < width; j++) {
      /* A NaN in the column makes min NaN; max is then unspecified (callers use min). */
      int column_has_nan = 0;
      for (size_t r = 0; r < rows; r++) column_has_nan |= isnan(rows_dense[r * width + j]);
      CHECK(same_or_both_nan(acc_min[j], ref_min[j]),
            "%s acc_min[%zu] = %a, want %a (rows=%zu width=%zu stride=%zu)", v->name, j, acc_min[j],
            ref_min[j], rows, width, stride);
      CHECK(column_has_nan || same_bits(acc_max[j], ref_max[j]),
            "%s acc_max[%zu] = %a, want %a (rows=%zu width=%zu stride=%zu)", v->name, j, acc_max[j],
            ref_max[j], rows, width, stride);
    }
    free(x), free(ref_in_min), free(ref_in_max), free(acc_min), free(acc_max);
    free(rows_dense), free(ref_min), free(ref_max), free(unused);
  }
  coverage_record(v->isa, v->via_simde, cases);
}

static void run_rscale(const test_variant* v, test_rng* rng) {
  qeq_f32_rscale_ukernel_fn* kernel = (qeq_f32_rscale_ukernel_fn*)v->fn;
  const size_t cases = cases_per_variant(v);
  for (size_t t = 0; t < cases; t++) {
    const size_t outer = rng_size_pick(rng, 9);
    const size_t channels = rng_size_pick(rng, 40);
    const size_t inner = rng_size_pick(rng, 300);
    const size_t n = outer * channels * inner;
    float* x = alloc_guarded(n);
    fill_values(rng, x, n);
    if (rng_below(rng, 2)) inject_specials(rng, x, outer, channels, inner);
    float* scales = malloc(channels * sizeof(float));
    for (size_t c = 0; c < channels; c++) scales[c] = rng_scale(rng);
    float* want = malloc(n * sizeof(float));
    const qeq_shape shape = {3, {outer, channels, inner}};
    ref_scale(&shape, x, 1, scales, want);
    const int in_place = rng_below(rng, 2);
    float* y = in_place ? x : alloc_guarded(n);
    kernel(outer, channels, inner, x, scales, y);
    CHECK(guard_intact(y, n), "%s wrote past y (outer=%zu channels=%zu inner=%zu)", v->name, outer,
          channels, inner);
    for (size_t i = 0; i < n; i++) {
      CHECK(same_or_both_nan(y[i], want[i]), "%s%s y[%zu] = %a, want %a (outer=%zu ch=%zu in=%zu)",
            v->name, in_place ? " in place" : "", i, y[i], want[i], outer, channels, inner);
    }
    if (!in_place) free(y);
    free(x), free(scales), free(want);
  }
  coverage_record(v->isa, v->via_simde, cases);
}

static void run_vscale(const test_variant* v, test_rng* rng) {
  qeq_f32_vscale_ukernel_fn* kernel = (qeq_f32_vscale_ukernel_fn*)v->fn;
  const size_t cases = cases_per_variant(v);
  for (size_t t = 0; t < cases; t++) {
    const size_t rows = rng_size_pick(rng, 20);
    const size_t width = rng_size_pick(rng, 300);
    const size_t stride = width + rng_below(rng, 6);
    const size_t n = rows * stride;
    float* x = alloc_guarded(n);
    fill_values(rng, x, n);
    if (rng_below(rng, 2)) inject_specials(rng, x, rows, stride, 1);
    float* scales = malloc(width * sizeof(float));
    for (size_t j = 0; j < width; j++) scales[j] = rng_scale(rng);
    const int in_place = rng_below(rng, 2);
    float* y = in_place ? x : alloc_guarded(n);
    float* before = malloc(n * sizeof(float));
    memcpy(before, y, n * sizeof(float));
    kernel(rows, width, stride, x, scales, y);
    CHECK(guard_intact(y, n), "%s wrote past y (rows=%zu width=%zu stride=%zu)", v->name, rows,
          width, stride);
    for (size_t r = 0; r < rows; r++) {
      for (size_t j = 0; j < stride; j++) {
        const size_t i = r * stride + j;
        if (j < width) {
          volatile float want = (in_place ? before[i] : x[i]) * scales[j];
          CHECK(same_or_both_nan(y[i], want), "%s y[%zu][%zu] = %a, want %a (width=%zu)", v->name,
                r, j, y[i], (float)want, width);
        } else {
          CHECK(same_bits(y[i], before[i]), "%s wrote row padding y[%zu][%zu] (width=%zu)", v->name,
                r, j, width);
        }
      }
    }
    if (!in_place) free(y);
    free(x), free(scales), free(before);
  }
  coverage_record(v->isa, v->via_simde, cases);
}

static void test_f32_rminmax(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_F32_RMINMAX, run_rminmax);
}
static void test_f32_vminmax(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_F32_VMINMAX, run_vminmax);
}
static void test_f32_rscale(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_F32_RSCALE, run_rscale);
}
static void test_f32_vscale(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_F32_VSCALE, run_vscale);
}

/* The families this file runs; the quantization families are run by tests/api/test_quantize.c,
 * the fused scale-and-statistics families by test_fused_kernels.c, the GEMM by
 * test_gemm_kernels.c, the indirect GEMM by test_igemm_kernels.c, the depthwise convolution by
 * test_dwconv_kernels.c and the quantized ops by test_qops_kernels.c, the 8-bit layout families by
 * test_layout_kernels.c, the byte lookup by test_qops_kernels.c. A new family needs a runner before
 * this compiles again. */
_Static_assert(QEQ_FAMILY_COUNT == 22, "a new kernel family needs a test runner");

static void test_every_registered_variant_is_tested(void** state) {
  (void)state;
  /* Every variant the library can dispatch must be in the test list. */
  size_t lib_count, test_count;
  const qeq_variant* lib = qeq_registry_variants(&lib_count);
  const test_variant* tested = test_variants(&test_count);
  for (size_t i = 0; i < lib_count; i++) {
    int found = 0;
    for (size_t j = 0; j < test_count; j++) found |= lib[i].fn == tested[j].fn;
    CHECK(found, "%s is dispatchable but not tested", lib[i].name);
  }
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("kernels", 1) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_minmax_scale_kernels: seed %llu (QEQ_TEST_SEED), scale QEQ_TEST_SCALE\n",
         (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f32_rminmax),
      cmocka_unit_test(test_f32_vminmax),
      cmocka_unit_test(test_f32_rscale),
      cmocka_unit_test(test_f32_vscale),
      cmocka_unit_test(test_every_registered_variant_is_tested),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
