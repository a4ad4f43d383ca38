/* Hardswish, hardsigmoid, sigmoid and multiply (the last block of qeq/qops.h): PyTorch 1.13's
 * outputs on pinned inputs (ties where its two engines round apart) and, for sigmoid, on every
 * input level (tests/golden/sigmoid.txt) under every ISA cap; random shapes, pixel strides and
 * broadcasts against a per-element reference written here, in place, and bad input refused with
 * a message and nothing written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/golden.h"
#include "tests/support/test-support.h"

/* ---- per-element references (no table, no shared code with the library) ---- */

static int32_t level_of(uint8_t byte, qeq_dtype dtype) {
  return dtype == QEQ_DTYPE_QINT8 ? (int32_t)(int8_t)byte : (int32_t)byte;
}

static int32_t saturate(double r, int32_t zero_point, qeq_dtype dtype) {
  const double lo = dtype == QEQ_DTYPE_QINT8 ? -128.0 : 0.0, hi = lo + 255.0;
  const double v = r + zero_point;
  return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

enum { HARDSWISH, HARDSIGMOID, SIGMOID };
static const char* const op_names[3] = {"hardswish", "hardsigmoid", "sigmoid"};

/* PyTorch's vectorised float32 exp (Sleef's expf_u10 on AVX2 / AVX-512): n = rne(d / ln 2),
 * the remainder in two fused steps, a degree-7 polynomial, then 2^n. */
static float ref_vector_expf(float d) {
  if (d < -104.0f) return 0.0f;
  if (d > 100.0f) return INFINITY;
  const float n = rintf(d * 1.44269504088896340736f) /* f32(1 / ln 2) */;
  const float r = fmaf(n, -1.428606765330187045e-06f, fmaf(n, -0.693145751953125f, d));
  static const float c[6] = {0.000198527617612853646278381f, 0.00139304355252534151077271f,
                             0.00833336077630519866943359f,  0.0416664853692054748535156f,
                             0.166666671633720397949219f,    0.5f};
  float p = c[0];
  for (int i = 1; i < 6; i++) p = fmaf(p, r, c[i]);
  return ldexpf(1.0f + fmaf(r * r, p, r), (int)n);
}

static float activation(int op, float x) {
  if (op == SIGMOID) return 1.0f / (1.0f + ref_vector_expf(-x));
  const float t = fminf(fmaxf(x + 3.0f, 0.0f), 6.0f);
  return op == HARDSIGMOID ? t / 6.0f : x * t / 6.0f;
}

/* PyTorch's vectorised rule (and qint8 under qnnpack), or QNNPACK's table rule (for sigmoid
 * 256 / (1 + expf(-x)) with the C library's expf, as QNNPACK computes it). */
static uint8_t ref_activation(int op, uint8_t byte, const qeq_q8_tensor* x, const qeq_q8_tensor* y,
                              qeq_gemm_engine engine) {
  const int32_t q = level_of(byte, x->dtype);
  if (engine == QEQ_GEMM_ENGINE_QNNPACK && x->dtype == QEQ_DTYPE_QUINT8 && op == SIGMOID) {
    const float v = 256.0f / (1.0f + expf(-(x->scale * (float)(q - x->zero_point))));
    return (uint8_t)rint(fmin(fmax((double)v, 0.0), 255.0));
  }
  if (engine == QEQ_GEMM_ENGINE_QNNPACK && x->dtype == QEQ_DTYPE_QUINT8) {
    const float v = activation(op, x->scale * (float)(q - x->zero_point));
    const float product = (1.0f / y->scale) * v;
    const float shifted = product + (float)y->zero_point;
    return (uint8_t)rint(fmin(fmax((double)shifted, 0.0), 255.0));
  }
  const float dq = fmaf((float)q, x->scale, x->scale * (float)-x->zero_point);
  const float scaled = activation(op, dq) * (1.0f / y->scale);
  return (uint8_t)saturate(rint((double)scaled), y->zero_point, y->dtype);
}

static uint8_t ref_mul(uint8_t a, const qeq_q8_tensor* at, uint8_t b, const qeq_q8_tensor* bt,
                       const qeq_q8_tensor* y, int relu) {
  const int32_t p =
      (level_of(a, at->dtype) - at->zero_point) * (level_of(b, bt->dtype) - bt->zero_point);
  const float m = at->scale * bt->scale * (1.0f / y->scale);
  double r = rint((double)((float)p * m));
  if (relu && r < 0.0) r = 0.0;
  return (uint8_t)saturate(r, y->zero_point, y->dtype);
}

/* ---- PyTorch's outputs (printed by PyTorch 1.13 for these inputs) ---- */

static void run_activation(int op, const qeq_q8_tensor* x, const uint8_t* in,
                           qeq_gemm_engine engine, const qeq_q8_tensor* y, uint8_t* out) {
  const qeq_status st = op == SIGMOID       ? qeq_q8_sigmoid(x, in, engine, y, out)
                        : op == HARDSIGMOID ? qeq_q8_hardsigmoid(x, in, engine, y, out)
                                            : qeq_q8_hardswish(x, in, engine, y, out);
  CHECK(st == QEQ_OK, "%s", qeq_last_error());
}

static void test_pytorch_values(void** state) {
  (void)state;
  /* quint8 at (0.515625, 73) into (0.12890625, 13): levels 69 and 77 land on ties that
   * QNNPACK's rule (zero point added before rounding) rounds down and onednn's up. */
  const uint8_t x[5] = {69, 77, 0, 255, 73};
  const qeq_q8_tensor xt = qeq_q8_tensor_make(1, 1, 1, 5, QEQ_DTYPE_QUINT8, 0.515625f, 73);
  const qeq_q8_tensor yt = qeq_q8_tensor_make(1, 1, 1, 5, QEQ_DTYPE_QUINT8, 0.12890625f, 13);
  const qeq_q8_tensor st = qeq_q8_tensor_make(1, 1, 1, 5, QEQ_DTYPE_QUINT8, 0x1p-8f, 0);
  static const uint8_t swish[2][5] = {{11, 27, 13, 255, 13}, {10, 26, 13, 255, 13}};
  static const uint8_t sigmoid[5] = {40, 216, 0, 255, 128};
  for (int e = 0; e < 2; e++) {
    uint8_t y[5];
    run_activation(HARDSWISH, &xt, x, (qeq_gemm_engine)e, &yt, y);
    CHECK(memcmp(y, swish[e], 5) == 0, "hardswish engine %d: %d %d", e, y[0], y[1]);
    run_activation(HARDSIGMOID, &xt, x, (qeq_gemm_engine)e, &st, y);
    CHECK(memcmp(y, sigmoid, 5) == 0, "hardsigmoid engine %d: %d", e, y[0]);
  }
  /* qint8 at (0.05, -3): hardswish into (0.02, 7), hardsigmoid into (1/256, -128). */
  const int8_t xs[5] = {-128, -1, 0, 5, 127};
  const qeq_q8_tensor xst = qeq_q8_tensor_make(1, 1, 1, 5, QEQ_DTYPE_QINT8, 0.05f, -3);
  const qeq_q8_tensor yst = qeq_q8_tensor_make(1, 1, 1, 5, QEQ_DTYPE_QINT8, 0.02f, 7);
  const qeq_q8_tensor sst = qeq_q8_tensor_make(1, 1, 1, 5, QEQ_DTYPE_QINT8, 0x1p-8f, -128);
  static const int8_t swish_s[5] = {7, 10, 11, 18, 127}, sigmoid_s[5] = {-128, 4, 6, 17, 127};
  for (int e = 0; e < 2; e++) {
    int8_t y[5];
    run_activation(HARDSWISH, &xst, (const uint8_t*)xs, (qeq_gemm_engine)e, &yst, (uint8_t*)y);
    CHECK(memcmp(y, swish_s, 5) == 0, "qint8 hardswish engine %d: %d", e, y[0]);
    run_activation(HARDSIGMOID, &xst, (const uint8_t*)xs, (qeq_gemm_engine)e, &sst, (uint8_t*)y);
    CHECK(memcmp(y, sigmoid_s, 5) == 0, "qint8 hardsigmoid engine %d: %d", e, y[0]);
  }
  /* mul and mul_relu: (0.02, 128) x (0.03, 100) into (0.01, 120). */
  const uint8_t a[3] = {200, 3, 130}, b[3] = {17, 250, 90};
  const qeq_q8_tensor at = qeq_q8_tensor_make(1, 1, 1, 3, QEQ_DTYPE_QUINT8, 0.02f, 128);
  const qeq_q8_tensor bt = qeq_q8_tensor_make(1, 1, 1, 3, QEQ_DTYPE_QUINT8, 0.03f, 100);
  const qeq_q8_tensor mt = qeq_q8_tensor_make(1, 1, 1, 3, QEQ_DTYPE_QUINT8, 0.01f, 120);
  uint8_t y[3];
  static const uint8_t mul_want[3] = {0, 0, 119}, relu_want[3] = {120, 120, 120};
  CHECK(qeq_q8_mul(&at, a, &bt, b, &mt, y) == QEQ_OK, "%s", qeq_last_error());
  CHECK(memcmp(y, mul_want, 3) == 0, "mul: %d %d %d", y[0], y[1], y[2]);
  CHECK(qeq_q8_mul_relu(&at, a, &bt, b, &mt, y) == QEQ_OK, "%s", qeq_last_error());
  CHECK(memcmp(y, relu_want, 3) == 0, "mul_relu: %d %d %d", y[0], y[1], y[2]);
}

/* Every level of sigmoid.txt's cases, under every ISA cap this CPU has. */
static void test_sigmoid_golden(void** state) {
  (void)state;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    golden_file* f = golden_open("sigmoid.txt");
    CHECK(f != NULL, "tests/golden/sigmoid.txt missing");
    golden_case gc;
    memset(&gc, 0, sizeof gc);
    size_t cases[2][2] = {{0}}, failures = 0;
    while (golden_next(f, &gc)) {
      const int engine = (int)golden_int(&gc, "engine"), is_signed = (int)golden_int(&gc, "dtype");
      const qeq_dtype dtype = is_signed ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
      float scale;
      golden_floats(&gc, "x_scale", &scale, 1);
      const qeq_q8_tensor xt =
          qeq_q8_tensor_make(1, 2, 2, 64, dtype, scale, (int32_t)golden_int(&gc, "x_zp"));
      const qeq_q8_tensor yt =
          qeq_q8_tensor_make(1, 2, 2, 64, dtype, 0x1p-8f, is_signed ? -128 : 0);
      const golden_field* want = golden_get(&gc, "y");
      CHECK(want != NULL && want->count == 256, "%s: y holds 256 levels", gc.name);
      uint8_t x[256], y[256];
      for (int i = 0; i < 256; i++) x[i] = (uint8_t)(is_signed ? i - 128 : i);
      run_activation(SIGMOID, &xt, x, (qeq_gemm_engine)engine, &yt, y);
      size_t differ = 0;
      for (int i = 0; i < 256; i++) differ += level_of(y[i], dtype) != (int32_t)want->values[i];
      if (differ != 0) print_error("%s: %zu levels differ from PyTorch\n", gc.name, differ);
      failures += differ != 0;
      cases[engine][is_signed]++;
    }
    golden_close(f, &gc);
    CHECK(failures == 0, "%s: %zu sigmoid cases differ", qeq_isa_name(isas[t]), failures);
    for (int e = 0; e < 2; e++) {
      CHECK(cases[e][0] > 0 && cases[e][1] > 0, "engine %d lacks a dtype's fixtures", e);
    }
  }
  qeq_clear_isa_cap();
}

