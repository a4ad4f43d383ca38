/* The fused scale-and-statistics families (f32_vscale_rminmax, f32_rscale_vminmax,
 * f32_vscale_vminmax): every variant against a reference written out here (the product, then qeq's
 * min/max rule and the documented sum-of-squares order, or for rough sums their documented bound),
 * on random sizes, in place, out of place and (the vminmax families) not stored. Inputs are finite,
 * as the contract requires, with zeros of both signs, subnormals and products that overflow to
 * +-Inf, never NaN. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

static int same_double(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

/* One random problem: x (rows x width, 0-15 floats past a cache line), its scales (per
 * column or per row; row_scaled: per row first, then per column) and the products the kernel
 * must store. */
typedef struct scaled_case {
  size_t rows, width, n;
  float *x, *x_block, *row_scale, *scale, *want;
} scaled_case;

/* Row r's products: x times the row's scale (if any), rounded, then times the column or row
 * scale. Returns whether one is NaN (an infinite product times a zero scale). */
static int products_of_row(scaled_case* c, size_t r, int per_column) {
  int nan = 0;
  for (size_t j = 0; j < c->width; j++) {
    volatile float t = c->x[r * c->width + j];
    if (c->row_scale != NULL) t = t * c->row_scale[r];
    volatile float v = t * (per_column ? c->scale[j] : c->scale[r]);
    c->want[r * c->width + j] = v;
    nan |= isnan(v);
  }
  return nan;
}

static scaled_case new_case(test_rng* rng, int per_column, int row_scaled) {
  scaled_case c;
  c.rows = rng_size_pick(rng, 12);
  c.width = rng_size_pick(rng, 300);
  c.n = c.rows * c.width;
  c.x = alloc_shifted(rng, c.n, &c.x_block);
  fill_values(rng, c.x, c.n);
  const size_t scales = per_column ? c.width : c.rows;
  c.scale = malloc(scales * sizeof(float));
  for (size_t k = 0; k < scales; k++) c.scale[k] = rng_scale(rng);
  c.row_scale = NULL;
  if (row_scaled) {
    c.row_scale = malloc(c.rows * sizeof(float));
    for (size_t r = 0; r < c.rows; r++) c.row_scale[r] = rng_below(rng, 4) ? rng_scale(rng) : 1.0f;
  }
  c.want = malloc(c.n * sizeof(float));
  for (size_t r = 0; r < c.rows; r++) {
    /* An overflowed product times a zero scale is NaN, which the contract rules out. */
    if (products_of_row(&c, r, per_column)) {
      c.row_scale[r] = 1.0f;
      products_of_row(&c, r, per_column);
    }
  }
  return c;
}

static void free_case(scaled_case* c) {
  free(c->x_block), free(c->row_scale), free(c->scale), free(c->want);
}

static void check_products(const test_variant* v, const float* y, const float* want, size_t n,
                           size_t rows, size_t width) {
  CHECK(guard_intact(y, n), "%s wrote past y (rows=%zu width=%zu)", v->name, rows, width);
  for (size_t i = 0; i < n; i++) {
    CHECK(same_bits(y[i], want[i]), "%s y[%zu] = %a, want %a (rows=%zu width=%zu)", v->name, i,
          y[i], want[i], rows, width);
  }
}

