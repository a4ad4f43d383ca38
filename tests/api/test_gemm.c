/* The GEMM API: PyTorch's numbers (docs/numerics.md#gemm-and-convolution-requantization and
 * the golden fixtures from tests/golden/generate.py), an independent reference over random
 * configs, thread counts, ISA caps, and bad input. */
#include <math.h>
#include <pthreadpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/golden.h"
#include "tests/support/test-support.h"

/* ---- an independent reference computed from the config, the formulas of
 * docs/numerics.md#gemm-and-convolution-requantization ---- */

static int32_t dtype_min(qeq_dtype d) {
  return d == QEQ_DTYPE_QINT8 ? -128 : 0;
}

/* y for row/column (r, j): the exact sum here, the output by ref_gemm_store. */
static void reference_gemm(const qeq_gemm_config* c, size_t m, const uint8_t* x, size_t x_stride,
                           uint8_t* y, size_t y_stride) {
  const int x_signed = c->quant.input_dtype == QEQ_DTYPE_QINT8;
  const size_t wstride = c->weight_stride_bytes ? c->weight_stride_bytes : c->k;
  for (size_t r = 0; r < m; r++) {
    for (size_t j = 0; j < c->n; j++) {
      const size_t q = c->quant.weight_qparam_count == 1 ? 0 : j;
      const int32_t zw = c->quant.weight_zero_points ? c->quant.weight_zero_points[q] : 0;
      int64_t acc = 0;
      for (size_t i = 0; i < c->k; i++) {
        const int32_t xv = x_signed ? (int8_t)x[r * x_stride + i] : x[r * x_stride + i];
        acc += (int64_t)(xv - c->quant.input_zero_point) * (c->weights[j * wstride + i] - zw);
      }
      ref_gemm_store(c, j, acc, y + r * y_stride);
    }
  }
}

static size_t output_bytes(const qeq_gemm_config* c) {
  return c->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? 1 : 4;
}

/* Creates, runs under the current dispatch and compares with the reference byte for byte. */
static void check_against_reference(const qeq_gemm_config* c, size_t m, const uint8_t* x,
                                    size_t x_stride, pthreadpool_t pool, const char* what) {
  qeq_gemm* g = NULL;
  const qeq_status st = qeq_gemm_create(c, &g);
  CHECK(st == QEQ_OK, "%s: create: %s", what, qeq_last_error());
  const size_t y_stride = c->n * output_bytes(c) + 3 * output_bytes(c); /* whole elements */
  uint8_t* y = malloc(m * y_stride);
  uint8_t* want = malloc(m * y_stride);
  memset(y, 0x5A, m * y_stride);
  memset(want, 0x5A, m * y_stride);
  reference_gemm(c, m, x, x_stride, want, y_stride);
  CHECK(qeq_gemm_run(g, m, x, x_stride, y, y_stride, pool) == QEQ_OK, "%s: run: %s", what,
        qeq_last_error());
  size_t bad = 0;
  for (size_t i = 0; i < m * y_stride; i++) bad += y[i] != want[i];
  CHECK(bad == 0, "%s (%s, m=%zu n=%zu k=%zu): %zu bytes differ from the reference", what,
        qeq_gemm_kernel_name(g), m, c->n, c->k, bad);
  free(y), free(want);
  qeq_gemm_destroy(g);
}

/* ---- docs/numerics.md#engines-at-half-way-points: the two engines differ at a tie ---- */

static void test_spec_vector(void** state) {
  (void)state;
  const uint8_t x[4] = {46, 23, 50, 57};
  const int8_t w[8] = {-29, -103, -53, -19, 75, 94, 47, 87};
  const float s_w = 1.0f / 128, bias[2] = {0.345f, -0.253f};
  const uint8_t expect_qnnpack[2] = {17, 14}, expect_onednn[2] = {17, 15};
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    for (int engine = 0; engine < 2; engine++) {
      qeq_gemm_config c = qeq_gemm_config_default();
      c.n = 2, c.k = 4, c.weights = w, c.quant.weight_scales = &s_w, c.quant.bias = bias;
      c.quant.input_scale = 1.0f / 64, c.quant.input_zero_point = 32;
      c.quant.output_scale = 1.0f / 32, c.quant.output_zero_point = 10;
      c.quant.engine = engine ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
      qeq_gemm* g;
      CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
      uint8_t y[2] = {0, 0};
      CHECK(qeq_gemm_run(g, 1, x, 4, y, 2, NULL) == QEQ_OK, "%s", qeq_last_error());
      const uint8_t* want = engine ? expect_qnnpack : expect_onednn;
      CHECK(y[0] == want[0] && y[1] == want[1], "%s %s: [%d, %d], PyTorch gives [%d, %d]",
            qeq_gemm_kernel_name(g), engine ? "qnnpack" : "onednn", y[0], y[1], want[0], want[1]);
      coverage_record_family(QEQ_FAMILY_QU8S8_GEMM, isas[t], 0, 1);
      qeq_gemm_destroy(g);
    }
  }
  qeq_clear_isa_cap();
}

/* ---- random configs against the reference, under every ISA cap ---- */

typedef struct random_config {
  qeq_gemm_config c;
  int8_t* w;
  float* scales;
  int32_t* zps;
  float* bias;
} random_config;

static void make_random_config(test_rng* rng, size_t n, size_t k, random_config* rc) {
  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = n, c.k = k;
  c.weight_stride_bytes = k + rng_below(rng, 3);
  rc->w = malloc(n * c.weight_stride_bytes);
  for (size_t i = 0; i < n * c.weight_stride_bytes; i++)
    rc->w[i] = (int8_t)(rng_below(rng, 256) - 128);
  c.weights = rc->w;
  c.quant.weight_qparam_count = rng_below(rng, 2) ? n : 1;
  rc->scales = malloc(n * sizeof(float));
  rc->zps = malloc(n * sizeof(int32_t));
  rc->bias = malloc(n * sizeof(float));
  for (size_t j = 0; j < n; j++) {
    rc->scales[j] =
        ldexpf(1.0f + (float)rng_below(rng, 1000) / 1000.0f, -8 - (int)rng_below(rng, 3));
    rc->zps[j] = (int32_t)rng_below(rng, 21) - 10;
    rc->bias[j] = ((float)rng_below(rng, 2001) - 1000.0f) / 512.0f;
  }
  c.quant.weight_scales = rc->scales;
  c.quant.weight_zero_points = rng_below(rng, 2) ? rc->zps : NULL;
  c.quant.bias = rng_below(rng, 4) ? rc->bias : NULL;
  c.quant.input_dtype = rng_below(rng, 3) == 0 ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
  c.quant.input_scale = ldexpf(1.0f, -6) * (1.0f + (float)rng_below(rng, 100) / 100.0f);
  c.quant.input_zero_point = dtype_min(c.quant.input_dtype) + (int32_t)rng_below(rng, 256);
  c.quant.output =
      rng_below(rng, 5) == 0 ? (qeq_gemm_output)(1 + rng_below(rng, 2)) : QEQ_GEMM_OUTPUT_QUANTIZED;
  c.quant.output_dtype = rng_below(rng, 3) == 0 ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
  c.quant.output_scale =
      (float)sqrt((double)k) * 0.02f * (1.0f + (float)rng_below(rng, 100) / 50.0f);
  c.quant.output_zero_point = dtype_min(c.quant.output_dtype) + (int32_t)rng_below(rng, 256);
  c.quant.clamp = (qeq_gemm_clamp)rng_below(rng, 4);
  if (c.quant.output == QEQ_GEMM_OUTPUT_INT32)
    c.quant.clamp = QEQ_GEMM_CLAMP_NONE; /* refused there */
  c.quant.clamp_min = -1.5f, c.quant.clamp_max = 2.25f;
  c.quant.engine = rng_below(rng, 2) ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
  rc->c = c;
}

