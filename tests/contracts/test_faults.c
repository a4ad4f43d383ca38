/* Hostile input (issue 13): each defect a probe found, as a regression test. Every failing
 * call must return its status, name the public function called, and write nothing. */
#define _POSIX_C_SOURCE 200112L /* setenv */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

static const float sentinel = -12345.5f;

static void expect_status(qeq_status got, qeq_status want, const char* fn, const char* word) {
  CHECK(got == want, "%s: status %s, want %s (message: %s)", fn, qeq_status_string(got),
        qeq_status_string(want), qeq_last_error());
  const char* message = qeq_last_error();
  CHECK(strncmp(message, fn, strlen(fn)) == 0 && message[strlen(fn)] == ':',
        "message \"%s\" does not start with \"%s:\"", message, fn);
  CHECK(strstr(message, word) != NULL, "message \"%s\" does not name \"%s\"", message, word);
}

static void fill(float* v, size_t n, float base) {
  for (size_t i = 0; i < n; i++) v[i] = base + 0.125f * (float)(i % 13) - 0.5f;
}

static qeq_layer linear(size_t out, size_t in, float* weight, float* bias) {
  qeq_layer l;
  CHECK(qeq_layer_init(&l, QEQ_LAYER_LINEAR, 2, (size_t[]){out, in}, weight, bias, 1,
                       QEQ_ACTIVATION_RELU) == QEQ_OK,
        "%s", qeq_last_error());
  return l;
}

/* 1. The repro: u reuses wa with a larger extent that holds the NaN. */
static void test_equalize_checks_every_extent(void** unused) {
  (void)unused;
  float wa[32], wb[16], wc[32], copy[80];
  fill(wa, 32, 1.0f), fill(wb, 16, 2.0f), fill(wc, 32, 3.0f);
  wa[24] = NAN;
  qeq_layer s = linear(4, 4, wa, NULL), t = linear(4, 4, wb, NULL);
  qeq_layer u = linear(8, 4, wa, NULL), v = linear(4, 8, wc, NULL);
  qeq_layer* layers[4] = {&s, &t, &u, &v};
  const size_t sizes[2] = {2, 2};
  memcpy(copy, wa, sizeof wa), memcpy(copy + 32, wb, sizeof wb), memcpy(copy + 48, wc, sizeof wc);
  qeq_equalize_report r = {7, 7.0, 7};
  expect_status(qeq_equalize(layers, sizes, 2, 1e-4f, 3, &r), QEQ_ERROR_NON_FINITE, "qeq_equalize",
                "layers[2]'s weight[24]");
  CHECK(!memcmp(copy, wa, sizeof wa) && !memcmp(copy + 32, wb, sizeof wb) &&
            !memcmp(copy + 48, wc, sizeof wc) && r.sweeps == 7,
        "qeq_equalize wrote on failure");
  /* Without the NaN, two different layers still share wa: refused, nothing written. */
  wa[24] = copy[24] = 0.25f;
  expect_status(qeq_equalize(layers, sizes, 2, 1e-4f, 3, &r), QEQ_ERROR_INVALID_ARGUMENT,
                "qeq_equalize", "shares");
  CHECK(!memcmp(copy, wa, sizeof wa) && !memcmp(copy + 32, wb, sizeof wb), "written on failure");
  /* Weights overlapping across pairs without sharing a pointer. */
  u = linear(4, 4, wa + 8, NULL), v = linear(4, 4, wc, NULL);
  expect_status(qeq_equalize(layers, sizes, 2, 1e-4f, 3, &r), QEQ_ERROR_INVALID_ARGUMENT,
                "qeq_equalize", "layers[0]'s weight overlaps layers[2]'s weight");
  CHECK(!memcmp(copy, wa, sizeof wa) && !memcmp(copy + 32, wb, sizeof wb), "written on failure");
  /* A success leaves no stale message behind (qeq_last_error is only read after a failure,
   * but an OK that had failed inside was the defect). */
  u = linear(4, 4, wc, NULL), v = linear(4, 4, wc + 16, NULL);
  CHECK(qeq_equalize(layers, sizes, 2, 1e-4f, 3, &r) == QEQ_OK, "%s", qeq_last_error());
}

