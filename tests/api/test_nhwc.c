/* qeq/nhwc.h's 8-bit entry points: NCHW <-> NHWC and the channel shuffle against index
 * arithmetic written here, under every ISA cap the CPU has; bad input refused with a message
 * naming the function and nothing written. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

static size_t pick(test_rng* rng) {
  static const size_t sizes[] = {1, 2, 3, 7, 16, 17, 33, 58, 64, 65};
  return rng_below(rng, 2) ? sizes[rng_below(rng, 10)] : 1 + rng_below(rng, 40);
}

static void test_nchw_nhwc_x8(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed());
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    for (size_t iter = 0; iter < test_iterations(60); iter++) {
      const size_t n = 1 + rng_below(&rng, 3), c = pick(&rng), h = pick(&rng), w = pick(&rng);
      const size_t count = n * c * h * w;
      uint8_t* x = malloc(count);
      uint8_t* y = malloc(count);
      uint8_t* back = malloc(count);
      for (size_t i = 0; i < count; i++) x[i] = (uint8_t)rng_next(&rng);
      CHECK(qeq_nchw_to_nhwc_x8(n, c, h, w, x, y) == QEQ_OK, "%s", qeq_last_error());
      int ok = 1;
      for (size_t b = 0; b < n && ok; b++) {
        for (size_t ch = 0; ch < c && ok; ch++) {
          for (size_t p = 0; p < h * w && ok; p++) {
            ok = y[(b * h * w + p) * c + ch] == x[(b * c + ch) * h * w + p];
            CHECK(ok, "%s: nchw_to_nhwc %zux%zux%zux%zu, n %zu c %zu pixel %zu",
                  qeq_isa_name(isas[t]), n, c, h, w, b, ch, p);
          }
        }
      }
      CHECK(qeq_nhwc_to_nchw_x8(n, c, h, w, y, back) == QEQ_OK, "%s", qeq_last_error());
      CHECK(memcmp(back, x, count) == 0, "%s: nhwc_to_nchw %zux%zux%zux%zu is not the inverse",
            qeq_isa_name(isas[t]), n, c, h, w);
      free(x), free(y), free(back);
    }
  }
  qeq_clear_isa_cap();
}

static void test_channel_shuffle(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 1);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    for (size_t iter = 0; iter < test_iterations(100); iter++) {
      const size_t pixels = 1 + rng_below(&rng, 50);
      const size_t groups = rng_below(&rng, 2) ? 2 : 1 + rng_below(&rng, 9);
      const size_t cpg = pick(&rng), channels = groups * cpg;
      uint8_t* x = malloc(pixels * channels);
      uint8_t* y = malloc(pixels * channels);
      for (size_t i = 0; i < pixels * channels; i++) x[i] = (uint8_t)rng_next(&rng);
      CHECK(qeq_x8_channel_shuffle(pixels, groups, cpg, x, y) == QEQ_OK, "%s", qeq_last_error());
      int ok = 1;
      for (size_t p = 0; p < pixels && ok; p++) {
        for (size_t g = 0; g < groups && ok; g++) {
          for (size_t k = 0; k < cpg && ok; k++) {
            ok = y[p * channels + k * groups + g] == x[p * channels + g * cpg + k];
            CHECK(ok, "%s: shuffle %zu pixels, %zu groups of %zu: pixel %zu group %zu index %zu",
                  qeq_isa_name(isas[t]), pixels, groups, cpg, p, g, k);
          }
        }
      }
      free(x), free(y);
    }
  }
  qeq_clear_isa_cap();
}

static int untouched(const uint8_t* y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (y[i] != 0xEE) return 0;
  }
  return 1;
}

static void test_bad_input(void** state) {
  (void)state;
  uint8_t x[64] = {0}, y[64];
  memset(y, 0xEE, sizeof y);
  const size_t big = (size_t)PTRDIFF_MAX / 2 + 1;
  CHECK(qeq_nchw_to_nhwc_x8(1, 2, 3, 4, NULL, y) == QEQ_ERROR_INVALID_ARGUMENT, "NULL x");
  CHECK(strstr(qeq_last_error(), "qeq_nchw_to_nhwc_x8") && strstr(qeq_last_error(), "x"), "%s",
        qeq_last_error());
  CHECK(qeq_nhwc_to_nchw_x8(1, 2, 3, 4, x, NULL) == QEQ_ERROR_INVALID_ARGUMENT, "NULL y");
  CHECK(strstr(qeq_last_error(), "qeq_nhwc_to_nchw_x8") != NULL, "%s", qeq_last_error());
  CHECK(qeq_nchw_to_nhwc_x8(1, 0, 3, 4, x, y) == QEQ_ERROR_INVALID_ARGUMENT, "0 channels");
  CHECK(strstr(qeq_last_error(), "channels") != NULL, "%s", qeq_last_error());
  /* products beyond size_t, and beyond PTRDIFF_MAX bytes but within size_t */
  CHECK(qeq_nchw_to_nhwc_x8(SIZE_MAX, 2, 1, 1, x, y) == QEQ_ERROR_SIZE_OVERFLOW, "size_t");
  CHECK(qeq_nhwc_to_nchw_x8(1, 1, big, 2, x, y) == QEQ_ERROR_SIZE_OVERFLOW, "ptrdiff_t");
  CHECK(strstr(qeq_last_error(), "width") != NULL, "%s", qeq_last_error());
  CHECK(qeq_nchw_to_nhwc_x8(1, 2, 3, 4, x, x + 5) == QEQ_ERROR_INVALID_ARGUMENT, "overlap");
  CHECK(strstr(qeq_last_error(), "overlaps") != NULL, "%s", qeq_last_error());
  CHECK(qeq_x8_channel_shuffle(4, 2, 8, NULL, y) == QEQ_ERROR_INVALID_ARGUMENT, "shuffle NULL x");
  CHECK(strstr(qeq_last_error(), "qeq_x8_channel_shuffle") != NULL, "%s", qeq_last_error());
  CHECK(qeq_x8_channel_shuffle(4, 0, 8, x, y) == QEQ_ERROR_INVALID_ARGUMENT, "0 groups");
  CHECK(strstr(qeq_last_error(), "groups") != NULL, "%s", qeq_last_error());
  CHECK(qeq_x8_channel_shuffle(SIZE_MAX / 2, 2, 3, x, y) == QEQ_ERROR_SIZE_OVERFLOW, "size_t");
  CHECK(qeq_x8_channel_shuffle(big, 2, 1, x, y) == QEQ_ERROR_SIZE_OVERFLOW, "ptrdiff_t");
  CHECK(qeq_x8_channel_shuffle(4, 2, 8, x, x + 1) == QEQ_ERROR_INVALID_ARGUMENT, "overlap");
  CHECK(untouched(y, sizeof y), "y written on failure");
}

int main(void) {
  printf("test_nhwc: seed %llu (QEQ_TEST_SEED)\n", (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nchw_nhwc_x8),
      cmocka_unit_test(test_channel_shuffle),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
