/* Quantization parameters and observers against the values PyTorch 1.13 produced
 * (docs/numerics.md#reference-values; printed to 8-9 significant digits, so compared to 1e-7
 * relative), and the documented errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/test-support.h"

static const float data3[3] = {-1.0f, 0.3f, 2.5f};

static int close_to(float got, double want) {
  return fabs((double)got - want) <= 1e-7 * fabs(want) + 1e-12;
}

/* Observes `n` values with a fresh observer and returns its qparams. */
static void observe_qparams(const qeq_observer_config* config, const float* x, size_t n,
                            float* scale, int32_t* zp) {
  qeq_observer* obs = NULL;
  CHECK(qeq_observer_create(config, &obs) == QEQ_OK, "create: %s", qeq_last_error());
  const qeq_shape shape = {1, {n}};
  CHECK(qeq_observer_update(obs, &shape, x) == QEQ_OK, "update: %s", qeq_last_error());
  CHECK(qeq_observer_qparams(obs, 1, scale, zp, NULL) == QEQ_OK, "qparams: %s", qeq_last_error());
  qeq_observer_destroy(obs);
}

typedef struct spec_row {
  const char* what;
  qeq_dtype dtype;
  qeq_qscheme scheme;
  int reduce_range, custom;
  int32_t custom_min, custom_max;
  float eps;
  int32_t want_qmin, want_qmax;
  double want_scale;
  int32_t want_zp;
} spec_row;

static void test_spec_table(void** state) {
  (void)state;
  const float eps32 = 0x1p-23f;
  static const spec_row rows[] = {
      {"quint8 affine", QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE, 0, 0, 0, 0, 0, 0, 255, 0.013725490,
       73},
      {"quint8 affine reduce", QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE, 1, 0, 0, 0, 0, 0, 127,
       0.027559055, 36},
      {"qint8 affine", QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_AFFINE, 0, 0, 0, 0, 0, -128, 127,
       0.013725490, -55},
      {"qint8 affine reduce", QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_AFFINE, 1, 0, 0, 0, 0, -64, 63,
       0.027559055, -28},
      {"quint8 symmetric", QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_SYMMETRIC, 0, 0, 0, 0, 0, 0, 255,
       0.019607844, 128},
      {"qint8 symmetric", QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_SYMMETRIC, 0, 0, 0, 0, 0, -128, 127,
       0.019607844, 0},
      {"qint8 symmetric reduce", QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_SYMMETRIC, 1, 0, 0, 0, 0, -64, 63,
       0.039370079, 0},
      {"default_observer", QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE, 0, 1, 0, 127, 0, 0, 127,
       0.027559055, 36},
      {"quint8 symmetric custom [0,127]", QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_SYMMETRIC, 0, 1, 0, 127,
       0, 0, 127, 0.039370079, 63},
      {"quint8 custom [0,255] reduce", QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE, 1, 1, 0, 255, 0, 0,
       127, 0.027559055, 36},
      {"qint8 symmetric [-127,127] eps 2^-12", QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_SYMMETRIC, 0, 1,
       -127, 127, 0x1p-12f, -127, 127, 0.019685039, 0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const spec_row* r = &rows[i];
    qeq_observer_config config = qeq_observer_config_default(r->dtype, r->scheme);
    config.reduce_range = r->reduce_range;
    config.has_custom_range = r->custom;
    config.quant_min = r->custom_min;
    config.quant_max = r->custom_max;
    config.eps = r->eps != 0 ? r->eps : eps32;
    int32_t qmin = 99, qmax = 99;
    CHECK(qeq_quant_range(&config, &qmin, &qmax) == QEQ_OK, "%s: %s", r->what, qeq_last_error());
    CHECK(qmin == r->want_qmin && qmax == r->want_qmax, "%s: range [%d, %d], want [%d, %d]",
          r->what, qmin, qmax, r->want_qmin, r->want_qmax);
    float scale;
    int32_t zp;
    observe_qparams(&config, data3, 3, &scale, &zp);
    CHECK(close_to(scale, r->want_scale) && zp == r->want_zp, "%s: (%.9g, %d), want (%.9g, %d)",
          r->what, scale, zp, r->want_scale, r->want_zp);
  }
}

static void test_spec_edge_cases(void** state) {
  (void)state;
  const qeq_observer_config u8 =
      qeq_observer_config_default(QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE);
  const qeq_observer_config s8 =
      qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_SYMMETRIC);
  float scale;
  int32_t zp;
  const float zeros[4] = {0.0f, -0.0f, 0.0f, 0.0f};
  observe_qparams(&u8, zeros, 4, &scale, &zp);
  CHECK(scale == 0x1p-23f && zp == 0, "zeros u8: (%g, %d)", scale, zp);
  observe_qparams(&s8, zeros, 4, &scale, &zp);
  CHECK(scale == 0x1p-23f && zp == 0, "zeros s8: (%g, %d)", scale, zp);
  const float plus3[2] = {3.0f, 3.0f}, minus3[2] = {-3.0f, -3.0f};
  observe_qparams(&u8, plus3, 2, &scale, &zp);
  CHECK(scale == 3.0f / 255.0f && zp == 0, "+3 u8: (%.9g, %d)", scale, zp);
  observe_qparams(&s8, plus3, 2, &scale, &zp);
  CHECK(scale == 3.0f / 127.5f && zp == 0, "+3 s8: (%.9g, %d)", scale, zp);
  observe_qparams(&u8, minus3, 2, &scale, &zp);
  CHECK(scale == 3.0f / 255.0f && zp == 255, "-3 u8: (%.9g, %d)", scale, zp);
  const float tiny[2] = {0.0f, 1e-9f};
  observe_qparams(&u8, tiny, 2, &scale, &zp);
  CHECK(scale == 0x1p-23f, "[0, 1e-9]: scale %g", scale);
  /* Ties round half to even. */
  const float tie_even[2] = {-2.5f, 252.5f}, tie_odd[2] = {-3.5f, 251.5f};
  observe_qparams(&u8, tie_even, 2, &scale, &zp);
  CHECK(scale == 1.0f && zp == 2, "[-2.5, 252.5]: (%g, %d), want (1, 2)", scale, zp);
  observe_qparams(&u8, tie_odd, 2, &scale, &zp);
  CHECK(scale == 1.0f && zp == 4, "[-3.5, 251.5]: (%g, %d), want (1, 4)", scale, zp);
}