/* ---- random cases against the references ---- */

typedef struct buffer {
  qeq_q8_tensor t;
  uint8_t* data;
  size_t bytes;
} buffer;

static float random_scale(test_rng* rng) {
  /* power-of-two fractions (ties) half the time, else spread over 2^-16 .. 2^8 */
  if (rng_below(rng, 2)) return (float)(1 + rng_below(rng, 63)) / (float)(8u << rng_below(rng, 6));
  return ldexpf(1.0f + (float)rng_below(rng, 1000) / 1000.0f, (int)rng_below(rng, 24) - 16);
}

static buffer make(test_rng* rng, size_t n, size_t h, size_t w, size_t c, qeq_dtype dtype) {
  buffer r;
  const int32_t qmin = dtype == QEQ_DTYPE_QINT8 ? -128 : 0;
  r.t =
      qeq_q8_tensor_make(n, h, w, c, dtype, random_scale(rng), qmin + (int32_t)rng_below(rng, 256));
  if (rng_below(rng, 3) == 0) r.t.pixel_stride_bytes = c + 1 + rng_below(rng, 7);
  const size_t stride = r.t.pixel_stride_bytes ? r.t.pixel_stride_bytes : c;
  r.bytes = n * h * w * stride + 1;
  r.data = malloc(r.bytes);
  for (size_t i = 0; i < r.bytes; i++) r.data[i] = (uint8_t)rng_next(rng);
  return r;
}