static void free_random_config(random_config* rc) {
  free(rc->w), free(rc->scales), free(rc->zps), free(rc->bias);
}

static void test_random_configs_every_cap(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed());
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  const size_t shapes[][3] = {{1, 1, 1},    {3, 17, 5},     {9, 33, 64},  {17, 40, 300},
                              {33, 7, 129}, {2, 100, 1000}, {64, 65, 31}, {1, 300, 77}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int rep = 0; rep < 3; rep++) {
      random_config rc;
      make_random_config(&rng, shapes[s][1], shapes[s][2], &rc);
      const size_t m = shapes[s][0], x_stride = rc.c.k + rng_below(&rng, 9);
      uint8_t* x = malloc(m * x_stride);
      for (size_t i = 0; i < m * x_stride; i++) x[i] = (uint8_t)rng_below(&rng, 256);
      for (size_t t = 0; t < n_isas; t++) {
        CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
        check_against_reference(&rc.c, m, x, x_stride, NULL, qeq_isa_name(isas[t]));
        coverage_record_family(QEQ_FAMILY_QU8S8_GEMM, isas[t], 0, 1);
      }
      qeq_clear_isa_cap();
      free(x);
      free_random_config(&rc);
    }
  }
}

/* ---- float outputs: the clamp on the float result, static and dynamic ---- */

static const qeq_gemm_clamp all_clamps[4] = {QEQ_GEMM_CLAMP_NONE, QEQ_GEMM_CLAMP_RELU,
                                             QEQ_GEMM_CLAMP_RELU6, QEQ_GEMM_CLAMP_RANGE};

/* y < lo ? lo : y, then y > hi ? hi : y, with the clamp's real bounds. */
static float clamp_float(float y, qeq_gemm_clamp clamp, float clamp_min, float clamp_max) {
  const float lo = clamp == QEQ_GEMM_CLAMP_NONE    ? -INFINITY
                   : clamp == QEQ_GEMM_CLAMP_RANGE ? clamp_min
                                                   : 0.0f;
  const float hi = clamp == QEQ_GEMM_CLAMP_RELU6   ? 6.0f
                   : clamp == QEQ_GEMM_CLAMP_RANGE ? clamp_max
                                                   : INFINITY;
  y = y < lo ? lo : y;
  return y > hi ? hi : y;
}

/* Static float output with each clamp against the reference (which clamps the float value),
 * under every cap; without a clamp the bits are the unclamped formula's. */
static void test_static_float_output_clamps(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 11);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  const size_t shapes[][3] = {{3, 17, 5}, {9, 40, 64}, {5, 70, 300}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    random_config rc;
    make_random_config(&rng, shapes[s][1], shapes[s][2], &rc);
    rc.c.quant.output = QEQ_GEMM_OUTPUT_FLOAT;
    rc.c.quant.bias = rc.bias; /* both signs of output */
    const size_t m = shapes[s][0];
    uint8_t* x = malloc(m * rc.c.k);
    for (size_t i = 0; i < m * rc.c.k; i++) x[i] = (uint8_t)rng_below(&rng, 256);
    for (size_t c = 0; c < 4; c++) {
      rc.c.quant.clamp = all_clamps[c];
      for (size_t t = 0; t < n_isas; t++) {
        CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
        check_against_reference(&rc.c, m, x, rc.c.k, NULL, qeq_isa_name(isas[t]));
      }
      qeq_clear_isa_cap();
    }
    free(x);
    free_random_config(&rc);
  }
}

/* PyTorch's dynamic LinearReLU (linear_relu_dynamic: the float output, then relu) is the
 * dynamic GEMM with CLAMP_RELU: each clamp gives the unclamped output clamped, bit for bit,
 * under both engines and every cap. */
static void test_dynamic_float_output_clamps(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 12);
  const size_t m = 7, n = 37, k = 45;
  int8_t* w = malloc(n * k);
  float* scales = malloc(n * sizeof(float));
  float* bias = malloc(n * sizeof(float));
  float* x = malloc(m * k * sizeof(float));
  float* plain = malloc(m * n * sizeof(float));
  float* clamped = malloc(m * n * sizeof(float));
  for (size_t i = 0; i < n * k; i++) w[i] = (int8_t)(rng_below(&rng, 256) - 128);
  for (size_t j = 0; j < n; j++) {
    scales[j] = ldexpf(1.0f + (float)rng_below(&rng, 1000) / 1000.0f, -8);
    bias[j] = ((float)rng_below(&rng, 2001) - 1000.0f) / 512.0f;
  }
  for (size_t i = 0; i < m * k; i++) x[i] = ((float)rng_below(&rng, 4001) - 2000.0f) / 500.0f;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  size_t changed = 0;
  for (int engine = 0; engine < 2; engine++) {
    qeq_gemm_config c = qeq_gemm_config_default();
    c.n = n, c.k = k, c.weights = w, c.quant.weight_qparam_count = n,
    c.quant.weight_scales = scales;
    c.quant.bias = bias, c.dynamic = 1, c.quant.output = QEQ_GEMM_OUTPUT_FLOAT;
    c.quant.engine = engine ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
    c.quant.clamp_min = -0.75f, c.quant.clamp_max = 1.25f;
    for (size_t t = 0; t < n_isas; t++) {
      CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
      qeq_gemm* g;
      c.quant.clamp = QEQ_GEMM_CLAMP_NONE;
      CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
      CHECK(qeq_gemm_run_dynamic(g, m, x, k * 4, plain, n * 4, NULL, NULL, NULL) == QEQ_OK, "%s",
            qeq_last_error());
      qeq_gemm_destroy(g);
      for (size_t ci = 1; ci < 4; ci++) {
        c.quant.clamp = all_clamps[ci];
        CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
        CHECK(qeq_gemm_run_dynamic(g, m, x, k * 4, clamped, n * 4, NULL, NULL, NULL) == QEQ_OK,
              "%s", qeq_last_error());
        for (size_t i = 0; i < m * n; i++) {
          const float want =
              clamp_float(plain[i], c.quant.clamp, c.quant.clamp_min, c.quant.clamp_max);
          changed += !same_bits(want, plain[i]);
          CHECK(same_bits(clamped[i], want), "%s engine %d clamp %d [%zu]: %a, want %a",
                qeq_gemm_kernel_name(g), engine, (int)c.quant.clamp, i, (double)clamped[i],
                (double)want);
        }
        qeq_gemm_destroy(g);
      }
    }
    qeq_clear_isa_cap();
  }
  CHECK(changed > 0, "no output was clamped: the test checks nothing");
  free(w), free(scales), free(bias), free(x), free(plain), free(clamped);
}