/* 3. qint32 with float qparams: qmax - qmin is 2^32 - 1, not an int overflow. */
static void test_qint32_float_qparams(void** unused) {
  (void)unused;
  qeq_observer_config cfg =
      qeq_observer_config_default(QEQ_DTYPE_QINT32, QEQ_PER_CHANNEL_AFFINE_FLOAT_QPARAMS);
  /* Wrapped to -1, the span made the scale negative, replaced by 1. */
  const float mn[2] = {-1e6f, -1.0f}, mx[2] = {1e6f, 1.0f};
  float scale[2], zpf[2];
  cfg.eps = 1e-12f; /* so that channel 1's tiny scale is kept */
  CHECK(qeq_calculate_qparams(&cfg, 2, mn, mx, scale, NULL, zpf) == QEQ_OK, "%s", qeq_last_error());
  for (int c = 0; c < 2; c++) {
    const float want = (mx[c] - mn[c]) / 4294967296.0f; /* 2^32 - 1 rounds to 2^32 */
    CHECK(same_bits(scale[c], want), "scale[%d] %g, want %g", c, (double)scale[c], (double)want);
  }
}

/* 4. A custom range that reduce_range empties. */
static void test_reduce_range_empty(void** unused) {
  (void)unused;
  qeq_observer_config cfg = qeq_observer_config_default(QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE);
  cfg.has_custom_range = 1, cfg.quant_min = 0, cfg.quant_max = 1, cfg.reduce_range = 1;
  int32_t qmin = 77, qmax = 77;
  expect_status(qeq_quant_range(&cfg, &qmin, &qmax), QEQ_ERROR_INVALID_ARGUMENT, "qeq_quant_range",
                "empty");
  CHECK(qmin == 77 && qmax == 77, "written on failure");
  const float mn[1] = {-1.0f}, mx[1] = {1.0f};
  float scale[1] = {sentinel};
  int32_t zp[1] = {77};
  expect_status(qeq_calculate_qparams(&cfg, 1, mn, mx, scale, zp, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                "qeq_calculate_qparams", "empty");
  CHECK(same_bits(scale[0], sentinel) && zp[0] == 77, "written on failure");
  qeq_observer* obs = NULL;
  /* Messages name the function called, not the one it calls. */
  expect_status(qeq_observer_create(&cfg, &obs), QEQ_ERROR_INVALID_ARGUMENT, "qeq_observer_create",
                "empty");
  CHECK(obs == NULL, "observer written on failure");
}

/* 5. Finite bounds whose difference overflows. */
static void test_infinite_scale_refused(void** unused) {
  (void)unused;
  const qeq_qscheme schemes[] = {QEQ_PER_TENSOR_AFFINE, QEQ_PER_CHANNEL_AFFINE_FLOAT_QPARAMS};
  const float mn[1] = {-3e38f}, mx[1] = {3e38f};
  for (size_t i = 0; i < 2; i++) {
    qeq_observer_config cfg = qeq_observer_config_default(QEQ_DTYPE_QUINT8, schemes[i]);
    float scale[1] = {sentinel}, zpf[1] = {sentinel};
    int32_t zp[1] = {77};
    expect_status(qeq_calculate_qparams(&cfg, 1, mn, mx, scale, zp, zpf), QEQ_ERROR_NON_FINITE,
                  "qeq_calculate_qparams", "overflows");
    CHECK(same_bits(scale[0], sentinel) && same_bits(zpf[0], sentinel) && zp[0] == 77,
          "written on failure");
  }
  /* Symmetric divides the larger bound by half the levels: finite, accepted. */
  qeq_observer_config sym = qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_SYMMETRIC);
  float scale[1];
  int32_t zp[1];
  CHECK(qeq_calculate_qparams(&sym, 1, mn, mx, scale, zp, NULL) == QEQ_OK && isfinite(scale[0]),
        "symmetric: %s", qeq_last_error());
}