static size_t stride_of(const qeq_q8_tensor* t) {
  return t->pixel_stride_bytes ? t->pixel_stride_bytes : t->c;
}

static void random_activation(test_rng* rng, int op) {
  const qeq_dtype dtype = rng_below(rng, 2) ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
  const qeq_gemm_engine engine = (qeq_gemm_engine)rng_below(rng, 2);
  const size_t n = 1 + rng_below(rng, 2), h = 1 + rng_below(rng, 5), w = 1 + rng_below(rng, 5),
               c = 1 + rng_below(rng, 70);
  buffer x = make(rng, n, h, w, c, dtype), y = make(rng, n, h, w, c, dtype);
  if (op != HARDSWISH) y.t.scale = 0x1p-8f, y.t.zero_point = dtype == QEQ_DTYPE_QINT8 ? -128 : 0;
  uint8_t* want = malloc(y.bytes);
  memcpy(want, y.data, y.bytes);
  for (size_t p = 0; p < n * h * w; p++) {
    for (size_t k = 0; k < c; k++) {
      want[p * stride_of(&y.t) + k] =
          ref_activation(op, x.data[p * stride_of(&x.t) + k], &x.t, &y.t, engine);
    }
  }
  run_activation(op, &x.t, x.data, engine, &y.t, y.data);
  for (size_t i = 0; i < y.bytes; i++) {
    CHECK(y.data[i] == want[i], "%s engine %d dtype %d: byte %zu: %d, reference %d", op_names[op],
          (int)engine, (int)dtype, i, y.data[i], want[i]);
  }
  /* in place, when the layouts agree */
  y.t.pixel_stride_bytes = x.t.pixel_stride_bytes;
  const size_t bytes = n * h * w * stride_of(&x.t);
  uint8_t* copy = malloc(bytes);
  memcpy(copy, x.data, bytes);
  run_activation(op, &x.t, x.data, engine, &y.t, copy);
  run_activation(op, &x.t, x.data, engine, &y.t, x.data);
  CHECK(memcmp(copy, x.data, bytes) == 0, "in place differs");
  free(copy);
  free(want), free(x.data), free(y.data);
}