/* The clamp passes NaN and keeps -0.0 (torch.relu returns both unchanged), on every cap.
 * acc is {5, -5, 0}; s_x * s_w = 1e-60 rounds to 0 (outputs +0 + -0 = +0, -0 + -0 = -0,
 * +0 + -0 = +0) and 1e60 to inf (outputs inf, -inf, 0 * inf = NaN). */
static void test_float_clamp_special_values(void** state) {
  (void)state;
  const int8_t w[3] = {1, -1, 0};
  const float bias[3] = {-0.0f, -0.0f, -0.0f};
  const uint8_t x[1] = {5};
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
    for (int big = 0; big < 2; big++) {
      for (size_t ci = 0; ci < 4; ci++) {
        const float s = big ? 1e30f : 1e-30f;
        qeq_gemm_config c = qeq_gemm_config_default();
        c.n = 3, c.k = 1, c.weights = w, c.quant.weight_scales = &s, c.quant.bias = bias;
        c.quant.input_scale = s, c.quant.output = QEQ_GEMM_OUTPUT_FLOAT;
        c.quant.clamp = all_clamps[ci], c.quant.clamp_min = -2.0f, c.quant.clamp_max = 3.0f;
        qeq_gemm* g;
        CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
        float y[3];
        CHECK(qeq_gemm_run(g, 1, x, 1, y, sizeof y, NULL) == QEQ_OK, "%s", qeq_last_error());
        const float plain[3] = {big ? INFINITY : 0.0f, big ? -INFINITY : -0.0f, big ? NAN : 0.0f};
        for (size_t j = 0; j < 3; j++) {
          const float want =
              clamp_float(plain[j], c.quant.clamp, c.quant.clamp_min, c.quant.clamp_max);
          CHECK(isnan(want) ? isnan(y[j]) : same_bits(y[j], want),
                "%s, s %g, clamp %d: y[%zu] = %a, want %a", qeq_gemm_kernel_name(g), (double)s,
                (int)c.quant.clamp, j, (double)y[j], (double)want);
        }
        qeq_gemm_destroy(g);
      }
    }
  }
  qeq_clear_isa_cap();
}

/* ---- threads: bit-identical for 1, 2 and 3 threads, also with more tasks than rows ---- */

static void test_thread_counts(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 5);
  const size_t shapes[][3] = {{1, 500, 96}, {70, 130, 200}, {5, 33, 1}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    random_config rc;
    make_random_config(&rng, shapes[s][1], shapes[s][2], &rc);
    const size_t m = shapes[s][0];
    uint8_t* x = malloc(m * rc.c.k);
    for (size_t i = 0; i < m * rc.c.k; i++) x[i] = (uint8_t)rng_below(&rng, 256);
    for (size_t threads = 1; threads <= 3; threads++) {
      pthreadpool_t pool = pthreadpool_create(threads);
      assert_non_null(pool);
      check_against_reference(&rc.c, m, x, rc.c.k, pool, "threads");
      pthreadpool_destroy(pool);
    }
    free(x);
    free_random_config(&rc);
  }
}

/* ---- a cap below the packed kernel's ISA: refused, output untouched; allowed again after ---- */

static void test_cap_change_after_packing(void** state) {
  (void)state;
  const int8_t w[6] = {1, -2, 3, -4, 5, -6};
  const float s = 0.01f;
  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = 2, c.k = 3, c.weights = w, c.quant.weight_scales = &s;
  c.quant.output_scale = 0.05f;
  qeq_gemm* g;
  CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
  const uint8_t x[3] = {10, 20, 30};
  uint8_t y[2] = {7, 7};
  if (strstr(qeq_gemm_kernel_name(g), "__scalar") == NULL) {
    CHECK(qeq_set_isa_cap(QEQ_ISA_SCALAR) == QEQ_OK, "cap");
    CHECK(qeq_gemm_run(g, 1, x, 3, y, 2, NULL) == QEQ_ERROR_UNSUPPORTED,
          "a kernel the cap forbids must not run");
    CHECK(y[0] == 7 && y[1] == 7, "output written on failure");
    CHECK(strstr(qeq_last_error(), "qeq_gemm_run") != NULL, "message: %s", qeq_last_error());
    qeq_clear_isa_cap();
  }
  CHECK(qeq_gemm_run(g, 1, x, 3, y, 2, NULL) == QEQ_OK, "%s", qeq_last_error());
  qeq_gemm_destroy(g);
  qeq_gemm_destroy(NULL);
}

/* ---- bad input: a status, a message naming the argument, nothing written ---- */