/* 6. High-bias absorption that would overflow a bias, and non-positive scales. */
static void test_absorb_high_bias_refuses_overflow(void** unused) {
  (void)unused;
  float w1[16], b1[4], w2[8], b2[2], copy[30];
  fill(w1, 16, 0.0f), fill(b1, 4, 1.0f), fill(w2, 8, 0.5f), fill(b2, 2, 0.0f);
  qeq_layer first = linear(4, 4, w1, b1), second = linear(2, 4, w2, b2);
  const float beta[4] = {5, 5, 5, 5}, gamma[4] = {1, 1, 1, 1};
  memcpy(copy, b1, sizeof b1), memcpy(copy + 4, b2, sizeof b2), memcpy(copy + 6, w2, sizeof w2);
  const float tiny[4] = {1, 1e-38f, 1, 1}, zero[4] = {1, 0, 1, 1}, negative[4] = {1, 1, -1, 1};
  expect_status(qeq_absorb_high_bias(&first, &second, beta, gamma, tiny, NULL),
                QEQ_ERROR_NON_FINITE, "qeq_absorb_high_bias", "channel 1");
  expect_status(qeq_absorb_high_bias(&first, &second, beta, gamma, zero, NULL),
                QEQ_ERROR_INVALID_ARGUMENT, "qeq_absorb_high_bias", "scales[1]");
  expect_status(qeq_absorb_high_bias(&first, &second, beta, gamma, negative, NULL),
                QEQ_ERROR_INVALID_ARGUMENT, "qeq_absorb_high_bias", "scales[2]");
  CHECK(!memcmp(copy, b1, sizeof b1) && !memcmp(copy + 4, b2, sizeof b2) &&
            !memcmp(copy + 6, w2, sizeof w2),
        "written on failure");
  /* The moved bias is finite but the next layer's response overflows its bias. */
  const float big_beta[4] = {3e38f, 3e38f, 3e38f, 3e38f};
  w2[0] = w2[1] = w2[2] = w2[3] = 3.0f;
  memcpy(copy + 6, w2, sizeof w2);
  expect_status(qeq_absorb_high_bias(&first, &second, big_beta, gamma, NULL, NULL),
                QEQ_ERROR_NON_FINITE, "qeq_absorb_high_bias", "overflow");
  CHECK(!memcmp(copy, b1, sizeof b1) && !memcmp(copy + 4, b2, sizeof b2), "written on failure");
}

/* 7. NaN propagates through the scaled min/max, as torch.min/torch.max. */
static void test_scaled_minmax_propagates_nan(void** unused) {
  (void)unused;
  const float mn[3] = {NAN, -1.0f, -2.0f}, mx[3] = {1.0f, 2.0f, 3.0f}, s[3] = {1, 1, 1};
  float lo = sentinel, hi = sentinel;
  CHECK(qeq_scaled_input_minmax(3, mn, mx, s, &lo, &hi) == QEQ_OK, "%s", qeq_last_error());
  CHECK(same_bits(lo, canonical_nan) && same_bits(hi, 3.0f), "lo %g hi %g", (double)lo, (double)hi);
  const float mx_nan[3] = {1.0f, 2.0f, NAN};
  CHECK(qeq_scaled_input_minmax(2, mn + 1, mx_nan + 1, s, &lo, &hi) == QEQ_OK, "%s",
        qeq_last_error());
  CHECK(same_bits(lo, -2.0f) && same_bits(hi, canonical_nan), "lo %g hi %g", (double)lo,
        (double)hi);
  expect_status(qeq_scaled_input_minmax(3, mn, mx, s, &lo, &lo), QEQ_ERROR_INVALID_ARGUMENT,
                "qeq_scaled_input_minmax", "same buffer");
}