static void test_never_observed_gives_defaults(void** state) {
  (void)state;
  for (int scheme = 0; scheme <= QEQ_PER_CHANNEL_SYMMETRIC; scheme++) {
    const qeq_observer_config config =
        qeq_observer_config_default(QEQ_DTYPE_QINT8, (qeq_qscheme)scheme);
    qeq_observer* obs = NULL;
    CHECK(qeq_observer_create(&config, &obs) == QEQ_OK, "create: %s", qeq_last_error());
    float scale = 0;
    int32_t zp = 7;
    CHECK(qeq_observer_qparams(obs, 1, &scale, &zp, NULL) == QEQ_OK, "%s", qeq_last_error());
    CHECK(scale == 1.0f && zp == 0, "scheme %d unobserved: (%g, %d)", scheme, scale, zp);
    /* An empty batch is ignored. */
    const qeq_shape empty = {2, {0, 3}};
    CHECK(qeq_observer_update(obs, &empty, data3) == QEQ_OK, "empty batch: %s", qeq_last_error());
    CHECK(qeq_observer_qparams(obs, 1, &scale, &zp, NULL) == QEQ_OK, "%s", qeq_last_error());
    CHECK(scale == 1.0f && zp == 0, "after an empty batch: (%g, %d)", scale, zp);
    qeq_observer_destroy(obs);
  }
}

static void test_moving_average(void** state) {
  (void)state;
  qeq_observer_config config = qeq_observer_config_default(QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE);
  config.averaging_constant = 0.01f;
  qeq_observer* obs = NULL;
  CHECK(qeq_observer_create(&config, &obs) == QEQ_OK, "create: %s", qeq_last_error());
  const float a[2] = {-1.0f, 1.0f}, b[2] = {-3.0f, 5.0f};
  const qeq_shape shape = {1, {2}};
  CHECK(qeq_observer_update(obs, &shape, a) == QEQ_OK, "%s", qeq_last_error());
  CHECK(qeq_observer_update(obs, &shape, b) == QEQ_OK, "%s", qeq_last_error());
  float mn, mx;
  CHECK(qeq_observer_minmax(obs, 1, &mn, &mx) == QEQ_OK, "%s", qeq_last_error());
  CHECK(close_to(mn, -1.02) && close_to(mx, 1.04), "EMA: (%.9g, %.9g), want (-1.02, 1.04)", mn, mx);
  qeq_observer_destroy(obs);
}