static void random_mul(test_rng* rng) {
  const qeq_dtype dtype = rng_below(rng, 2) ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
  const int relu = (int)rng_below(rng, 2);
  const size_t ys[4] = {1 + rng_below(rng, 3), 1 + rng_below(rng, 5), 1 + rng_below(rng, 5),
                        1 + rng_below(rng, 40)};
  size_t as[4], bs[4];
  const size_t a_ones = rng_below(rng, 16), b_ones = rng_below(rng, 2) ? 0 : rng_below(rng, 16);
  for (int i = 0; i < 4; i++) {
    as[i] = a_ones >> i & 1 ? 1 : ys[i];
    bs[i] = b_ones >> i & 1 ? 1 : ys[i];
  }
  buffer a = make(rng, as[0], as[1], as[2], as[3], dtype);
  buffer b = make(rng, bs[0], bs[1], bs[2], bs[3], dtype);
  buffer y = make(rng, as[0] > bs[0] ? as[0] : bs[0], as[1] > bs[1] ? as[1] : bs[1],
                  as[2] > bs[2] ? as[2] : bs[2], as[3] > bs[3] ? as[3] : bs[3], dtype);
  uint8_t* want = malloc(y.bytes);
  memcpy(want, y.data, y.bytes);
  for (size_t n = 0; n < y.t.n; n++) {
    for (size_t h = 0; h < y.t.h; h++) {
      for (size_t w = 0; w < y.t.w; w++) {
        for (size_t c = 0; c < y.t.c; c++) {
#define AT(t, v) (t.v == 1 ? 0 : v)
          const size_t ai =
              ((AT(a.t, n) * a.t.h + AT(a.t, h)) * a.t.w + AT(a.t, w)) * stride_of(&a.t) +
              AT(a.t, c);
          const size_t bi =
              ((AT(b.t, n) * b.t.h + AT(b.t, h)) * b.t.w + AT(b.t, w)) * stride_of(&b.t) +
              AT(b.t, c);
#undef AT
          want[((n * y.t.h + h) * y.t.w + w) * stride_of(&y.t) + c] =
              ref_mul(a.data[ai], &a.t, b.data[bi], &b.t, &y.t, relu);
        }
      }
    }
  }
  const qeq_status st = relu ? qeq_q8_mul_relu(&a.t, a.data, &b.t, b.data, &y.t, y.data)
                             : qeq_q8_mul(&a.t, a.data, &b.t, b.data, &y.t, y.data);
  CHECK(st == QEQ_OK, "%s", qeq_last_error());
  for (size_t i = 0; i < y.bytes; i++) {
    CHECK(y.data[i] == want[i], "mul (relu %d, dtype %d): byte %zu: %d, reference %d", relu,
          (int)dtype, i, y.data[i], want[i]);
  }
  free(want), free(a.data), free(b.data), free(y.data);
}