/* 8. Overlaps, the list: every one refused, nothing written. */
static void test_overlaps_refused(void** unused) {
  (void)unused;
  float w1[12], b1[4], w2[8], copy[24];
  fill(w1, 12, 1.0f), fill(b1, 4, 0.5f), fill(w2, 8, 2.0f);
  memcpy(copy, w1, sizeof w1), memcpy(copy + 12, b1, sizeof b1), memcpy(copy + 16, w2, sizeof w2);
#define UNCHANGED()                                                          \
  CHECK(!memcmp(copy, w1, sizeof w1) && !memcmp(copy + 12, b1, sizeof b1) && \
            !memcmp(copy + 16, w2, sizeof w2),                               \
        "written on failure")
  qeq_layer first = linear(4, 3, w1, b1), second = linear(2, 4, w2, NULL);
  expect_status(qeq_cross_layer_equalize(&first, &second, b1), QEQ_ERROR_INVALID_ARGUMENT,
                "qeq_cross_layer_equalize", "first's bias and scales are the same buffer");
  UNCHANGED();
  /* first's bias inside second's weight */
  float big[16], big_copy[16];
  fill(big, 16, 1.0f);
  memcpy(big_copy, big, sizeof big);
  qeq_layer bias_inside = linear(4, 3, w1, big + 4), second_big = linear(4, 4, big, NULL);
  expect_status(qeq_cross_layer_equalize(&bias_inside, &second_big, NULL),
                QEQ_ERROR_INVALID_ARGUMENT, "qeq_cross_layer_equalize",
                "first's bias overlaps second's weight");
  CHECK(!memcmp(big, big_copy, sizeof big), "written on failure");
  UNCHANGED();

  /* Depthwise-separable: scales01 inside third's weight, and scales01 == scales12. */
  float d[18], t[8], s12[4];
  fill(d, 18, 1.0f), fill(t, 8, 2.0f);
  qeq_layer dw;
  CHECK(qeq_layer_init(&dw, QEQ_LAYER_CONV1D, 3, (size_t[]){4, 1, 3}, d, NULL, 4,
                       QEQ_ACTIVATION_RELU) == QEQ_OK,
        "%s", qeq_last_error());
  qeq_layer c0, c2;
  CHECK(qeq_layer_init(&c0, QEQ_LAYER_CONV1D, 3, (size_t[]){4, 3, 1}, w1, b1, 1,
                       QEQ_ACTIVATION_RELU) == QEQ_OK &&
            qeq_layer_init(&c2, QEQ_LAYER_CONV1D, 3, (size_t[]){2, 4, 1}, t, NULL, 1,
                           QEQ_ACTIVATION_NONE) == QEQ_OK,
        "%s", qeq_last_error());
  float t_copy[8], d_copy[18];
  memcpy(t_copy, t, sizeof t), memcpy(d_copy, d, sizeof d);
  expect_status(qeq_equalize_depthwise_separable(&c0, &dw, &c2, t + 2, s12),
                QEQ_ERROR_INVALID_ARGUMENT, "qeq_equalize_depthwise_separable",
                "third's weight overlaps scales01");
  expect_status(qeq_equalize_depthwise_separable(&c0, &dw, &c2, s12, s12),
                QEQ_ERROR_INVALID_ARGUMENT, "qeq_equalize_depthwise_separable",
                "scales01 and scales12 are the same buffer");
  CHECK(!memcmp(t, t_copy, sizeof t) && !memcmp(d, d_copy, sizeof d), "written on failure");
  UNCHANGED();

  /* Fold with bias_storage inside the weight. */
  qeq_layer nobias = linear(4, 3, w1, NULL);
  const float mean[4] = {0}, var[4] = {1, 1, 1, 1};
  const qeq_batch_norm bn = {4, mean, var, NULL, NULL, 1e-5f};
  expect_status(qeq_fold_batch_norm(&nobias, &bn, w1 + 6), QEQ_ERROR_INVALID_ARGUMENT,
                "qeq_fold_batch_norm", "layer's weight overlaps bias_storage");
  CHECK(nobias.bias == NULL, "descriptor written on failure");
  UNCHANGED();

  /* Selection with chosen aliasing sqnr. */
  double sqnr[4] = {3, 1, 2, 0};
  size_t chosen_count = 99;
  expect_status(qeq_select_lowest_sqnr(4, sqnr, 2, (size_t*)sqnr, &chosen_count),
                QEQ_ERROR_INVALID_ARGUMENT, "qeq_select_lowest_sqnr", "chosen");
  CHECK(sqnr[0] == 3 && sqnr[3] == 0 && chosen_count == 99, "written on failure");

  /* qparams outputs on top of their inputs. */
  qeq_observer_config cfg = qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_CHANNEL_AFFINE);
  float mm[4] = {-1, -2, 1, 2};
  int32_t zp[2];
  expect_status(qeq_calculate_qparams(&cfg, 2, mm, mm + 2, mm + 2, zp, NULL),
                QEQ_ERROR_INVALID_ARGUMENT, "qeq_calculate_qparams", "scale");
  CHECK(mm[2] == 1 && mm[3] == 2, "written on failure");
#undef UNCHANGED
}

/* Fold and input equalization refuse to write Inf weights, as CLE does. */
static void test_fold_and_input_equalization_overflow(void** unused) {
  (void)unused;
  float w[6] = {3e38f, 1, 1, 1, 1, 1}, copy[6];
  memcpy(copy, w, sizeof w);
  qeq_layer l = linear(2, 3, w, NULL);
  const float mean[2] = {0, 0}, var[2] = {1, 1}, gamma[2] = {10, 1};
  const qeq_batch_norm bn = {2, mean, var, gamma, NULL, 0.0f};
  float storage[2] = {sentinel, sentinel};
  expect_status(qeq_fold_batch_norm(&l, &bn, storage), QEQ_ERROR_NON_FINITE, "qeq_fold_batch_norm",
                "channel 0");
  CHECK(!memcmp(w, copy, sizeof w) && same_bits(storage[0], sentinel) && l.bias == NULL,
        "written on failure");
  /* The layer's column 0 times 1/s with s tiny overflows. */
  const float scales[3] = {1e-38f, 1, 1};
  expect_status(qeq_apply_input_equalization(&l, NULL, scales), QEQ_ERROR_NON_FINITE,
                "qeq_apply_input_equalization", "channel 0");
  CHECK(!memcmp(w, copy, sizeof w), "written on failure");
}