typedef void (*config_mutator)(qeq_gemm_config*);
static void bad_n(qeq_gemm_config* c) {
  c->n = 0;
}
static void bad_k(qeq_gemm_config* c) {
  c->k = 0;
}
static void bad_weights(qeq_gemm_config* c) {
  c->weights = NULL;
}
static void bad_stride(qeq_gemm_config* c) {
  c->weight_stride_bytes = 1;
}
static void bad_count(qeq_gemm_config* c) {
  c->quant.weight_qparam_count = 3;
}
static void bad_scale_nan(qeq_gemm_config* c) {
  static const float s[2] = {NAN, 1.0f};
  c->quant.weight_scales = s;
}
static void bad_scale_zero(qeq_gemm_config* c) {
  static const float s[2] = {0.0f, 1.0f};
  c->quant.weight_scales = s;
}
static void bad_wzp(qeq_gemm_config* c) {
  static const int32_t z[2] = {128, 0};
  c->quant.weight_zero_points = z;
}
static void bad_bias(qeq_gemm_config* c) {
  static const float b[2] = {INFINITY, 0.0f};
  c->quant.bias = b;
}
static void bad_input_dtype(qeq_gemm_config* c) {
  c->quant.input_dtype = QEQ_DTYPE_QINT32;
}
static void bad_input_scale(qeq_gemm_config* c) {
  c->quant.input_scale = -1.0f;
}
static void bad_input_zp(qeq_gemm_config* c) {
  c->quant.input_zero_point = 256;
}
static void bad_output_zp(qeq_gemm_config* c) {
  c->quant.output_dtype = QEQ_DTYPE_QINT8;
  c->quant.output_zero_point = 200;
}
static void bad_output_scale(qeq_gemm_config* c) {
  c->quant.output_scale = INFINITY;
}
static void bad_multiplier(qeq_gemm_config* c) {
  static const float s[2] = {1e-30f, 1e-30f};
  c->quant.weight_scales = s; /* s_w * s_x underflows to 0 */
  c->quant.input_scale = 1e-20f;
}
static void bad_clamp(qeq_gemm_config* c) {
  c->quant.clamp = QEQ_GEMM_CLAMP_RANGE;
  c->quant.clamp_min = 2.0f, c->quant.clamp_max = 1.0f;
}
static void bad_clamp_kind(qeq_gemm_config* c) {
  c->quant.clamp = (qeq_gemm_clamp)9;
}
static void bad_engine(qeq_gemm_config* c) {
  c->quant.engine = (qeq_gemm_engine)5;
}
static void bad_output(qeq_gemm_config* c) {
  c->quant.output = (qeq_gemm_output)7;
}
static void bad_dynamic(qeq_gemm_config* c) {
  c->dynamic = 1;
}
static void bad_huge_k(qeq_gemm_config* c) {
  c->quant.input_zero_point = 0; /* |x - zx| up to 255, |w| up to 128: k at most 65793 */
  c->k = 70000;
  c->weight_stride_bytes = 70000;
}
static void bad_qnnpack_bias(qeq_gemm_config* c) {
  static const float b[2] = {1e30f, 0.0f};
  c->quant.bias = b;
  c->quant.engine = QEQ_GEMM_ENGINE_QNNPACK;
}
static void bad_int32_relu(qeq_gemm_config* c) {
  c->quant.output = QEQ_GEMM_OUTPUT_INT32;
  c->quant.clamp = QEQ_GEMM_CLAMP_RELU;
}
static void bad_int32_range(qeq_gemm_config* c) {
  c->quant.output = QEQ_GEMM_OUTPUT_INT32;
  c->quant.clamp = QEQ_GEMM_CLAMP_RANGE;
  c->quant.clamp_min = -1.0f, c->quant.clamp_max = 1.0f;
}
static void bad_float_clamp_kind(qeq_gemm_config* c) {
  c->quant.output = QEQ_GEMM_OUTPUT_FLOAT;
  c->quant.clamp = (qeq_gemm_clamp)9;
}
static void bad_float_clamp_range(qeq_gemm_config* c) {
  c->quant.output = QEQ_GEMM_OUTPUT_FLOAT;
  c->quant.clamp = QEQ_GEMM_CLAMP_RANGE;
  c->quant.clamp_min = NAN, c->quant.clamp_max = 1.0f;
}
/* Scales whose reciprocal is inf (1e-40 is subnormal): refused as quantize_f32 refuses them,
 * also where the float output never takes the reciprocal. */
static void bad_subnormal_weight_scale(qeq_gemm_config* c) {
  static const float s[2] = {1e-40f, 0.02f};
  c->quant.weight_scales = s;
  c->quant.output = QEQ_GEMM_OUTPUT_FLOAT;
}
static void bad_subnormal_input_scale(qeq_gemm_config* c) {
  c->quant.input_scale = 1e-40f;
  c->quant.output = QEQ_GEMM_OUTPUT_FLOAT;
}
static void bad_subnormal_output_scale(qeq_gemm_config* c) {
  c->quant.output_scale = 1e-40f;
}

/* A valid config (n 2, k 3, per-channel weights) broken by `mutate`: refused with `status`, a
 * message naming qeq_gemm_create and `names`, *gemm untouched. */
static void expect_config_refused(size_t i, config_mutator mutate, qeq_status status,
                                  const char* names) {
  static int8_t w[2 * 70000];
  static const float scales[2] = {0.02f, 0.03f};
  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = 2, c.k = 3, c.weights = w, c.quant.weight_qparam_count = 2, c.quant.weight_scales = scales;
  c.quant.input_zero_point = 128, c.quant.output_scale = 0.1f;
  mutate(&c);
  qeq_gemm* sentinel = (qeq_gemm*)&c;
  qeq_gemm* g = sentinel;
  const qeq_status st = qeq_gemm_create(&c, &g);
  CHECK(st == status, "case %zu: status %s, want %s (%s)", i, qeq_status_string(st),
        qeq_status_string(status), qeq_last_error());
  CHECK(g == sentinel, "case %zu: *gemm written on failure", i);
  CHECK(strstr(qeq_last_error(), "qeq_gemm_create") != NULL &&
            strstr(qeq_last_error(), names) != NULL,
        "case %zu: message \"%s\" should name qeq_gemm_create and %s", i, qeq_last_error(), names);
}

