/* Every x8_transpose and x8_zip2 variant against the contracts of kernels/ukernels.h written out
 * here as index arithmetic: exact bytes, odd sizes and strides (tile edges of 16, 32 and 64),
 * nothing written outside the described bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

enum { GUARD = 0xA5, GUARD_BYTES = 64 };

static void fill_bytes(test_rng* rng, uint8_t* x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (uint8_t)rng_next(rng);
}

/* Sizes around the tile edges: small, a multiple of a vector width +- 1, or random. */
static size_t pick_extent(test_rng* rng) {
  static const size_t edges[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 80, 96, 129};
  switch (rng_below(rng, 3)) {
    case 0: return edges[rng_below(rng, sizeof edges / sizeof edges[0])];
    case 1: return rng_size_pick(rng, 200);
    default: return 1 + rng_below(rng, 150);
  }
}

static void run_transpose(const test_variant* v, test_rng* rng) {
  qeq_x8_transpose_ukernel_fn* kernel = (qeq_x8_transpose_ukernel_fn*)v->fn;
  size_t cases = 0;
  for (size_t iter = 0; iter < variant_cases(v, 300); iter++, cases++) {
    const size_t rows = pick_extent(rng), cols = pick_extent(rng);
    const size_t x_stride = cols + (rng_below(rng, 2) ? rng_below(rng, 20) : 0);
    const size_t y_stride = rows + (rng_below(rng, 2) ? rng_below(rng, 20) : 0);
    const size_t x_bytes = (rows - 1) * x_stride + cols;
    const size_t y_bytes = (cols - 1) * y_stride + rows;
    uint8_t* x = malloc(x_bytes);
    uint8_t* y = malloc(y_bytes + GUARD_BYTES);
    fill_bytes(rng, x, x_bytes);
    memset(y, GUARD, y_bytes + GUARD_BYTES);
    kernel(rows, cols, x, x_stride, y, y_stride);
    for (size_t j = 0; j < cols; j++) {
      for (size_t i = 0; i < y_stride && (j + 1 < cols || i < rows); i++) {
        const uint8_t want = i < rows ? x[i * x_stride + j] : GUARD;
        const uint8_t got = y[j * y_stride + i];
        CHECK(got == want, "%s: %zu x %zu (strides %zu, %zu), y[%zu][%zu] = %d, want %d", v->name,
              rows, cols, x_stride, y_stride, j, i, got, want);
        if (got != want) goto next;
      }
    }
    for (size_t k = y_bytes; k < y_bytes + GUARD_BYTES; k++) {
      CHECK(y[k] == GUARD, "%s: %zu x %zu wrote past the end", v->name, rows, cols);
    }
  next:
    free(x), free(y);
  }
  coverage_record_family(QEQ_FAMILY_X8_TRANSPOSE, v->isa, v->via_simde, cases);
}

static void run_zip2(const test_variant* v, test_rng* rng) {
  qeq_x8_zip2_ukernel_fn* kernel = (qeq_x8_zip2_ukernel_fn*)v->fn;
  size_t cases = 0;
  for (size_t iter = 0; iter < variant_cases(v, 300); iter++, cases++) {
    const size_t n = rng_below(rng, 8) == 0 ? 1 + rng_below(rng, 1000) : pick_extent(rng);
    uint8_t* ab = malloc(2 * n);
    uint8_t* y = malloc(2 * n + GUARD_BYTES);
    fill_bytes(rng, ab, 2 * n);
    memset(y, GUARD, 2 * n + GUARD_BYTES);
    kernel(n, ab, ab + n, y);
    for (size_t k = 0; k < n; k++) {
      CHECK(y[2 * k] == ab[k] && y[2 * k + 1] == ab[n + k],
            "%s: n %zu, pair %zu: %d %d, want %d %d", v->name, n, k, y[2 * k], y[2 * k + 1], ab[k],
            ab[n + k]);
    }
    for (size_t k = 2 * n; k < 2 * n + GUARD_BYTES; k++) {
      CHECK(y[k] == GUARD, "%s: n %zu wrote past the end", v->name, n);
    }
    free(ab), free(y);
  }
  coverage_record_family(QEQ_FAMILY_X8_ZIP2, v->isa, v->via_simde, cases);
}

static void test_x8_transpose(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_X8_TRANSPOSE, run_transpose);
}
static void test_x8_zip2(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_X8_ZIP2, run_zip2);
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("8-bit layout kernels", 1) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_layout_kernels: seed %llu (QEQ_TEST_SEED), scale QEQ_TEST_SCALE\n",
         (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_x8_transpose),
      cmocka_unit_test(test_x8_zip2),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