/* 9. Fake-quantize's zero level is +0.0 on every ISA in every rounding mode. */
static void test_fake_quantize_zero_sign_every_mode(void** unused) {
  (void)unused;
  const int modes[] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
  size_t count = 0, ran = 0;
  const test_variant* variants = test_variants(&count);
  float x[37], y[37];
  for (size_t i = 0; i < 37; i++) x[i] = -0.0f;
  for (size_t v = 0; v < count; v++) {
    if (variants[v].family != QEQ_FAMILY_F32_FQ_RQUANT || !variant_runnable(&variants[v])) continue;
    qeq_f32_fq_rquant_ukernel_fn* kernel = (qeq_f32_fq_rquant_ukernel_fn*)variants[v].fn;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
      for (int zp_at_max = 0; zp_at_max < 2; zp_at_max++) {
        /* zero point at quant_min (lo = 0) or quant_max (hi = 0) */
        const qeq_fq_params p = {1.0f / 0.5f, zp_at_max ? -255.0f : 0.0f, zp_at_max ? 0.0f : 255.0f,
                                 0.5f};
        fesetround(modes[m]);
        kernel(1, 1, 37, x, &p, 0, y);
        fesetround(FE_TONEAREST);
        for (size_t i = 0; i < 37; i++) {
          CHECK(f32_bits(y[i]) == 0, "%s, mode %zu, zp at %s: y[%zu] = %g (bits 0x%08x)",
                variants[v].name, m, zp_at_max ? "max" : "min", i, (double)y[i], f32_bits(y[i]));
        }
      }
    }
    ran++;
  }
  CHECK(ran > 0, "no fake-quantize variant ran");
}

/* Messages name the public function called and the argument, and echo caller strings
 * safely. */
static void test_messages_name_the_public_function(void** unused) {
  (void)unused;
  qeq_layer l;
  float w[4];
  expect_status(
      qeq_layer_init(&l, QEQ_LAYER_LINEAR, 9, (size_t[]){2, 2}, w, NULL, 1, QEQ_ACTIVATION_NONE),
      QEQ_ERROR_INVALID_ARGUMENT, "qeq_layer_init", "ndim");
  qeq_isa isa;
  expect_status(qeq_isa_from_name(NULL, &isa), QEQ_ERROR_INVALID_ARGUMENT, "qeq_isa_from_name",
                "name");
  expect_status(qeq_isa_from_name("avx\n\xff"
                                  "2",
                                  &isa),
                QEQ_ERROR_INVALID_ARGUMENT, "qeq_isa_from_name", "avx\\x0a\\xff2");
  char long_name[100];
  memset(long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  expect_status(qeq_isa_from_name(long_name, &isa), QEQ_ERROR_INVALID_ARGUMENT, "qeq_isa_from_name",
                "truncated from 99 bytes");
  expect_status(qeq_set_isa_cap((qeq_isa)-1), QEQ_ERROR_INVALID_ARGUMENT, "qeq_set_isa_cap",
                "isa -1");
  qeq_observer_config cfg = qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_AFFINE);
  qeq_observer* obs = NULL;
  CHECK(qeq_observer_create(&cfg, &obs) == QEQ_OK, "%s", qeq_last_error());
  float scale[1];
  expect_status(qeq_observer_qparams(obs, 1, scale, NULL, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                "qeq_observer_qparams", "zero_point");
  qeq_observer_destroy(obs);
  /* The environment's value, set by main() before the first call read it. */
  const char* env = qeq_isa_env_message();
  CHECK(strchr(env, '\n') == NULL && strstr(env, "\\x0a") != NULL && strstr(env, "\\xfe") != NULL,
        "QEQ_ISA message not sanitised: \"%s\"", env);
  CHECK(strstr(env, "truncated") != NULL, "QEQ_ISA message does not say it was cut: \"%s\"", env);
  for (const char* c = env; *c; c++)
    CHECK((unsigned char)*c < 0x80, "non-ASCII byte in \"%s\"", env);
}

int main(void) {
  /* Read once at the first call: a hostile value, long enough to be cut. */
  setenv("QEQ_ISA", "avx2\n\xfe\xff-and-a-name-much-longer-than-any-isa-name", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_equalize_checks_every_extent),
      cmocka_unit_test(test_qint32_float_qparams),
      cmocka_unit_test(test_reduce_range_empty),
      cmocka_unit_test(test_infinite_scale_refused),
      cmocka_unit_test(test_absorb_high_bias_refuses_overflow),
      cmocka_unit_test(test_scaled_minmax_propagates_nan),
      cmocka_unit_test(test_overlaps_refused),
      cmocka_unit_test(test_fold_and_input_equalization_overflow),
      cmocka_unit_test(test_fake_quantize_zero_sign_every_mode),
      cmocka_unit_test(test_messages_name_the_public_function),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