static void test_bad_configs(void** state) {
  (void)state;
  const struct {
    config_mutator mutate;
    qeq_status status;
    const char* names;
  } cases[] = {
      {bad_n, QEQ_ERROR_INVALID_ARGUMENT, "config->n"},
      {bad_k, QEQ_ERROR_INVALID_ARGUMENT, "config->k"},
      {bad_weights, QEQ_ERROR_INVALID_ARGUMENT, "config->weights"},
      {bad_stride, QEQ_ERROR_INVALID_ARGUMENT, "config->weight_stride_bytes"},
      {bad_count, QEQ_ERROR_SHAPE_MISMATCH, "config->quant.weight_qparam_count"},
      {bad_scale_nan, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.weight_scales[0]"},
      {bad_scale_zero, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.weight_scales[0]"},
      {bad_wzp, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.weight_zero_points[0]"},
      {bad_bias, QEQ_ERROR_NON_FINITE, "config->quant.bias"},
      {bad_input_dtype, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.input_dtype"},
      {bad_input_scale, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.input_scale"},
      {bad_input_zp, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.input_zero_point"},
      {bad_output_zp, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.output_zero_point"},
      {bad_output_scale, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.output_scale"},
      {bad_multiplier, QEQ_ERROR_INVALID_ARGUMENT, "multiplier"},
      {bad_clamp, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.clamp_min"},
      {bad_clamp_kind, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.clamp"},
      {bad_engine, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.engine"},
      {bad_output, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.output"},
      {bad_dynamic, QEQ_ERROR_UNSUPPORTED, "config->quant.output"},
      {bad_huge_k, QEQ_ERROR_UNSUPPORTED, "config->k"},
      {bad_qnnpack_bias, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.bias[0]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    expect_config_refused(i, cases[i].mutate, cases[i].status, cases[i].names);
  }
  CHECK(qeq_gemm_create(NULL, NULL) == QEQ_ERROR_INVALID_ARGUMENT, "NULL config");
}

/* A clamp is checked for every output: the int32 output (the exact accumulator) refuses one,
 * a float output refuses a bad kind or range as the quantized output does. */
static void test_clamp_configs(void** state) {
  (void)state;
  expect_config_refused(0, bad_int32_relu, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.clamp");
  expect_config_refused(1, bad_int32_range, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.clamp");
  expect_config_refused(2, bad_float_clamp_kind, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.clamp");
  expect_config_refused(3, bad_float_clamp_range, QEQ_ERROR_INVALID_ARGUMENT,
                        "config->quant.clamp_min");
}

/* Every scale has a finite reciprocal, as qeq_quantize_f32 requires. */
static void test_subnormal_scales(void** state) {
  (void)state;
  expect_config_refused(0, bad_subnormal_weight_scale, QEQ_ERROR_INVALID_ARGUMENT,
                        "config->quant.weight_scales[0]");
  expect_config_refused(1, bad_subnormal_input_scale, QEQ_ERROR_INVALID_ARGUMENT,
                        "config->quant.input_scale");
  expect_config_refused(2, bad_subnormal_output_scale, QEQ_ERROR_INVALID_ARGUMENT,
                        "config->quant.output_scale");
}

static void test_bad_runs(void** state) {
  (void)state;
  const int8_t w[4 * 8] = {0};
  const float s = 0.01f;
  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = 4, c.k = 8, c.weights = w, c.quant.weight_scales = &s;
  qeq_gemm* g;
  CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
  uint8_t buf[64];
  memset(buf, 0x33, sizeof buf);
  uint8_t x[16] = {0}, y[8];
  memset(y, 0x77, sizeof y);
  const struct {
    qeq_status got;
    const char* name;
  } cases[] = {
      {qeq_gemm_run(NULL, 1, x, 8, y, 4, NULL), "gemm"},
      {qeq_gemm_run(g, 1, NULL, 8, y, 4, NULL), "input"},
      {qeq_gemm_run(g, 1, x, 8, NULL, 4, NULL), "output"},
      {qeq_gemm_run(g, 0, x, 8, y, 4, NULL), "m"},
      {qeq_gemm_run(g, 1, x, 7, y, 4, NULL), "input_stride_bytes"},
      {qeq_gemm_run(g, 2, x, 8, y, 3, NULL), "output_stride_bytes"},
      {qeq_gemm_run(g, 1, buf, 8, buf + 4, 4, NULL), "overlaps"},
      {qeq_gemm_run(g, SIZE_MAX / 4, x, 8, y, 4, NULL), "overflow"},
      {qeq_gemm_run_dynamic(g, 1, (const float*)buf, 32, (float*)y, 16, NULL, NULL, NULL),
       "qeq_gemm_run"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK(cases[i].got != QEQ_OK, "bad run %zu (%s) accepted", i, cases[i].name);
  }
  for (size_t i = 0; i < sizeof y; i++) CHECK(y[i] == 0x77, "output written on failure");
  for (size_t i = 4; i < sizeof buf; i++) CHECK(buf[i] == 0x33, "overlapping output written");
  qeq_gemm_destroy(g);

  /* Dynamic: non-finite input, a stride that is not whole floats, the static entry point. */
  c.dynamic = 1, c.quant.output = QEQ_GEMM_OUTPUT_FLOAT;
  CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
  float xf[16] = {0}, yf[4] = {7, 7, 7, 7};
  xf[5] = NAN;
  CHECK(qeq_gemm_run_dynamic(g, 1, xf, 32, yf, 16, NULL, NULL, NULL) == QEQ_ERROR_NON_FINITE,
        "NaN input accepted");
  CHECK(strstr(qeq_last_error(), "input[0][5]") != NULL, "message: %s", qeq_last_error());
  xf[5] = 0.0f;
  CHECK(qeq_gemm_run_dynamic(g, 1, xf, 33, yf, 16, NULL, NULL, NULL) == QEQ_ERROR_INVALID_ARGUMENT,
        "a stride of 33 bytes accepted");
  CHECK(qeq_gemm_run(g, 1, x, 8, y, 4, NULL) == QEQ_ERROR_INVALID_ARGUMENT,
        "static run of a "
        "dynamic gemm");
  for (size_t i = 0; i < 4; i++) CHECK(yf[i] == 7.0f, "dynamic output written on failure");
  qeq_gemm_destroy(g);
}

/* The status, and a message naming the function and `word`. */
static void expect_run_failure(const char* what, qeq_status got, qeq_status want, const char* fn,
                               const char* word) {
  CHECK(got == want, "%s: status %s, want %s (%s)", what, qeq_status_string(got),
        qeq_status_string(want), qeq_last_error());
  CHECK(strstr(qeq_last_error(), fn) != NULL && strstr(qeq_last_error(), word) != NULL,
        "%s: message \"%s\" should name %s and %s", what, qeq_last_error(), fn, word);
}

/* A GEMM of n 4, k 8 with `output` and `engine` (dynamic when asked). */
static qeq_gemm* small_gemm(qeq_gemm_output output, int dynamic, qeq_gemm_engine engine) {
  static const int8_t w[4 * 8] = {1, 2, 3};
  static const float s = 0.01f;
  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = 4, c.k = 8, c.weights = w, c.quant.weight_scales = &s;
  c.quant.output = output, c.dynamic = dynamic, c.quant.engine = engine;
  qeq_gemm* g = NULL;
  CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
  return g;
}

/* Byte spans beyond PTRDIFF_MAX, though within SIZE_MAX: QEQ_ERROR_SIZE_OVERFLOW, not a read at
 * input + 2^63 nor a false "output overlaps input"; nothing written. */
static void test_run_spans_beyond_ptrdiff(void** state) {
  (void)state;
  static const char run[] = "qeq_gemm_run", dyn[] = "qeq_gemm_run_dynamic";
  qeq_gemm* g = small_gemm(QEQ_GEMM_OUTPUT_QUANTIZED, 0, QEQ_GEMM_ENGINE_ONEDNN);
  uint8_t x[16] = {0}, y[8];
  memset(y, 0x77, sizeof y);
  /* (m - 1) * 2^63 + k fits size_t: the second row would be read at x + 2^63 */
  expect_run_failure("stride 2^63", qeq_gemm_run(g, 2, x, (size_t)1 << 63, y, 4, NULL),
                     QEQ_ERROR_SIZE_OVERFLOW, run, "PTRDIFF_MAX");
  expect_run_failure("output stride 2^63", qeq_gemm_run(g, 2, x, 8, y, (size_t)1 << 63, NULL),
                     QEQ_ERROR_SIZE_OVERFLOW, run, "PTRDIFF_MAX");
  for (size_t i = 0; i < sizeof y; i++) CHECK(y[i] == 0x77, "output written on failure");
  /* A stride of 2^64 - 32 wraps the second input row back onto the first output row (no two
   * rows overlap in address order): an overflow, not an overlap. */
  uint8_t buf[48];
  memset(buf, 0x33, sizeof buf);
  expect_run_failure("wrapping stride", qeq_gemm_run(g, 2, buf + 32, (size_t)0 - 32, buf, 40, NULL),
                     QEQ_ERROR_SIZE_OVERFLOW, run, "PTRDIFF_MAX");
  for (size_t i = 0; i < sizeof buf; i++) CHECK(buf[i] == 0x33, "buf[%zu] written", i);
  qeq_gemm_destroy(g);
  g = small_gemm(QEQ_GEMM_OUTPUT_FLOAT, 1, QEQ_GEMM_ENGINE_ONEDNN);
  float xf[16] = {0}, yf[8];
  for (size_t i = 0; i < 8; i++) yf[i] = -7.0f;
  expect_run_failure("dynamic stride 2^63",
                     qeq_gemm_run_dynamic(g, 2, xf, (size_t)1 << 63, yf, 16, NULL, NULL, NULL),
                     QEQ_ERROR_SIZE_OVERFLOW, dyn, "PTRDIFF_MAX");
  for (size_t i = 0; i < 8; i++) CHECK(yf[i] == -7.0f, "dynamic output written on failure");
  qeq_gemm_destroy(g);
}

/* Float outputs are stored through float pointers: their pointer and output_stride_bytes must be
 * whole floats (as the dynamic input_stride_bytes must), static and dynamic; nothing written. */
static void test_float_output_alignment(void** state) {
  (void)state;
  static const char run[] = "qeq_gemm_run", dyn[] = "qeq_gemm_run_dynamic";
  const uint8_t x[16] = {0};
  float xf[16] = {0}, yf[12];
  for (size_t i = 0; i < 12; i++) yf[i] = -7.0f;
  qeq_gemm* g = small_gemm(QEQ_GEMM_OUTPUT_FLOAT, 0, QEQ_GEMM_ENGINE_ONEDNN);
  expect_run_failure("static float stride 18", qeq_gemm_run(g, 2, x, 8, yf, 18, NULL),
                     QEQ_ERROR_INVALID_ARGUMENT, run, "output_stride_bytes 18");
  expect_run_failure("static float output + 2",
                     qeq_gemm_run(g, 1, x, 8, (uint8_t*)yf + 2, 16, NULL),
                     QEQ_ERROR_INVALID_ARGUMENT, run, "aligned");
  qeq_gemm_destroy(g);
  g = small_gemm(QEQ_GEMM_OUTPUT_INT32, 0, QEQ_GEMM_ENGINE_ONEDNN);
  expect_run_failure("static int32 stride 17", qeq_gemm_run(g, 2, x, 8, yf, 17, NULL),
                     QEQ_ERROR_INVALID_ARGUMENT, run, "output_stride_bytes 17");
  qeq_gemm_destroy(g);
  for (int engine = 0; engine < 2; engine++) {
    g = small_gemm(QEQ_GEMM_OUTPUT_FLOAT, 1, (qeq_gemm_engine)engine);
    expect_run_failure("dynamic stride 18",
                       qeq_gemm_run_dynamic(g, 2, xf, 32, yf, 18, NULL, NULL, NULL),
                       QEQ_ERROR_INVALID_ARGUMENT, dyn, "output_stride_bytes 18");
    qeq_gemm_destroy(g);
  }
  for (size_t i = 0; i < 12; i++) CHECK(yf[i] == -7.0f, "float output written on failure");
}

/* The dynamic run's input_scale / input_zero_point may not lie in the input, the output or
 * each other (the API's overlap rule): refused, the input, output and qparams untouched. */
static void test_dynamic_qparams_overlap(void** state) {
  (void)state;
  static const char dyn[] = "qeq_gemm_run_dynamic";
  for (int engine = 0; engine < 2; engine++) {
    qeq_gemm* g = small_gemm(QEQ_GEMM_OUTPUT_FLOAT, 1, (qeq_gemm_engine)engine);
    float xf[16], xf_copy[16], yf[8];
    for (size_t i = 0; i < 16; i++) xf[i] = (float)i - 5.0f;
    for (size_t i = 0; i < 8; i++) yf[i] = -7.0f;
    memcpy(xf_copy, xf, sizeof xf);
    float scale = -1.0f;
    int32_t zp = -1;
    expect_run_failure("input_scale in the output",
                       qeq_gemm_run_dynamic(g, 2, xf, 32, yf, 16, NULL, &yf[5], &zp),
                       QEQ_ERROR_INVALID_ARGUMENT, dyn, "input_scale overlaps output");
    expect_run_failure("input_zero_point in the output",
                       qeq_gemm_run_dynamic(g, 2, xf, 32, yf, 16, NULL, NULL, (int32_t*)&yf[0]),
                       QEQ_ERROR_INVALID_ARGUMENT, dyn, "input_zero_point overlaps output");
    expect_run_failure("input_zero_point in the input",
                       qeq_gemm_run_dynamic(g, 2, xf, 32, yf, 16, NULL, &scale, (int32_t*)&xf[3]),
                       QEQ_ERROR_INVALID_ARGUMENT, dyn, "input_zero_point overlaps input");
    expect_run_failure("input_scale in the input",
                       qeq_gemm_run_dynamic(g, 2, xf, 32, yf, 16, NULL, &xf[0], NULL),
                       QEQ_ERROR_INVALID_ARGUMENT, dyn, "input_scale overlaps input");
    expect_run_failure("input_scale on input_zero_point",
                       qeq_gemm_run_dynamic(g, 2, xf, 32, yf, 16, NULL, (float*)(void*)&zp, &zp),
                       QEQ_ERROR_INVALID_ARGUMENT, dyn, "same buffer");
    CHECK(memcmp(xf, xf_copy, sizeof xf) == 0, "input modified on failure");
    CHECK(scale == -1.0f && zp == -1, "qparams written on failure");
    for (size_t i = 0; i < 8; i++) CHECK(yf[i] == -7.0f, "dynamic output written on failure");
    /* separate qparams: accepted */
    CHECK(qeq_gemm_run_dynamic(g, 2, xf, 32, yf, 16, NULL, &scale, &zp) == QEQ_OK, "%s",
          qeq_last_error());
    CHECK(scale > 0.0f && zp >= 0 && zp <= 255, "qparams %g, %d", (double)scale, (int)zp);
    qeq_gemm_destroy(g);
  }
}

/* ---- PyTorch's own outputs (tests/golden/gemm.txt), under every ISA cap ---- */

static size_t field_count(const golden_case* gc, const char* key) {
  const golden_field* f = golden_get(gc, key);
  return f ? f->count : 0;
}

static void ints_of(const golden_case* gc, const char* key, int32_t* out) {
  const golden_field* f = golden_get(gc, key);
  for (size_t i = 0; i < f->count; i++) out[i] = (int32_t)f->values[i];
}

static void run_golden_case(const golden_case* gc, size_t* cases, size_t* dynamic_exact,
                            size_t* dynamic_values, double* dynamic_max_ulp) {
  const size_t m = (size_t)golden_int(gc, "m"), n = (size_t)golden_int(gc, "n"),
               k = (size_t)golden_int(gc, "k");
  const int dynamic = golden_int(gc, "kind") == 1;
  const size_t wc = field_count(gc, "w_scale");
  int8_t* w = malloc(n * k);
  int32_t* wi = malloc(n * k * sizeof(int32_t));
  float* w_scale = malloc(wc * sizeof(float));
  int32_t* w_zp = malloc(wc * sizeof(int32_t));
  float* bias = malloc(n * sizeof(float));
  ints_of(gc, "wq", wi);
  for (size_t i = 0; i < n * k; i++) w[i] = (int8_t)wi[i];
  golden_floats(gc, "w_scale", w_scale, wc);
  ints_of(gc, "w_zp", w_zp);
  const int has_bias = golden_int(gc, "has_bias") != 0;
  if (has_bias) golden_floats(gc, "bias", bias, n);

  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = n, c.k = k, c.weights = w, c.quant.weight_qparam_count = wc,
  c.quant.weight_scales = w_scale;
  c.quant.weight_zero_points = w_zp, c.quant.bias = has_bias ? bias : NULL;
  c.quant.engine = golden_int(gc, "engine") ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  if (!dynamic) {
    c.quant.input_dtype = golden_int(gc, "x_dtype") ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
    c.quant.output_dtype =
        c.quant.input_dtype; /* PyTorch's qint8 Linear (via XNNPACK) outputs qint8 */
    golden_floats(gc, "x_scale", &c.quant.input_scale, 1);
    c.quant.input_zero_point = (int32_t)golden_int(gc, "x_zp");
    golden_floats(gc, "y_scale", &c.quant.output_scale, 1);
    c.quant.output_zero_point = (int32_t)golden_int(gc, "y_zp");
    c.quant.clamp = golden_int(gc, "relu") ? QEQ_GEMM_CLAMP_RELU : QEQ_GEMM_CLAMP_NONE;
    int32_t* xi = malloc(m * k * sizeof(int32_t));
    int32_t* yi = malloc(m * n * sizeof(int32_t));
    uint8_t* x = malloc(m * k);
    uint8_t* y = malloc(m * n);
    ints_of(gc, "xq", xi);
    ints_of(gc, "yq", yi);
    for (size_t i = 0; i < m * k; i++) x[i] = (uint8_t)xi[i];
    for (size_t t = 0; t < n_isas; t++) {
      CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
      qeq_gemm* g;
      CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s: %s", gc->name, qeq_last_error());
      CHECK(qeq_gemm_run(g, m, x, k, y, n, NULL) == QEQ_OK, "%s: %s", gc->name, qeq_last_error());
      size_t bad = 0, first = 0;
      for (size_t i = 0; i < m * n; i++) {
        if ((int32_t)(c.quant.output_dtype == QEQ_DTYPE_QINT8 ? (int8_t)y[i] : y[i]) != yi[i]) {
          if (bad++ == 0) first = i;
        }
      }
      CHECK(bad == 0,
            "%s under %s: %zu of %zu outputs differ from PyTorch (first [%zu]: %d, "
            "PyTorch %d)",
            gc->name, qeq_gemm_kernel_name(g), bad, m * n, first, y[first], (int)yi[first]);
      coverage_record_family(QEQ_FAMILY_QU8S8_GEMM, isas[t], 0, 1);
      qeq_gemm_destroy(g);
    }
    free(xi), free(yi), free(x), free(y);
  } else {
    c.dynamic = 1;
    c.quant.output = QEQ_GEMM_OUTPUT_FLOAT;
    c.reduce_range = (int)golden_int(gc, "reduce_range");
    float* x = malloc(m * k * sizeof(float));
    float* want = malloc(m * n * sizeof(float));
    float* y = malloc(m * n * sizeof(float));
    golden_floats(gc, "x", x, m * k);
    golden_floats(gc, "y", want, m * n);
    float want_scale;
    golden_floats(gc, "x_scale", &want_scale, 1);
    const int32_t want_zp = (int32_t)golden_int(gc, "x_zp");
    for (size_t t = 0; t < n_isas; t++) {
      CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
      qeq_gemm* g;
      CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s: %s", gc->name, qeq_last_error());
      float scale;
      int32_t zp;
      CHECK(qeq_gemm_run_dynamic(g, m, x, k * 4, y, n * 4, NULL, &scale, &zp) == QEQ_OK, "%s: %s",
            gc->name, qeq_last_error());
      CHECK(same_bits(scale, want_scale) && zp == want_zp,
            "%s: input qparams (%a, %d), PyTorch chose (%a, %d)", gc->name, (double)scale, (int)zp,
            (double)want_scale, (int)want_zp);
      for (size_t i = 0; i < m * n; i++) {
        const double ulp = fabs((double)y[i] - want[i]) /
                           (double)(nextafterf(fabsf(want[i]), INFINITY) - fabsf(want[i]));
        *dynamic_exact += same_bits(y[i], want[i]);
        *dynamic_max_ulp = ulp > *dynamic_max_ulp ? ulp : *dynamic_max_ulp;
      }
      *dynamic_values += m * n;
      coverage_record_family(QEQ_FAMILY_QU8S8_GEMM, isas[t], 0, 1);
      qeq_gemm_destroy(g);
    }
    free(x), free(want), free(y);
  }
  qeq_clear_isa_cap();
  free(w), free(wi), free(w_scale), free(w_zp), free(bias);
  (*cases)++;
}

static void test_pytorch_golden(void** state) {
  (void)state;
  golden_file* f = golden_open("gemm.txt");
  CHECK(f != NULL, "tests/golden/gemm.txt is missing: run tests/golden/generate.py");
  golden_case gc;
  memset(&gc, 0, sizeof gc); /* golden_next frees the previous case's fields */
  size_t cases = 0, exact = 0, values = 0;
  double max_ulp = 0.0;
  while (golden_next(f, &gc)) run_golden_case(&gc, &cases, &exact, &values, &max_ulp);
  golden_close(f, &gc);
  printf(
      "  %zu PyTorch cases matched; dynamic Linear: %zu of %zu floats bit-identical, at most "
      "%.1f ulp apart\n",
      cases, exact, values, max_ulp);
  CHECK(cases >= 10, "only %zu golden cases", cases);
  CHECK(exact == values, "dynamic outputs differ from PyTorch (max %.1f ulp)", max_ulp);
}

/* ---- docs/numerics.md#the-avx2-fast-path: qint8 inputs reach the kernel flipped (x ^ 0x80),
 * and the fast path's bound holds for the flipped bytes; the path counters ---- */

/* Runs c on x (m rows) under every detected cap against the reference; returns the tiles the
 * AVX2 kernel counted on each path (fast, exact), 0 elsewhere. */
static void run_counting(const qeq_gemm_config* c, size_t m, const uint8_t* x, qeq_isa isa,
                         uint64_t* fast, uint64_t* exact) {
  CHECK(qeq_set_isa_cap(isa) == QEQ_OK, "cap");
  check_against_reference(c, m, x, c->k, NULL, qeq_isa_name(isa));
  qeq_gemm* g = NULL;
  CHECK(qeq_gemm_create(c, &g) == QEQ_OK, "%s", qeq_last_error());
  int32_t* y = malloc(m * c->n * sizeof(int32_t));
  *fast = *exact = 99;
  CHECK(qeq_gemm_path_tiles(g, fast, exact) == QEQ_OK && *fast == 0 && *exact == 0,
        "a new GEMM counts no tiles");
  CHECK(qeq_gemm_run(g, m, x, c->k, y, c->n * sizeof(int32_t), NULL) == QEQ_OK, "%s",
        qeq_last_error());
  CHECK(qeq_gemm_path_tiles(g, fast, exact) == QEQ_OK, "%s", qeq_last_error());
  if (!kernel_has_pair_path(qeq_gemm_kernel_name(g))) {
    CHECK(*fast == 0 && *exact == 0, "%s counts paths it does not have", qeq_gemm_kernel_name(g));
  }
  free(y);
  qeq_gemm_destroy(g);
  qeq_clear_isa_cap();
}

static void test_fast_path_qint8_flip(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 23);
  enum { M = 13, N = 40, K = 67 };
  int8_t w[N * K];
  for (size_t i = 0; i < N * K; i++) w[i] = (int8_t)((int)rng_below(&rng, 256) - 128);
  for (size_t j = 0; j < N; j++) w[j * K + 2 * (j % 30)] = 127, w[j * K + 2 * (j % 30) + 1] = 127;
  const float scale = 0.01f;
  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = N, c.k = K, c.weights = w, c.quant.weight_scales = &scale;
  c.quant.input_dtype = QEQ_DTYPE_QINT8;
  c.quant.input_zero_point = -3;
  c.quant.output = QEQ_GEMM_OUTPUT_INT32;
  /* Negative qint8 values flip to [0, 127]: 127 * 256 <= 32767, the fast path everywhere.
   * Non-negative ones flip to [128, 255], 127 among them: 255 * 254 > 32767, exact. */
  uint8_t low[M * K], high[M * K];
  for (size_t i = 0; i < M * K; i++) {
    low[i] = (uint8_t)(int8_t)(-1 - (int)rng_below(&rng, 128));
    high[i] = (uint8_t)rng_below(&rng, 128);
  }
  for (size_t r = 0; r < M; r++) {
    for (size_t i = 0; i < 60; i++) low[r * K + i] = (uint8_t)(int8_t)-1, high[r * K + i] = 127;
  }
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    uint64_t fast_low, exact_low, fast_high, exact_high;
    run_counting(&c, M, low, isas[t], &fast_low, &exact_low);
    run_counting(&c, M, high, isas[t], &fast_high, &exact_high);
    if (isas[t] == QEQ_ISA_AVX2 || isas[t] == QEQ_ISA_AVX512) {
      CHECK(fast_low > 0 && exact_low == 0, "%s, qint8 < 0: %llu fast, %llu exact tiles",
            qeq_isa_name(isas[t]), (unsigned long long)fast_low, (unsigned long long)exact_low);
      CHECK(fast_high == 0 && exact_high == fast_low,
            "%s, qint8 >= 0: %llu fast, %llu exact tiles (want 0, %llu)", qeq_isa_name(isas[t]),
            (unsigned long long)fast_high, (unsigned long long)exact_high,
            (unsigned long long)fast_low);
    }
  }
  qeq_gemm* g = NULL;
  CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s", qeq_last_error());
  uint64_t f = 0, e = 0;
  CHECK(qeq_gemm_path_tiles(NULL, &f, &e) == QEQ_ERROR_INVALID_ARGUMENT &&
            strstr(qeq_last_error(), "qeq_gemm_path_tiles: gemm") != NULL,
        "NULL gemm: %s", qeq_last_error());
  CHECK(qeq_gemm_path_tiles(g, NULL, &e) == QEQ_ERROR_INVALID_ARGUMENT &&
            strstr(qeq_last_error(), "fast_tiles") != NULL,
        "NULL fast_tiles: %s", qeq_last_error());
  CHECK(qeq_gemm_path_tiles(g, &f, NULL) == QEQ_ERROR_INVALID_ARGUMENT &&
            strstr(qeq_last_error(), "exact_tiles") != NULL,
        "NULL exact_tiles: %s", qeq_last_error());
  qeq_gemm_destroy(g);
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("GEMM API under each ISA cap", 0) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_gemm: seed %llu (QEQ_TEST_SEED)\n", (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_vector),
      cmocka_unit_test(test_random_configs_every_cap),
      cmocka_unit_test(test_thread_counts),
      cmocka_unit_test(test_cap_change_after_packing),
      cmocka_unit_test(test_static_float_output_clamps),
      cmocka_unit_test(test_dynamic_float_output_clamps),
      cmocka_unit_test(test_float_clamp_special_values),
      cmocka_unit_test(test_bad_configs),
      cmocka_unit_test(test_clamp_configs),
      cmocka_unit_test(test_subnormal_scales),
      cmocka_unit_test(test_bad_runs),
      cmocka_unit_test(test_run_spans_beyond_ptrdiff),
      cmocka_unit_test(test_float_output_alignment),
      cmocka_unit_test(test_dynamic_qparams_overlap),
      cmocka_unit_test(test_pytorch_golden),
      cmocka_unit_test(test_fast_path_qint8_flip),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