static void run_vscale_rminmax(const test_variant* v, test_rng* rng) {
  qeq_f32_vscale_rminmax_ukernel_fn* kernel = (qeq_f32_vscale_rminmax_ukernel_fn*)v->fn;
  const size_t cases = variant_cases(v, 300);
  for (size_t t = 0; t < cases; t++) {
    scaled_case c = new_case(rng, 1, 1);
    const size_t rows = c.rows, width = c.width, n = c.n;
    float *x = c.x, *scale = c.scale, *want = c.want, *y_block = NULL;
    float* want_min = malloc(rows * sizeof(float));
    float* want_max = malloc(rows * sizeof(float));
    const qeq_shape shape = {2, {rows, width}};
    ref_channel_minmax(&shape, want, 0, want_min, want_max);
    float* min = alloc_guarded(rows);
    float* max = alloc_guarded(rows);
    double* squares = malloc((rows + GUARD_FLOATS) * sizeof(double));
    for (size_t r = 0; r < rows + GUARD_FLOATS; r++) squares[r] = -1.0;
    float* rough = malloc((rows + GUARD_FLOATS) * sizeof(float));
    for (size_t r = 0; r < rows + GUARD_FLOATS; r++) rough[r] = -1.0f;
    const int in_place = rng_below(rng, 2);
    float* y = in_place ? x : alloc_shifted(rng, n, &y_block);
    /* 0: exact sums of squares, 1: rough ones, 2: none. */
    const unsigned sums = (unsigned)rng_below(rng, 3);
    kernel(rows, width, x, c.row_scale, scale, y, min, max, sums == 0 ? squares : NULL,
           sums == 1 ? rough : NULL);
    check_products(v, y, want, n, rows, width);
    CHECK(guard_intact(min, rows) && guard_intact(max, rows), "%s wrote past min/max", v->name);
    for (size_t r = 0; r < rows; r++) {
      CHECK(same_bits(min[r], want_min[r]) && same_bits(max[r], want_max[r]),
            "%s row %zu: min %a max %a, want %a %a (width=%zu)", v->name, r, min[r], max[r],
            want_min[r], want_max[r], width);
      /* kernels/common/sum-squares.h: element j into lane j % 32, lanes folded 16, 8, 4, 2, 1. */
      double lane[32] = {0};
      for (size_t j = 0; j < width; j++) {
        const double e = (double)want[r * width + j];
        lane[j % 32] += e * e;
      }
      for (size_t half = 16; half >= 1; half /= 2) {
        for (size_t l = 0; l < half; l++) lane[l] += lane[l + half];
      }
      if (sums == 0) {
        CHECK(same_double(squares[r], lane[0]), "%s sum_squares[%zu] = %a, want %a (width=%zu)",
              v->name, r, squares[r], lane[0], width);
      } else if (sums == 1) {
        /* ukernels.h's bound on the exact sum, which lane[0] approaches far closer. */
        const double w = (double)width, gamma = w * 0x1p-24 / (1.0 - w * 0x1p-24);
        const double slack = gamma * lane[0] + w * 0x1p-52 * lane[0] + w * 0x1p-149;
        const int ok = isinf(rough[r]) ? rough[r] > 0.0f && lane[0] + slack >= FLT_MAX
                                       : fabs((double)rough[r] - lane[0]) <= slack;
        CHECK(ok, "%s rough_squares[%zu] = %a, exact %a (width=%zu)", v->name, r, (double)rough[r],
              lane[0], width);
      }
    }
    for (size_t r = sums == 1 ? rows : 0; r < rows + GUARD_FLOATS; r++) {
      CHECK(rough[r] == -1.0f, "%s wrote rough_squares[%zu] unasked or past its end", v->name, r);
    }
    for (size_t r = sums == 0 ? rows : 0; r < rows + GUARD_FLOATS; r++) {
      CHECK(squares[r] == -1.0, "%s wrote sum_squares[%zu] unasked or past its end", v->name, r);
    }
    free(y_block);
    free_case(&c);
    free(want_min), free(want_max), free(min), free(max);
    free(squares), free(rough);
  }
  coverage_record_family(QEQ_FAMILY_F32_VSCALE_RMINMAX, v->isa, v->via_simde, cases);
}

