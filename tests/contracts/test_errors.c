/* Bad input: every public call returns its documented status, names the problem in
 * qeq_last_error(), and writes nothing (outputs keep a sentinel, inputs keep their bits). */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/test-support.h"

#define CHANNELS 6
#define NUMEL (4 * CHANNELS * 5)

static const float sentinel = -12345.5f;

typedef struct buffers {
  qeq_shape shape; /* (4, 6, 5) */
  float x[NUMEL];
  float x_copy[NUMEL];
  float out_a[CHANNELS];
  float out_b[CHANNELS];
  float scales[CHANNELS];
  float y[NUMEL];
} buffers;

static void buffers_init(buffers* b) {
  const size_t dims[3] = {4, CHANNELS, 5};
  assert_int_equal(qeq_shape_init(&b->shape, 3, dims), QEQ_OK);
  for (size_t i = 0; i < NUMEL; i++) {
    b->x[i] = (float)i * 0.25f - 7.0f;
    b->y[i] = sentinel;
  }
  memcpy(b->x_copy, b->x, sizeof b->x);
  for (size_t c = 0; c < CHANNELS; c++) {
    b->out_a[c] = sentinel;
    b->out_b[c] = sentinel;
    b->scales[c] = 0.5f + (float)c;
  }
}

static void expect_untouched(const buffers* b) {
  CHECK(memcmp(b->x, b->x_copy, sizeof b->x) == 0, "input x was modified");
  for (size_t c = 0; c < CHANNELS; c++) {
    CHECK(same_bits(b->out_a[c], sentinel) && same_bits(b->out_b[c], sentinel),
          "output [%zu] was written on failure", c);
  }
  for (size_t i = 0; i < NUMEL; i++) CHECK(same_bits(b->y[i], sentinel), "y[%zu] written", i);
}

/* The status, and a message naming `word` (and the function, when given). */
static void expect_failure(qeq_status got, qeq_status want, const char* fn, const char* word) {
  CHECK(got == want, "%s: status %s, want %s (message: %s)", fn ? fn : "call",
        qeq_status_string(got), qeq_status_string(want), qeq_last_error());
  const char* message = qeq_last_error();
  CHECK(strstr(message, word) != NULL, "message \"%s\" does not name \"%s\"", message, word);
  if (fn != NULL) CHECK(strstr(message, fn) != NULL, "message \"%s\" lacks \"%s\"", message, fn);
}