/* Per-channel observers along every axis agree with per-channel ranges of the batches. */
static void test_per_channel_any_axis(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed());
  const size_t dims[3] = {4, 5, 6};
  qeq_shape shape;
  CHECK(qeq_shape_init(&shape, 3, dims) == QEQ_OK, "shape");
  float x1[120], x2[120];
  for (size_t i = 0; i < 120; i++) {
    x1[i] = (float)rng_below(&rng, 2001) / 100.0f - 10.0f;
    x2[i] = (float)rng_below(&rng, 2001) / 100.0f - 10.0f;
  }
  for (int axis = -3; axis < 3; axis++) {
    qeq_observer_config config =
        qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_CHANNEL_SYMMETRIC);
    config.ch_axis = axis;
    qeq_observer* obs = NULL;
    CHECK(qeq_observer_create(&config, &obs) == QEQ_OK, "create: %s", qeq_last_error());
    CHECK(qeq_observer_update(obs, &shape, x1) == QEQ_OK, "%s", qeq_last_error());
    CHECK(qeq_observer_update(obs, &shape, x2) == QEQ_OK, "%s", qeq_last_error());
    const size_t a = (size_t)(axis < 0 ? axis + 3 : axis);
    const size_t channels = dims[a];
    CHECK(qeq_observer_channels(obs) == channels, "axis %d: %zu channels", axis,
          qeq_observer_channels(obs));
    float want_min1[6], want_max1[6], want_min2[6], want_max2[6], mn[6], mx[6], scale[6];
    int32_t zp[6];
    ref_channel_minmax(&shape, x1, a, want_min1, want_max1);
    ref_channel_minmax(&shape, x2, a, want_min2, want_max2);
    CHECK(qeq_observer_minmax(obs, channels, mn, mx) == QEQ_OK, "%s", qeq_last_error());
    CHECK(qeq_observer_qparams(obs, channels, scale, zp, NULL) == QEQ_OK, "%s", qeq_last_error());
    for (size_t c = 0; c < channels; c++) {
      const float wmin = fminf(want_min1[c], want_min2[c]);
      const float wmax = fmaxf(want_max1[c], want_max2[c]);
      CHECK(mn[c] == wmin && mx[c] == wmax, "axis %d channel %zu: (%g, %g) want (%g, %g)", axis, c,
            mn[c], mx[c], wmin, wmax);
      const float amax = fmaxf(-fminf(wmin, 0.0f), fmaxf(wmax, 0.0f));
      CHECK(scale[c] == fmaxf(amax / 127.5f, 0x1p-23f) && zp[c] == 0, "axis %d channel %zu qparams",
            axis, c);
    }
    /* A batch with another channel count is refused and changes nothing. */
    const qeq_shape other = {3, {6, 4, 5}};
    if (other.dims[a] != channels) {
      CHECK(qeq_observer_update(obs, &other, x1) == QEQ_ERROR_SHAPE_MISMATCH, "mismatch accepted");
      float after_min[6], after_max[6];
      CHECK(qeq_observer_minmax(obs, channels, after_min, after_max) == QEQ_OK, "minmax");
      CHECK(memcmp(after_min, mn, channels * sizeof(float)) == 0, "refused batch changed min");
    }
    qeq_observer_destroy(obs);
  }
}

static void test_float_qparams(void** state) {
  (void)state;
  const qeq_observer_config config =
      qeq_observer_config_default(QEQ_DTYPE_QUINT8, QEQ_PER_CHANNEL_AFFINE_FLOAT_QPARAMS);
  const float mn[3] = {0.5f, -2.0f, 1.0f}, mx[3] = {3.0f, 2.0f, 1.0f};
  float scale[3], zpf[3];
  CHECK(qeq_calculate_qparams(&config, 3, mn, mx, scale, NULL, zpf) == QEQ_OK, "%s",
        qeq_last_error());
  /* raw min/max (not widened to contain 0); scale 1 where it would be <= eps */
  CHECK(scale[0] == 2.5f / 255.0f && zpf[0] == -0.5f / scale[0], "channel 0");
  CHECK(scale[1] == 4.0f / 255.0f && zpf[1] == 2.0f / scale[1], "channel 1");
  CHECK(scale[2] == 1.0f && zpf[2] == -1.0f, "channel 2 (constant)");
}