/* f32_rscale_vminmax, or f32_vscale_vminmax when per_column (the same signature). */
static void run_scale_vminmax(const test_variant* v, test_rng* rng, int per_column) {
  qeq_f32_rscale_vminmax_ukernel_fn* kernel = (qeq_f32_rscale_vminmax_ukernel_fn*)v->fn;
  const size_t cases = variant_cases(v, 300);
  for (size_t t = 0; t < cases; t++) {
    scaled_case c = new_case(rng, per_column, 0);
    const size_t rows = c.rows, width = c.width, n = c.n;
    float *x = c.x, *scale = c.scale, *want = c.want, *y_block = NULL;
    /* Starting accumulators (finite or the empty set's +-Inf) as row 0 of the reference. */
    float* acc_min = alloc_guarded(width);
    float* acc_max = alloc_guarded(width);
    float* ref_in_min = malloc((rows + 1) * width * sizeof(float));
    float* ref_in_max = malloc((rows + 1) * width * sizeof(float));
    for (size_t j = 0; j < width; j++) {
      ref_in_min[j] = acc_min[j] = rng_below(rng, 4) ? rng_value(rng) : INFINITY;
      ref_in_max[j] = acc_max[j] = rng_below(rng, 4) ? rng_value(rng) : -INFINITY;
    }
    memcpy(ref_in_min + width, want, n * sizeof(float));
    memcpy(ref_in_max + width, want, n * sizeof(float));
    float* want_min = malloc(width * sizeof(float));
    float* want_max = malloc(width * sizeof(float));
    float* unused = malloc(width * sizeof(float));
    const qeq_shape shape = {2, {rows + 1, width}};
    ref_channel_minmax(&shape, ref_in_min, 1, want_min, unused);
    ref_channel_minmax(&shape, ref_in_max, 1, unused, want_max);
    const int squares_wanted = rng_below(rng, 2);
    double* squares = malloc((width + GUARD_FLOATS) * sizeof(double));
    double* want_squares = malloc(width * sizeof(double));
    for (size_t j = 0; j < width + GUARD_FLOATS; j++) {
      squares[j] = j < width ? (double)rng_below(rng, 1000) / 7.0 : -1.0;
    }
    for (size_t j = 0; j < width; j++) {
      want_squares[j] = squares[j];
      for (size_t r = 0; squares_wanted && r < rows; r++) {
        const double e = (double)want[r * width + j];
        want_squares[j] += e * e;
      }
    }
    /* 0: in place, 1: out of place, 2: not stored (x must come back as it was). */
    const unsigned where = (unsigned)rng_below(rng, 3);
    float* y = where == 0 ? x : where == 1 ? alloc_shifted(rng, n, &y_block) : NULL;
    float* x_before = malloc(n * sizeof(float));
    memcpy(x_before, x, n * sizeof(float));
    kernel(rows, width, x, scale, y, acc_min, acc_max, squares_wanted ? squares : NULL);
    if (y != NULL) {
      check_products(v, y, want, n, rows, width);
    } else {
      CHECK(memcmp(x, x_before, n * sizeof(float)) == 0 && guard_intact(x, n),
            "%s with y NULL wrote to x (rows=%zu width=%zu)", v->name, rows, width);
    }
    free(x_before);
    CHECK(guard_intact(acc_min, width) && guard_intact(acc_max, width),
          "%s wrote past its accumulators", v->name);
    for (size_t j = 0; j < width + GUARD_FLOATS; j++) {
      const double expected = j < width ? want_squares[j] : -1.0;
      CHECK(same_double(squares[j], expected),
            "%s acc_sum_squares[%zu] = %a, want %a (rows=%zu width=%zu, wanted %d)", v->name, j,
            squares[j], expected, rows, width, squares_wanted);
    }
    for (size_t j = 0; j < width; j++) {
      CHECK(same_bits(acc_min[j], want_min[j]) && same_bits(acc_max[j], want_max[j]),
            "%s column %zu: min %a max %a, want %a %a (rows=%zu width=%zu)", v->name, j, acc_min[j],
            acc_max[j], want_min[j], want_max[j], rows, width);
    }
    free(y_block);
    free_case(&c);
    free(acc_min), free(acc_max), free(ref_in_min);
    free(ref_in_max), free(want_min), free(want_max), free(unused), free(squares);
    free(want_squares);
  }
  coverage_record_family(per_column ? QEQ_FAMILY_F32_VSCALE_VMINMAX : QEQ_FAMILY_F32_RSCALE_VMINMAX,
                         v->isa, v->via_simde, cases);
}

static void run_rscale_vminmax(const test_variant* v, test_rng* rng) {
  run_scale_vminmax(v, rng, 0);
}

static void run_vscale_vminmax(const test_variant* v, test_rng* rng) {
  run_scale_vminmax(v, rng, 1);
}

static void test_f32_vscale_rminmax(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_F32_VSCALE_RMINMAX, run_vscale_rminmax);
}

static void test_f32_rscale_vminmax(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_F32_RSCALE_VMINMAX, run_rscale_vminmax);
}

static void test_f32_vscale_vminmax(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_F32_VSCALE_VMINMAX, run_vscale_vminmax);
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("fused_kernels", 1) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_fused_kernels: seed %llu (QEQ_TEST_SEED), scale QEQ_TEST_SCALE\n",
         (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f32_vscale_rminmax),
      cmocka_unit_test(test_f32_rscale_vminmax),
      cmocka_unit_test(test_f32_vscale_vminmax),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