static void test_random_against_reference(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed());
  for (size_t i = 0; i < test_iterations(300); i++) {
    random_activation(&rng, HARDSWISH);
    random_activation(&rng, HARDSIGMOID);
    random_activation(&rng, SIGMOID);
    random_mul(&rng);
  }
}

static void test_mul_in_place(void** state) {
  (void)state;
  /* squeeze-excite: y = scale[n, c] * x[n, h, w, c], written over x */
  uint8_t s[2 * 3], x[2 * 4 * 3], want[2 * 4 * 3];
  for (int i = 0; i < 6; i++) s[i] = (uint8_t)(40 * i + 7);
  for (int i = 0; i < 24; i++) x[i] = (uint8_t)(11 * i + 3);
  const qeq_q8_tensor st = qeq_q8_tensor_make(2, 1, 1, 3, QEQ_DTYPE_QUINT8, 1.0f / 256, 0);
  const qeq_q8_tensor xt = qeq_q8_tensor_make(2, 2, 2, 3, QEQ_DTYPE_QUINT8, 0.05f, 10);
  CHECK(qeq_q8_mul(&st, s, &xt, x, &xt, want) == QEQ_OK, "%s", qeq_last_error());
  CHECK(qeq_q8_mul(&st, s, &xt, x, &xt, x) == QEQ_OK, "%s", qeq_last_error());
  CHECK(memcmp(want, x, sizeof x) == 0, "in place differs");
}

/* ---- refusals ---- */

static void expect_refusal(const char* what, qeq_status st, qeq_status want, const char* fn,
                           const char* arg, const uint8_t* y, size_t bytes) {
  CHECK(st == want, "%s: status %d, want %d (%s)", what, (int)st, (int)want, qeq_last_error());
  CHECK(strstr(qeq_last_error(), fn) != NULL, "%s: message \"%s\" lacks %s", what, qeq_last_error(),
        fn);
  CHECK(strstr(qeq_last_error(), arg) != NULL, "%s: message \"%s\" lacks %s", what,
        qeq_last_error(), arg);
  for (size_t i = 0; i < bytes; i++)
    CHECK(y[i] == 0xEE, "%s: byte %zu written on failure", what, i);
}