static void test_errors(void** state) {
  (void)state;
  qeq_observer_config config = qeq_observer_config_default(QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE);
  int32_t qmin = 5, qmax = 5;
  /* custom ranges: must contain 0, be ordered, fit the dtype */
  config.has_custom_range = 1;
  const int32_t bad[][2] = {{1, 10}, {-10, -1}, {0, 0}, {0, 256}, {-1, 255}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    config.quant_min = bad[i][0];
    config.quant_max = bad[i][1];
    CHECK(qeq_quant_range(&config, &qmin, &qmax) == QEQ_ERROR_INVALID_ARGUMENT,
          "custom [%d, %d] accepted", bad[i][0], bad[i][1]);
    CHECK(strstr(qeq_last_error(), "custom range") != NULL, "message: %s", qeq_last_error());
  }
  CHECK(qmin == 5 && qmax == 5, "outputs written on failure");
  config = qeq_observer_config_default(QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_SYMMETRIC);
  config.reduce_range = 1;
  CHECK(qeq_quant_range(&config, &qmin, &qmax) == QEQ_ERROR_UNSUPPORTED, "symmetric quint8 reduce");
  config = qeq_observer_config_default((qeq_dtype)7, QEQ_PER_TENSOR_AFFINE);
  CHECK(qeq_quant_range(&config, &qmin, &qmax) == QEQ_ERROR_INVALID_ARGUMENT, "bad dtype");
  CHECK(strstr(qeq_last_error(), "dtype") != NULL, "message: %s", qeq_last_error());

  /* qparams: min > max, NaN, infinities, eps, counts, NULLs; nothing written */
  config = qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_CHANNEL_AFFINE);
  float scale[2] = {-1.0f, -1.0f};
  int32_t zp[2] = {-7, -7};
  const float lo_bad[2] = {0.0f, 2.0f}, hi_bad[2] = {1.0f, 1.0f};
  CHECK(qeq_calculate_qparams(&config, 2, lo_bad, hi_bad, scale, zp, NULL) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "min > max accepted");
  CHECK(strstr(qeq_last_error(), "channel 1") != NULL, "message: %s", qeq_last_error());
  const float lo_nan[2] = {0.0f, NAN}, hi_ok[2] = {1.0f, 1.0f};
  CHECK(qeq_calculate_qparams(&config, 2, lo_nan, hi_ok, scale, zp, NULL) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "NaN accepted");
  const float lo_inf[2] = {-INFINITY, 0.0f};
  CHECK(qeq_calculate_qparams(&config, 2, lo_inf, hi_ok, scale, zp, NULL) == QEQ_ERROR_NON_FINITE,
        "infinite min accepted");
  CHECK(scale[0] == -1.0f && scale[1] == -1.0f && zp[0] == -7 && zp[1] == -7,
        "outputs written on failure");
  const float lo_ok[2] = {0.0f, 0.0f};
  CHECK(qeq_calculate_qparams(&config, 2, lo_ok, hi_ok, scale, NULL, NULL) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "NULL zero_point accepted");
  config.eps = 0.0f;
  CHECK(qeq_calculate_qparams(&config, 2, lo_ok, hi_ok, scale, zp, NULL) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "eps 0 accepted");
  config = qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_AFFINE);
  CHECK(
      qeq_calculate_qparams(&config, 2, lo_ok, hi_ok, scale, zp, NULL) == QEQ_ERROR_SHAPE_MISMATCH,
      "per-tensor with 2 channels accepted");

  /* observers */
  qeq_observer* obs = (qeq_observer*)&config; /* must not be overwritten on failure */
  config.averaging_constant = 1.5f;
  CHECK(qeq_observer_create(&config, &obs) == QEQ_ERROR_INVALID_ARGUMENT, "c = 1.5 accepted");
  CHECK(obs == (qeq_observer*)&config, "observer written on failure");
  config.averaging_constant = 0.0f;
  CHECK(qeq_observer_create(NULL, &obs) == QEQ_ERROR_INVALID_ARGUMENT, "NULL config");
  CHECK(qeq_observer_create(&config, NULL) == QEQ_ERROR_INVALID_ARGUMENT, "NULL out");
  CHECK(qeq_observer_create(&config, &obs) == QEQ_OK, "%s", qeq_last_error());
  const qeq_shape shape = {1, {3}};
  CHECK(qeq_observer_update(obs, &shape, NULL) == QEQ_ERROR_INVALID_ARGUMENT, "NULL x");
  CHECK(qeq_observer_update(NULL, &shape, data3) == QEQ_ERROR_INVALID_ARGUMENT, "NULL observer");
  float mn, mx;
  CHECK(qeq_observer_minmax(obs, 2, &mn, &mx) == QEQ_ERROR_SHAPE_MISMATCH, "count 2");
  qeq_observer_destroy(obs);
  qeq_observer_destroy(NULL);

  config = qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_CHANNEL_AFFINE);
  config.ch_axis = 3;
  CHECK(qeq_observer_create(&config, &obs) == QEQ_OK, "%s", qeq_last_error());
  CHECK(qeq_observer_update(obs, &shape, data3) == QEQ_ERROR_INVALID_ARGUMENT, "ch_axis 3 of 1-d");
  CHECK(strstr(qeq_last_error(), "axis") != NULL, "message: %s", qeq_last_error());
  CHECK(qeq_observer_channels(obs) == 0, "a refused batch set the channel count");
  qeq_observer_destroy(obs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_table),
      cmocka_unit_test(test_spec_edge_cases),
      cmocka_unit_test(test_never_observed_gives_defaults),
      cmocka_unit_test(test_moving_average),
      cmocka_unit_test(test_per_channel_any_axis),
      cmocka_unit_test(test_float_qparams),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