/* Runs each public tensor function with one argument broken and the rest valid. */
static void test_null_pointers(void** state) {
  (void)state;
  buffers b;
  buffers_init(&b);
  expect_failure(qeq_channel_minmax_f32(NULL, b.x, 1, b.out_a, b.out_b), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_channel_minmax_f32", "shape");
  expect_failure(qeq_channel_minmax_f32(&b.shape, NULL, 1, b.out_a, b.out_b),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_minmax_f32", "x is NULL");
  expect_failure(qeq_channel_minmax_f32(&b.shape, b.x, 1, NULL, b.out_b),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_minmax_f32", "min_out");
  expect_failure(qeq_channel_minmax_f32(&b.shape, b.x, 1, b.out_a, NULL),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_minmax_f32", "max_out");
  expect_failure(qeq_channel_range_f32(NULL, b.x, 0, b.out_a), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_channel_range_f32", "shape");
  expect_failure(qeq_channel_range_f32(&b.shape, NULL, 0, b.out_a), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_channel_range_f32", "x is NULL");
  expect_failure(qeq_channel_range_f32(&b.shape, b.x, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_channel_range_f32", "range_out");
  expect_failure(qeq_channel_absmax_f32(&b.shape, b.x, 2, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_channel_absmax_f32", "absmax_out");
  expect_failure(qeq_tensor_minmax_f32(NULL, b.x, b.out_a, b.out_b), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_tensor_minmax_f32", "shape");
  expect_failure(qeq_tensor_minmax_f32(&b.shape, NULL, b.out_a, b.out_b),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_tensor_minmax_f32", "x is NULL");
  expect_failure(qeq_tensor_minmax_f32(&b.shape, b.x, NULL, b.out_b), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_tensor_minmax_f32", "min_out");
  expect_failure(qeq_tensor_minmax_f32(&b.shape, b.x, b.out_a, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_tensor_minmax_f32", "max_out");
  expect_failure(qeq_scale_channels_f32(NULL, b.x, 1, b.scales, b.y), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_scale_channels_f32", "shape");
  expect_failure(qeq_scale_channels_f32(&b.shape, NULL, 1, b.scales, b.y),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_scale_channels_f32", "x is NULL");
  expect_failure(qeq_scale_channels_f32(&b.shape, b.x, 1, NULL, b.y), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_scale_channels_f32", "scales is NULL");
  expect_failure(qeq_scale_channels_f32(&b.shape, b.x, 1, b.scales, NULL),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_scale_channels_f32", "y is NULL");
  expect_untouched(&b);
}

static void test_bad_ndim(void** state) {
  (void)state;
  buffers b;
  buffers_init(&b);
  const size_t ndims[] = {0, QEQ_MAX_DIMS + 1, SIZE_MAX};
  for (size_t i = 0; i < sizeof ndims / sizeof ndims[0]; i++) {
    qeq_shape bad = b.shape;
    bad.ndim = ndims[i];
    expect_failure(qeq_channel_minmax_f32(&bad, b.x, 0, b.out_a, b.out_b),
                   QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_minmax_f32", "ndim");
    expect_failure(qeq_channel_range_f32(&bad, b.x, 0, b.out_a), QEQ_ERROR_INVALID_ARGUMENT,
                   "qeq_channel_range_f32", "ndim");
    expect_failure(qeq_tensor_minmax_f32(&bad, b.x, b.out_a, b.out_b), QEQ_ERROR_INVALID_ARGUMENT,
                   "qeq_tensor_minmax_f32", "ndim");
    expect_failure(qeq_scale_channels_f32(&bad, b.x, 0, b.scales, b.y), QEQ_ERROR_INVALID_ARGUMENT,
                   "qeq_scale_channels_f32", "ndim");
  }
  expect_untouched(&b);
}

static void test_axis_out_of_range(void** state) {
  (void)state;
  buffers b;
  buffers_init(&b);
  const int axes[] = {3, -4, 100, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof axes / sizeof axes[0]; i++) {
    expect_failure(qeq_channel_minmax_f32(&b.shape, b.x, axes[i], b.out_a, b.out_b),
                   QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_minmax_f32", "axis");
    expect_failure(qeq_channel_range_f32(&b.shape, b.x, axes[i], b.out_a),
                   QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_range_f32", "axis");
    expect_failure(qeq_channel_absmax_f32(&b.shape, b.x, axes[i], b.out_a),
                   QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_absmax_f32", "axis");
    expect_failure(qeq_scale_channels_f32(&b.shape, b.x, axes[i], b.scales, b.y),
                   QEQ_ERROR_INVALID_ARGUMENT, "qeq_scale_channels_f32", "axis");
  }
  /* The boundary values are valid. */
  assert_int_equal(qeq_channel_range_f32(&b.shape, b.x, -3, b.out_a), QEQ_OK);
  assert_int_equal(qeq_channel_range_f32(&b.shape, b.x, 2, b.out_b), QEQ_OK);
}

static void test_zero_sized_dimension(void** state) {
  (void)state;
  buffers b;
  buffers_init(&b);
  const size_t dims[3] = {4, 0, 5};
  qeq_shape empty;
  assert_int_equal(qeq_shape_init(&empty, 3, dims), QEQ_OK);
  expect_failure(qeq_channel_minmax_f32(&empty, b.x, 0, b.out_a, b.out_b),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_minmax_f32", "zero-sized");
  expect_failure(qeq_channel_range_f32(&empty, b.x, 1, b.out_a), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_channel_range_f32", "zero-sized");
  expect_failure(qeq_tensor_minmax_f32(&empty, b.x, b.out_a, b.out_b), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_tensor_minmax_f32", "zero-sized");
  expect_untouched(&b);
  /* Scaling nothing is a successful no-op that still rejects NULL. */
  assert_int_equal(qeq_scale_channels_f32(&empty, b.x, 1, b.scales, b.y), QEQ_OK);
  expect_failure(qeq_scale_channels_f32(&empty, b.x, 1, NULL, b.y), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_scale_channels_f32", "scales");
  expect_untouched(&b);
}

static void test_size_overflow(void** state) {
  (void)state;
  buffers b;
  buffers_init(&b);
  /* Element count overflows size_t, and element count fits but bytes do not. */
  const size_t wrap[3] = {SIZE_MAX / 2, 3, 1};
  const size_t too_many_bytes[2] = {(size_t)PTRDIFF_MAX / 4 + 1, 1};
  qeq_shape shape = {3, {SIZE_MAX / 2, 3, 1}};
  qeq_shape untouched = b.shape;
  expect_failure(qeq_shape_init(&untouched, 3, wrap), QEQ_ERROR_SIZE_OVERFLOW, "qeq_shape_init",
                 "overflow");
  CHECK(memcmp(&untouched, &b.shape, sizeof untouched) == 0, "shape written on failure");
  expect_failure(qeq_shape_init(&untouched, 2, too_many_bytes), QEQ_ERROR_SIZE_OVERFLOW,
                 "qeq_shape_init", "bytes");
  size_t numel = 77;
  expect_failure(qeq_shape_numel(&shape, &numel), QEQ_ERROR_SIZE_OVERFLOW, "qeq_shape_numel",
                 "overflow");
  CHECK(numel == 77, "numel written on failure");
  expect_failure(qeq_channel_minmax_f32(&shape, b.x, 1, b.out_a, b.out_b), QEQ_ERROR_SIZE_OVERFLOW,
                 "qeq_channel_minmax_f32", "overflow");
  expect_failure(qeq_channel_range_f32(&shape, b.x, 0, b.out_a), QEQ_ERROR_SIZE_OVERFLOW,
                 "qeq_channel_range_f32", "overflow");
  expect_failure(qeq_tensor_minmax_f32(&shape, b.x, b.out_a, b.out_b), QEQ_ERROR_SIZE_OVERFLOW,
                 "qeq_tensor_minmax_f32", "overflow");
  expect_failure(qeq_scale_channels_f32(&shape, b.x, 2, b.scales, b.y), QEQ_ERROR_SIZE_OVERFLOW,
                 "qeq_scale_channels_f32", "overflow");
  /* A zero dim elsewhere does not excuse an overflow check failure, nor cause one. */
  const size_t zero_and_huge[3] = {SIZE_MAX, SIZE_MAX, 0};
  assert_int_equal(qeq_shape_init(&shape, 3, zero_and_huge), QEQ_OK);
  assert_int_equal(qeq_shape_numel(&shape, &numel), QEQ_OK);
  assert_int_equal(numel, 0);
  expect_untouched(&b);
}

static void test_shape_init_arguments(void** state) {
  (void)state;
  qeq_shape shape = {2, {3, 4}};
  const qeq_shape before = shape;
  const size_t dims[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  expect_failure(qeq_shape_init(NULL, 2, dims), QEQ_ERROR_INVALID_ARGUMENT, "qeq_shape_init",
                 "shape");
  expect_failure(qeq_shape_init(&shape, 2, NULL), QEQ_ERROR_INVALID_ARGUMENT, "qeq_shape_init",
                 "dims");
  expect_failure(qeq_shape_init(&shape, 0, dims), QEQ_ERROR_INVALID_ARGUMENT, "qeq_shape_init",
                 "ndim");
  expect_failure(qeq_shape_init(&shape, 9, dims), QEQ_ERROR_INVALID_ARGUMENT, "qeq_shape_init",
                 "ndim");
  CHECK(memcmp(&shape, &before, sizeof shape) == 0, "shape written on failure");
  expect_failure(qeq_shape_numel(&shape, NULL), QEQ_ERROR_INVALID_ARGUMENT, "qeq_shape_numel",
                 "numel");
  expect_failure(qeq_shape_numel(NULL, (size_t[1]){0}), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_shape_numel", "shape");
}

static void test_aliasing(void** state) {
  (void)state;
  buffers b;
  buffers_init(&b);
  /* Outputs inside the input, or on top of each other. */
  expect_failure(qeq_channel_minmax_f32(&b.shape, b.x, 1, b.x + 3, b.out_b),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_minmax_f32", "min_out overlaps x");
  expect_failure(qeq_channel_minmax_f32(&b.shape, b.x, 1, b.out_a, b.out_a + 2),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_minmax_f32", "overlap");
  expect_failure(qeq_channel_range_f32(&b.shape, b.x, 1, b.x + NUMEL - 1),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_channel_range_f32", "range_out overlaps x");
  expect_failure(qeq_tensor_minmax_f32(&b.shape, b.x, b.out_a, b.out_a), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_tensor_minmax_f32", "same");
  expect_untouched(&b);
  /* Scaling: y may equal x, but not partially overlap it or overlap the scales. */
  float both[NUMEL + 1];
  memcpy(both, b.x, sizeof b.x);
  both[NUMEL] = sentinel;
  expect_failure(qeq_scale_channels_f32(&b.shape, both, 1, b.scales, both + 1),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_scale_channels_f32", "partially overlaps x");
  CHECK(memcmp(both, b.x, sizeof b.x) == 0 && same_bits(both[NUMEL], sentinel),
        "buffer written on failure");
  float scales_in_y[NUMEL];
  memcpy(scales_in_y, b.scales, sizeof b.scales);
  for (size_t i = CHANNELS; i < NUMEL; i++) scales_in_y[i] = sentinel;
  expect_failure(qeq_scale_channels_f32(&b.shape, b.x, 1, scales_in_y, scales_in_y),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_scale_channels_f32", "y overlaps scales");
  CHECK(memcmp(scales_in_y, b.scales, sizeof b.scales) == 0, "scales written on failure");
  expect_untouched(&b);
}

static void test_non_finite_scales(void** state) {
  (void)state;
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    for (size_t where = 0; where < CHANNELS; where += CHANNELS - 1) {
      buffers b;
      buffers_init(&b);
      b.scales[where] = bad[i];
      char word[32];
      snprintf(word, sizeof word, "scales[%zu]", where);
      expect_failure(qeq_scale_channels_f32(&b.shape, b.x, 1, b.scales, b.y), QEQ_ERROR_NON_FINITE,
                     "qeq_scale_channels_f32", word);
      /* In place: x itself must survive. */
      expect_failure(qeq_scale_channels_f32(&b.shape, b.x, 1, b.scales, b.x), QEQ_ERROR_NON_FINITE,
                     "qeq_scale_channels_f32", word);
      expect_untouched(&b);
    }
  }
}

static void test_isa_cap_errors(void** state) {
  (void)state;
  const qeq_isa before = qeq_isa_effective();
  const char* variant_before = qeq_kernel_variant_name("f32_rminmax");
  int refused = 0;
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    if (qeq_isa_detected((qeq_isa)i)) continue;
    expect_failure(qeq_set_isa_cap((qeq_isa)i), QEQ_ERROR_UNSUPPORTED, NULL, qeq_isa_name(i));
    CHECK(qeq_isa_effective() == before, "a refused cap changed the effective ISA");
    CHECK(strcmp(qeq_kernel_variant_name("f32_rminmax"), variant_before) == 0,
          "a refused cap changed the selected variant");
    refused++;
  }
  CHECK(refused > 0, "every ISA level detected: no foreign level to refuse?");
  expect_failure(qeq_set_isa_cap((qeq_isa)QEQ_ISA_COUNT), QEQ_ERROR_INVALID_ARGUMENT, NULL, "isa");
  expect_failure(qeq_set_isa_cap((qeq_isa)-1), QEQ_ERROR_INVALID_ARGUMENT, NULL, "isa");
  CHECK(qeq_isa_effective() == before, "an invalid cap changed the effective ISA");
  qeq_isa parsed = QEQ_ISA_AVX2;
  expect_failure(qeq_isa_from_name("AVX2", &parsed), QEQ_ERROR_INVALID_ARGUMENT, NULL, "AVX2");
  expect_failure(qeq_isa_from_name(NULL, &parsed), QEQ_ERROR_INVALID_ARGUMENT, NULL, "name");
  expect_failure(qeq_isa_from_name("scalar", NULL), QEQ_ERROR_INVALID_ARGUMENT, NULL, "isa");
  CHECK(parsed == QEQ_ISA_AVX2, "isa written on failure");
  CHECK(qeq_isa_name((qeq_isa)QEQ_ISA_COUNT) == NULL, "name of an invalid isa");
  CHECK(qeq_kernel_family_count() == QEQ_FAMILY_COUNT, "family count");
  CHECK(qeq_kernel_family_name(QEQ_FAMILY_COUNT) == NULL, "invalid family");
  CHECK(qeq_kernel_family_name(SIZE_MAX) == NULL, "invalid family");
  CHECK(qeq_kernel_variant_name(NULL) == NULL, "NULL family");
  CHECK(qeq_kernel_variant_name("f32_rminmax_") == NULL, "unknown family");
  CHECK(qeq_kernel_variant_name("") == NULL, "empty family name");
}

static void test_status_strings(void** state) {
  (void)state;
  const char* seen[QEQ_ERROR_SIZE_OVERFLOW + 1];
  for (int s = QEQ_OK; s <= QEQ_ERROR_SIZE_OVERFLOW; s++) {
    seen[s] = qeq_status_string((qeq_status)s);
    CHECK(seen[s] != NULL && seen[s][0] != '\0', "status %d has no name", s);
    CHECK(strcmp(seen[s], "unknown status") != 0, "status %d is unnamed", s);
    for (int t = 0; t < s; t++) CHECK(strcmp(seen[s], seen[t]) != 0, "statuses share a name");
  }
  CHECK(strcmp(qeq_status_string((qeq_status)999), "unknown status") == 0, "out-of-range status");
}

/* The last error is per thread: another thread's failure does not replace ours. */
static void* fail_in_thread(void* arg) {
  (void)arg;
  (void)qeq_channel_range_f32(NULL, NULL, 0, NULL);
  return (void*)(uintptr_t)(strstr(qeq_last_error(), "shape is NULL") != NULL);
}

static void test_last_error_is_per_thread(void** state) {
  (void)state;
  buffers b;
  buffers_init(&b);
  (void)qeq_channel_range_f32(&b.shape, b.x, 17, b.out_a);
  char mine[256];
  snprintf(mine, sizeof mine, "%s", qeq_last_error());
  CHECK(strstr(mine, "axis 17") != NULL, "unexpected message %s", mine);
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, fail_in_thread, NULL), 0);
  void* other_saw_own = NULL;
  assert_int_equal(pthread_join(thread, &other_saw_own), 0);
  CHECK(other_saw_own != NULL, "the other thread did not see its own message");
  CHECK(strcmp(qeq_last_error(), mine) == 0, "another thread replaced this thread's message");
  /* Success leaves the message alone. */
  assert_int_equal(qeq_channel_range_f32(&b.shape, b.x, 1, b.out_a), QEQ_OK);
  CHECK(strcmp(qeq_last_error(), mine) == 0, "a successful call changed the message");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_null_pointers),
      cmocka_unit_test(test_bad_ndim),
      cmocka_unit_test(test_axis_out_of_range),
      cmocka_unit_test(test_zero_sized_dimension),
      cmocka_unit_test(test_size_overflow),
      cmocka_unit_test(test_shape_init_arguments),
      cmocka_unit_test(test_aliasing),
      cmocka_unit_test(test_non_finite_scales),
      cmocka_unit_test(test_isa_cap_errors),
      cmocka_unit_test(test_status_strings),
      cmocka_unit_test(test_last_error_is_per_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