static void test_bad_input(void** state) {
  (void)state;
  uint8_t x[2 * 2 * 4], y[2 * 2 * 4 + 8];
  memset(x, 7, sizeof x), memset(y, 0xEE, sizeof y);
  const size_t yb = sizeof y;
  const qeq_q8_tensor t = qeq_q8_tensor_make(1, 2, 2, 4, QEQ_DTYPE_QUINT8, 0.5f, 3);
  const qeq_q8_tensor sig = qeq_q8_tensor_make(1, 2, 2, 4, QEQ_DTYPE_QUINT8, 0x1p-8f, 0);
  const qeq_gemm_engine onednn = QEQ_GEMM_ENGINE_ONEDNN;
  static const char hs[] = "qeq_q8_hardswish", hg[] = "qeq_q8_hardsigmoid", mu[] = "qeq_q8_mul";

  expect_refusal("NULL x", qeq_q8_hardswish(NULL, x, onednn, &t, y), QEQ_ERROR_INVALID_ARGUMENT, hs,
                 "x", y, yb);
  expect_refusal("NULL y_data", qeq_q8_hardswish(&t, x, onednn, &t, NULL),
                 QEQ_ERROR_INVALID_ARGUMENT, hs, "y_data", y, yb);
  expect_refusal("engine", qeq_q8_hardswish(&t, x, (qeq_gemm_engine)7, &t, y),
                 QEQ_ERROR_INVALID_ARGUMENT, hs, "engine", y, yb);
  qeq_q8_tensor other = t;
  other.w = 1;
  expect_refusal("sizes", qeq_q8_hardswish(&t, x, onednn, &other, y), QEQ_ERROR_SHAPE_MISMATCH, hs,
                 "w", y, yb);
  other = t, other.dtype = QEQ_DTYPE_QINT8, other.zero_point = 0;
  expect_refusal("dtype", qeq_q8_hardswish(&t, x, onednn, &other, y), QEQ_ERROR_SHAPE_MISMATCH, hs,
                 "dtype", y, yb);
  other = t, other.scale = -1.0f;
  expect_refusal("scale", qeq_q8_hardswish(&t, x, onednn, &other, y), QEQ_ERROR_INVALID_ARGUMENT,
                 hs, "scale", y, yb);
  expect_refusal("hardsigmoid qparams", qeq_q8_hardsigmoid(&t, x, onednn, &t, y),
                 QEQ_ERROR_SHAPE_MISMATCH, hg, "1/256", y, yb);
  other = sig, other.zero_point = 1;
  expect_refusal("hardsigmoid zero point", qeq_q8_hardsigmoid(&t, x, onednn, &other, y),
                 QEQ_ERROR_SHAPE_MISMATCH, hg, "zero_point", y, yb);
  expect_refusal("overlap", qeq_q8_hardsigmoid(&t, y + 1, onednn, &sig, y),
                 QEQ_ERROR_INVALID_ARGUMENT, hg, "overlaps", y, 1);
  static const char sg[] = "qeq_q8_sigmoid";
  memset(y, 0xEE, sizeof y);
  expect_refusal("sigmoid qparams", qeq_q8_sigmoid(&t, x, onednn, &t, y), QEQ_ERROR_SHAPE_MISMATCH,
                 sg, "1/256", y, yb);
  other = sig, other.zero_point = -128; /* qint8's zero point on a quint8 output */
  expect_refusal("sigmoid zero point", qeq_q8_sigmoid(&t, x, QEQ_GEMM_ENGINE_QNNPACK, &other, y),
                 QEQ_ERROR_INVALID_ARGUMENT, sg, "zero_point", y, yb);
  other = sig, other.zero_point = 5;
  expect_refusal("sigmoid qnnpack zero point",
                 qeq_q8_sigmoid(&t, x, QEQ_GEMM_ENGINE_QNNPACK, &other, y),
                 QEQ_ERROR_SHAPE_MISMATCH, sg, "zero_point", y, yb);
  expect_refusal("sigmoid engine", qeq_q8_sigmoid(&t, x, (qeq_gemm_engine)-1, &sig, y),
                 QEQ_ERROR_INVALID_ARGUMENT, sg, "engine", y, yb);
  other = t, other.c = 3;
  expect_refusal("sigmoid sizes", qeq_q8_sigmoid(&t, x, onednn, &other, y),
                 QEQ_ERROR_SHAPE_MISMATCH, sg, "c", y, yb);
  expect_refusal("sigmoid NULL x_data", qeq_q8_sigmoid(&t, NULL, onednn, &sig, y),
                 QEQ_ERROR_INVALID_ARGUMENT, sg, "x_data", y, yb);

  qeq_q8_tensor b = t;
  b.h = 3;
  expect_refusal("broadcast", qeq_q8_mul(&t, x, &b, x, &t, y), QEQ_ERROR_SHAPE_MISMATCH, mu,
                 "broadcast", y, yb);
  b = t, b.c = 1;
  qeq_q8_tensor small = t;
  small.c = 1;
  expect_refusal("result sizes", qeq_q8_mul(&b, x, &b, x, &t, y), QEQ_ERROR_SHAPE_MISMATCH, mu,
                 "y->c", y, yb);
  expect_refusal("result smaller", qeq_q8_mul(&t, x, &b, x, &small, y), QEQ_ERROR_SHAPE_MISMATCH,
                 mu, "c", y, yb);
  b = t, b.dtype = QEQ_DTYPE_QINT8, b.zero_point = 0;
  expect_refusal("mul dtype", qeq_q8_mul(&t, x, &b, x, &t, y), QEQ_ERROR_SHAPE_MISMATCH, mu,
                 "dtype", y, yb);
  expect_refusal("mul NULL b", qeq_q8_mul_relu(&t, x, &t, NULL, &t, y), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_q8_mul_relu", "b_data", y, yb);
  /* y over a broadcast input is not in place: refused */
  b = t, b.h = b.w = 1;
  memset(y, 0xEE, sizeof y);
  expect_refusal("mul overlap", qeq_q8_mul(&b, y, &t, x, &t, y), QEQ_ERROR_INVALID_ARGUMENT, mu,
                 "overlaps", y, 0);
}

int main(void) {
  printf("test_qops_act: seed %llu (QEQ_TEST_SEED), scale QEQ_TEST_SCALE\n",
         (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pytorch_values),
      cmocka_unit_test(test_sigmoid_golden),
      cmocka_unit_test(test_random_against_reference),
      cmocka_unit_test(test_mul_in_place),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
