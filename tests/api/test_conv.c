/* The convolution API: a direct-convolution reference (tests/support/reference-conv.c) over
 * random geometries, qparams, engines, output formats, ISA caps and thread counts; PyTorch's
 * quantized Conv2d / ConvReLU2d / Conv1d outputs (tests/golden/conv.txt); bad input; and the
 * NHWC layout helpers. */
#include <math.h>
#include <pthread.h>
#include <pthreadpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/golden.h"
#include "tests/support/test-support.h"

static size_t element_bytes(const qeq_conv_config* c) {
  return c->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? 1 : 4;
}

/* Creates, runs under the current dispatch and compares with the reference byte for byte
 * (the output pixel stride has 3 spare elements that must stay untouched). */
static void check_conv(const qeq_conv_config* c, size_t batch, size_t h, size_t w, const uint8_t* x,
                       pthreadpool_t pool, const char* what) {
  qeq_conv* conv = NULL;
  CHECK(qeq_conv_create(c, &conv) == QEQ_OK, "%s: create: %s", what, qeq_last_error());
  size_t oh = 0, ow = 0;
  CHECK(qeq_conv_output_size(conv, h, w, &oh, &ow) == QEQ_OK, "%s: %s", what, qeq_last_error());
  const size_t pixel = c->output_channels * element_bytes(c);
  const size_t stride = pixel + 3 * element_bytes(c), pixels = batch * oh * ow;
  uint8_t* y = malloc(pixels * stride);
  uint8_t* dense = malloc(pixels * pixel);
  uint8_t* want = malloc(pixels * pixel);
  memset(y, 0x5A, pixels * stride);
  ref_conv(c, batch, h, w, x, oh, ow, want);
  CHECK(qeq_conv_run(conv, batch, h, w, x, 0, y, stride, pool) == QEQ_OK, "%s: run: %s", what,
        qeq_last_error());
  size_t bad = 0, spare = 0;
  for (size_t p = 0; p < pixels; p++) {
    memcpy(dense + p * pixel, y + p * stride, pixel);
    for (size_t i = pixel; i < stride; i++) spare += y[p * stride + i] != 0x5A;
  }
  for (size_t i = 0; i < pixels * pixel; i++) bad += dense[i] != want[i];
  CHECK(bad == 0 && spare == 0,
        "%s (%s): %zu bytes differ from the reference, %zu spare bytes written (N%zu %zux%zux%zu "
        "-> %zu, groups %zu, kernel %zux%zu, stride %zux%zu, pad %zux%zu, dilation %zux%zu, "
        "output %d, engine %d, input dtype %d)",
        what, qeq_conv_kernel_name(conv), bad, spare, batch, h, w, c->input_channels,
        c->output_channels, c->groups, c->kernel_height, c->kernel_width, c->stride_height,
        c->stride_width, c->padding_height, c->padding_width, c->dilation_height, c->dilation_width,
        (int)c->quant.output, (int)c->quant.engine, (int)c->quant.input_dtype);
  free(y), free(dense), free(want);
  qeq_conv_destroy(conv);
}

/* ---- random convolutions ---- */

typedef struct random_conv {
  qeq_conv_config c;
  size_t batch, h, w;
  int8_t* weights;
  float* scales;
  int32_t* zps;
  float* bias;
  uint8_t* x;
} random_conv;

static size_t pick(test_rng* rng, const size_t* values, size_t count) {
  return values[rng_below(rng, count)];
}

static void make_random_conv(test_rng* rng, int shape_kind, random_conv* rc) {
  static const size_t kernels[][2] = {{1, 1}, {3, 3}, {5, 5}, {1, 3}, {3, 1}, {2, 3}};
  static const size_t zero_points[] = {0, 128, 255, 7};
  qeq_conv_config c = qeq_conv_config_default();
  /* shape_kind: 0 groups 1, 1 groups 2, 2 depthwise x1, 3 depthwise x2, 4 pointwise direct */
  const size_t cg = shape_kind >= 2 && shape_kind <= 3 ? 1 : 1 + rng_below(rng, 19);
  c.groups = shape_kind == 1 ? 2 : shape_kind == 2 || shape_kind == 3 ? 1 + rng_below(rng, 40) : 1;
  const size_t og = shape_kind == 2 ? 1 : shape_kind == 3 ? 2 : 1 + rng_below(rng, 40);
  c.input_channels = cg * c.groups, c.output_channels = og * c.groups;
  const size_t kind = shape_kind == 4 ? 0 : rng_below(rng, 6);
  c.kernel_height = kernels[kind][0], c.kernel_width = kernels[kind][1];
  c.stride_height = shape_kind == 4 ? 1 : 1 + rng_below(rng, 3);
  c.stride_width = shape_kind == 4 ? 1 : 1 + rng_below(rng, 3);
  c.padding_height = shape_kind == 4 ? 0 : rng_below(rng, 3);
  c.padding_width = shape_kind == 4 ? 0 : rng_below(rng, 3);
  c.dilation_height = 1 + rng_below(rng, 2), c.dilation_width = 1 + rng_below(rng, 2);
  rc->batch = 1 + rng_below(rng, 3);
  rc->h = (c.kernel_height - 1) * c.dilation_height + 1 + rng_below(rng, 9);
  rc->w = (c.kernel_width - 1) * c.dilation_width + 1 + rng_below(rng, 9);
  const size_t wcount = c.output_channels * cg * c.kernel_height * c.kernel_width;
  rc->weights = malloc(wcount);
  for (size_t i = 0; i < wcount; i++) rc->weights[i] = (int8_t)(rng_below(rng, 256) - 128);
  c.weights = rc->weights;
  const size_t o = c.output_channels;
  c.quant.weight_qparam_count = rng_below(rng, 2) ? o : 1;
  rc->scales = malloc(o * sizeof(float));
  rc->zps = malloc(o * sizeof(int32_t));
  rc->bias = malloc(o * sizeof(float));
  for (size_t j = 0; j < o; j++) {
    rc->scales[j] =
        ldexpf(1.0f + (float)rng_below(rng, 1000) / 1000.0f, -8 - (int)rng_below(rng, 3));
    rc->zps[j] = (int32_t)rng_below(rng, 21) - 10;
    rc->bias[j] = ((float)rng_below(rng, 2001) - 1000.0f) / 512.0f;
  }
  c.quant.weight_scales = rc->scales;
  c.quant.weight_zero_points = rng_below(rng, 3) == 0 ? rc->zps : NULL;
  c.quant.bias = rng_below(rng, 4) ? rc->bias : NULL;
  c.quant.input_dtype = rng_below(rng, 4) == 0 ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
  c.quant.input_scale = ldexpf(1.0f, -6) * (1.0f + (float)rng_below(rng, 100) / 100.0f);
  const int32_t zp = (int32_t)pick(rng, zero_points, 4);
  c.quant.input_zero_point = c.quant.input_dtype == QEQ_DTYPE_QINT8 ? zp - 128 : zp;
  c.quant.output =
      rng_below(rng, 5) == 0 ? (qeq_gemm_output)(1 + rng_below(rng, 2)) : QEQ_GEMM_OUTPUT_QUANTIZED;
  c.quant.output_dtype = rng_below(rng, 3) == 0 ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
  const size_t k = cg * c.kernel_height * c.kernel_width;
  c.quant.output_scale =
      (float)sqrt((double)k) * 0.02f * (1.0f + (float)rng_below(rng, 100) / 50.0f);
  c.quant.output_zero_point =
      (c.quant.output_dtype == QEQ_DTYPE_QINT8 ? -128 : 0) + (int32_t)rng_below(rng, 256);
  c.quant.clamp = (qeq_gemm_clamp)rng_below(rng, 4);
  if (c.quant.output == QEQ_GEMM_OUTPUT_INT32)
    c.quant.clamp = QEQ_GEMM_CLAMP_NONE; /* refused there */
  c.quant.clamp_min = -1.5f, c.quant.clamp_max = 2.25f;
  c.quant.engine = rng_below(rng, 2) ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
  rc->c = c;
  const size_t count = rc->batch * rc->h * rc->w * c.input_channels;
  rc->x = malloc(count);
  for (size_t i = 0; i < count; i++) rc->x[i] = (uint8_t)rng_below(rng, 256);
}

static void free_random_conv(random_conv* rc) {
  free(rc->weights), free(rc->scales), free(rc->zps), free(rc->bias), free(rc->x);
}

static void test_random_convs_every_cap(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 11);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  const size_t reps = test_iterations(12);
  for (size_t rep = 0; rep < reps; rep++) {
    for (int kind = 0; kind < 5; kind++) {
      random_conv rc;
      make_random_conv(&rng, kind, &rc);
      for (size_t t = 0; t < n_isas; t++) {
        CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
        check_conv(&rc.c, rc.batch, rc.h, rc.w, rc.x, NULL, qeq_isa_name(isas[t]));
        coverage_record_family(QEQ_FAMILY_QU8S8_GEMM, isas[t], 0, 1);
      }
      qeq_clear_isa_cap();
      free_random_conv(&rc);
    }
  }
}

/* ---- narrow pointwise layers (O = 8 .. 40: last panels of half a tile and less, on the AVX2
 * kernel's one-vector tile; one panel of 32 on AVX-512) at the fast path's bound: weights with a
 * pair (127, 127) in every column (bound 254), pixels of at most 129 on it (129 * 254 <= 32767:
 * fast), and one pixel of 130 (one past: exact, where the fast path would saturate) in the last row
 * tile ---- */

static void test_narrow_pointwise_at_the_bound(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 29);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  static const size_t outputs[] = {8, 9, 16, 24, 32, 40};
  static const size_t inputs[] = {32, 96, 144};
  enum { H = 7, W = 5 }; /* 35 pixels: row tiles of 6 (8) and a last one of 5 (3) */
  for (size_t oi = 0; oi < sizeof outputs / sizeof outputs[0]; oi++) {
    const size_t o = outputs[oi], ci = inputs[oi % 3];
    int8_t* w = malloc(o * ci);
    float* scales = malloc(o * sizeof(float));
    float* bias = malloc(o * sizeof(float));
    uint8_t* x = malloc(H * W * ci);
    for (size_t j = 0; j < o; j++) {
      for (size_t c = 0; c < ci; c++) w[j * ci + c] = (int8_t)((int)rng_below(&rng, 129) - 64);
      const size_t p = (j * 5) % (ci / 2);
      w[j * ci + 2 * p] = 127, w[j * ci + 2 * p + 1] = 127;
      scales[j] = ldexpf(1.0f + (float)j / 64.0f, -9);
      bias[j] = (float)j / 16.0f - 1.0f;
    }
    qeq_conv_config c = qeq_conv_config_default();
    c.input_channels = ci, c.output_channels = o;
    c.weights = w, c.quant.weight_qparam_count = o, c.quant.weight_scales = scales;
    c.quant.bias = bias;
    c.quant.input_scale = 1.0f / 64.0f, c.quant.input_zero_point = 64;
    c.quant.output_scale = 0.5f, c.quant.output_zero_point = 100;
    /* mode 0: every pixel at most 129; 1: the last pixel 130 on every weight pair */
    for (int mode = 0; mode < 2; mode++) {
      for (size_t i = 0; i < H * W * ci; i++) x[i] = (uint8_t)rng_below(&rng, 130);
      for (size_t px = 0; px < H * W; px++) {
        for (size_t j = 0; j < o; j++) {
          const size_t p = (j * 5) % (ci / 2);
          const uint8_t v = mode == 1 && px == H * W - 1 ? 130 : 129;
          x[px * ci + 2 * p] = x[px * ci + 2 * p + 1] = v;
        }
      }
      for (size_t t = 0; t < n_isas; t++) {
        CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
        check_conv(&c, 1, H, W, x, NULL, qeq_isa_name(isas[t]));
        qeq_conv* conv = NULL;
        CHECK(qeq_conv_create(&c, &conv) == QEQ_OK, "%s", qeq_last_error());
        uint8_t* y = malloc(H * W * o);
        CHECK(qeq_conv_run(conv, 1, H, W, x, 0, y, 0, NULL) == QEQ_OK, "%s", qeq_last_error());
        uint64_t fast = 0, exact = 0;
        CHECK(qeq_conv_path_tiles(conv, &fast, &exact) == QEQ_OK, "%s", qeq_last_error());
        if (kernel_has_pair_path(qeq_conv_kernel_name(conv))) {
          const size_t mr = qeq_dispatch_int8()->gemm->mr, nr = qeq_dispatch_int8()->gemm->nr;
          const uint64_t panels = (o + nr - 1) / nr, tiles = panels * ((H * W + mr - 1) / mr);
          const uint64_t want_exact = mode == 1 ? panels : 0;
          CHECK(exact == want_exact && fast == tiles - want_exact,
                "O=%zu C=%zu mode %d: %llu fast and %llu exact tiles, want %llu and %llu", o, ci,
                mode, (unsigned long long)fast, (unsigned long long)exact,
                (unsigned long long)(tiles - want_exact), (unsigned long long)want_exact);
        }
        free(y);
        qeq_conv_destroy(conv);
      }
      qeq_clear_isa_cap();
    }
    free(w), free(scales), free(bias), free(x);
  }
}

/* ---- the indirect GEMM path (qu8s8_igemm): taken for quint8 input without weight zero
 * points when the channels per tap are a multiple of the selected variant's KR or at least 16
 * (padded to KR), and a multiple of 8 for NEON; the gathered GEMM otherwise; both equal the
 * reference under every cap ---- */

static void test_indirect_path_every_cap(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 17);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  static const size_t group_channels[] = {3, 8, 17, 64};
  for (size_t ci = 0; ci < sizeof group_channels / sizeof group_channels[0]; ci++) {
    /* plain, 2 groups, qint8, zero points, 7-bit pixels (the AVX2 and AVX-512 fast path) */
    for (int variant = 0; variant < 5; variant++) {
      random_conv rc;
      make_random_conv(&rng, 0, &rc);
      qeq_conv_config* c = &rc.c;
      c->groups = variant == 1 ? 2 : 1;
      c->input_channels = group_channels[ci] * c->groups;
      c->output_channels = (5 + rng_below(&rng, 40)) * c->groups;
      c->kernel_height = c->kernel_width = 3;
      c->padding_height = c->padding_width = 1;
      c->quant.weight_qparam_count = 1;
      c->quant.input_dtype = variant == 2 ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
      c->quant.input_zero_point = variant == 2 ? 5 : variant == 4 ? 100 : 133;
      c->quant.weight_zero_points = variant == 3 ? rc.zps : NULL;
      rc.zps[0] = variant == 3 ? 3 : rc.zps[0];
      free(rc.weights), free(rc.x), free(rc.bias);
      rc.bias = malloc(c->output_channels * sizeof(float));
      for (size_t j = 0; j < c->output_channels; j++) rc.bias[j] = (float)j / 64.0f - 0.25f;
      c->quant.bias = rc.bias;
      const size_t wcount = c->output_channels * group_channels[ci] * 9;
      rc.weights = malloc(wcount);
      for (size_t i = 0; i < wcount; i++) rc.weights[i] = (int8_t)(rng_below(&rng, 256) - 128);
      c->weights = rc.weights;
      rc.h = 3 + rng_below(&rng, 8), rc.w = 3 + rng_below(&rng, 8);
      const size_t count = rc.batch * rc.h * rc.w * c->input_channels;
      rc.x = malloc(count);
      for (size_t i = 0; i < count; i++) {
        rc.x[i] = (uint8_t)rng_below(&rng, variant == 4 ? 128 : 256);
      }
      for (size_t t = 0; t < n_isas; t++) {
        CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
        /* Every ISA has an indirect GEMM; NEON's take multiples of 8 channels per tap. */
        const size_t kr = qeq_dispatch_int8()->igemm->kr;
        const int neon = isas[t] == QEQ_ISA_NEON || isas[t] == QEQ_ISA_NEONDOT;
        const int eligible = (variant < 2 || variant == 4) &&
                             (group_channels[ci] % kr == 0 || group_channels[ci] >= 16) &&
                             (!neon || group_channels[ci] % 8 == 0);
        qeq_conv* conv = NULL;
        CHECK(qeq_conv_create(c, &conv) == QEQ_OK, "%s", qeq_last_error());
        const char* name = qeq_conv_kernel_name(conv);
        CHECK((strstr(name, "qu8s8_igemm") != NULL) == eligible,
              "%zu channels per group, case %d, cap %s: %s", group_channels[ci], variant,
              qeq_isa_name(isas[t]), name);
        if (strstr(name, "qu8s8_igemm")) {
          coverage_record_family(QEQ_FAMILY_QU8S8_IGEMM, isas[t], 0, 1);
        }
        check_conv(c, rc.batch, rc.h, rc.w, rc.x, NULL, qeq_isa_name(isas[t]));
        /* 7-bit pixels and padding rows of 100: 127 * 256 <= 32767, every tile fast on AVX2
         * and AVX-512;
         * full-range pixels with random weights: some tiles exact. */
        size_t oh = 0, ow = 0;
        CHECK(qeq_conv_output_size(conv, rc.h, rc.w, &oh, &ow) == QEQ_OK, "%s", qeq_last_error());
        void* y = malloc(rc.batch * oh * ow * c->output_channels * element_bytes(c));
        CHECK(qeq_conv_run(conv, rc.batch, rc.h, rc.w, rc.x, 0, y, 0, NULL) == QEQ_OK, "%s",
              qeq_last_error());
        uint64_t fast = 0, exact = 0;
        CHECK(qeq_conv_path_tiles(conv, &fast, &exact) == QEQ_OK, "%s", qeq_last_error());
        if (kernel_has_pair_path(name)) {
          CHECK(fast + exact > 0 && (variant != 4 || exact == 0),
                "%s, case %d: %llu fast and %llu exact tiles", name, variant,
                (unsigned long long)fast, (unsigned long long)exact);
        } else {
          CHECK(fast == 0 && exact == 0, "%s counts paths it does not have", name);
        }
        free(y);
        qeq_conv_destroy(conv);
      }
      qeq_clear_isa_cap();
      free_random_conv(&rc);
    }
  }
}

/* ---- threads: bit-identical for 1, 2 and 3 threads ---- */

static void test_thread_counts(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 12);
  for (int kind = 0; kind < 5; kind++) {
    random_conv rc;
    make_random_conv(&rng, kind, &rc);
    for (size_t threads = 1; threads <= 3; threads++) {
      pthreadpool_t pool = pthreadpool_create(threads);
      assert_non_null(pool);
      check_conv(&rc.c, rc.batch, rc.h, rc.w, rc.x, pool, "threads");
      pthreadpool_destroy(pool);
    }
    free_random_conv(&rc);
  }
}

/* ---- an input pixel stride wider than C gives the dense input's bits ---- */

static void test_input_pixel_stride(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 13);
  for (int kind = 0; kind < 5; kind++) {
    random_conv rc;
    make_random_conv(&rng, kind, &rc);
    const qeq_conv_config* c = &rc.c;
    const size_t pixels = rc.batch * rc.h * rc.w, stride = c->input_channels + 5;
    uint8_t* wide = malloc(pixels * stride);
    memset(wide, 0xEE, pixels * stride);
    for (size_t p = 0; p < pixels; p++) {
      memcpy(wide + p * stride, rc.x + p * c->input_channels, c->input_channels);
    }
    qeq_conv* conv;
    CHECK(qeq_conv_create(c, &conv) == QEQ_OK, "%s", qeq_last_error());
    size_t oh, ow;
    CHECK(qeq_conv_output_size(conv, rc.h, rc.w, &oh, &ow) == QEQ_OK, "%s", qeq_last_error());
    const size_t bytes = oh * ow * rc.batch * c->output_channels * element_bytes(c);
    uint8_t* a = malloc(bytes);
    uint8_t* b = malloc(bytes);
    CHECK(qeq_conv_run(conv, rc.batch, rc.h, rc.w, rc.x, 0, a, 0, NULL) == QEQ_OK, "%s",
          qeq_last_error());
    CHECK(qeq_conv_run(conv, rc.batch, rc.h, rc.w, wide, stride, b, 0, NULL) == QEQ_OK, "%s",
          qeq_last_error());
    CHECK(memcmp(a, b, bytes) == 0, "an input pixel stride changed the result (kind %d)", kind);
    free(a), free(b), free(wide);
    qeq_conv_destroy(conv);
    free_random_conv(&rc);
  }
}

/* ---- one packed convolution on changing input shapes, also from threads at once (the
 * indirection table is cached per shape and shared by concurrent runs) ---- */

typedef struct shape_run {
  const qeq_conv* conv;
  const qeq_conv_config* config;
  size_t h, w, bytes;
  uint8_t* x;
  uint8_t* want;
  int failures;
} shape_run;

static void* run_shape_repeatedly(void* opaque) {
  shape_run* r = opaque;
  uint8_t* y = malloc(r->bytes);
  for (int i = 0; i < 25; i++) {
    memset(y, 0, r->bytes);
    if (qeq_conv_run(r->conv, 1, r->h, r->w, r->x, 0, y, 0, NULL) != QEQ_OK ||
        memcmp(y, r->want, r->bytes) != 0) {
      r->failures++;
    }
  }
  free(y);
  return NULL;
}

static void test_changing_shapes(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 15);
  random_conv rc;
  make_random_conv(&rng, 0, &rc);
  rc.c.padding_height = rc.c.padding_width = 1;
  rc.c.quant.output = QEQ_GEMM_OUTPUT_QUANTIZED;
  qeq_conv* conv;
  CHECK(qeq_conv_create(&rc.c, &conv) == QEQ_OK, "%s", qeq_last_error());
  enum { SHAPES = 3 };
  shape_run runs[SHAPES];
  for (size_t i = 0; i < SHAPES; i++) {
    shape_run* r = &runs[i];
    r->conv = conv, r->config = &rc.c, r->failures = 0;
    r->h = (rc.c.kernel_height - 1) * rc.c.dilation_height + 1 + 3 * i;
    r->w = (rc.c.kernel_width - 1) * rc.c.dilation_width + 2 + 2 * i;
    size_t oh, ow;
    CHECK(qeq_conv_output_size(conv, r->h, r->w, &oh, &ow) == QEQ_OK, "%s", qeq_last_error());
    const size_t in = r->h * r->w * rc.c.input_channels;
    r->bytes = oh * ow * rc.c.output_channels;
    r->x = malloc(in);
    r->want = malloc(r->bytes);
    for (size_t j = 0; j < in; j++) r->x[j] = (uint8_t)rng_below(&rng, 256);
    ref_conv(&rc.c, 1, r->h, r->w, r->x, oh, ow, r->want);
  }
  /* alternating shapes on one thread, then all shapes at once */
  for (size_t i = 0; i < 2 * SHAPES; i++) run_shape_repeatedly(&runs[i % SHAPES]);
  pthread_t threads[SHAPES];
  for (size_t i = 0; i < SHAPES; i++) {
    CHECK(pthread_create(&threads[i], NULL, run_shape_repeatedly, &runs[i]) == 0, "thread");
  }
  for (size_t i = 0; i < SHAPES; i++) pthread_join(threads[i], NULL);
  for (size_t i = 0; i < SHAPES; i++) {
    CHECK(runs[i].failures == 0, "shape %zu: %d runs differ from the reference", i,
          runs[i].failures);
    free(runs[i].x), free(runs[i].want);
  }
  qeq_conv_destroy(conv);
  free_random_conv(&rc);
}

/* ---- depthwise: its own kernel, the generic GEMM path's bits ---- */

/* Output channel c of a depthwise convolution run alone: a one-channel convolution (the
 * generic GEMM path) reading channel c through the input pixel stride, with channel c's
 * weights and qparams, writing channel c of `y` through the output pixel stride. */
static void run_one_channel(const qeq_conv_config* dw, size_t batch, size_t h, size_t w,
                            const uint8_t* x, size_t c, uint8_t* y) {
  const size_t taps = dw->kernel_height * dw->kernel_width;
  const int per_channel = dw->quant.weight_qparam_count != 1;
  qeq_conv_config one = *dw;
  one.input_channels = one.output_channels = one.groups = 1;
  one.weights = dw->weights + c * taps;
  one.quant.weight_qparam_count = 1;
  one.quant.weight_scales = dw->quant.weight_scales + (per_channel ? c : 0);
  one.quant.weight_zero_points =
      dw->quant.weight_zero_points ? dw->quant.weight_zero_points + (per_channel ? c : 0) : NULL;
  one.quant.bias = dw->quant.bias ? dw->quant.bias + c : NULL;
  qeq_conv* conv = NULL;
  CHECK(qeq_conv_create(&one, &conv) == QEQ_OK, "one channel: %s", qeq_last_error());
  CHECK(strstr(qeq_conv_kernel_name(conv), "qu8s8_gemm") != NULL, "%s", qeq_conv_kernel_name(conv));
  const size_t bytes = element_bytes(dw);
  CHECK(qeq_conv_run(conv, batch, h, w, x + c, dw->input_channels, y + c * bytes,
                     dw->output_channels * bytes, NULL) == QEQ_OK,
        "one channel: %s", qeq_last_error());
  qeq_conv_destroy(conv);
}

static void test_depthwise_kernel_equals_gemm_path(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 13);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  const size_t reps = test_iterations(6);
  for (size_t rep = 0; rep < reps; rep++) {
    random_conv rc;
    make_random_conv(&rng, 2, &rc); /* depthwise x1, 1 to 40 channels */
    const qeq_conv_config* c = &rc.c;
    if (c->groups == 1) { /* one channel is an ordinary convolution */
      free_random_conv(&rc);
      continue;
    }
    for (size_t t = 0; t < n_isas; t++) {
      CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
      qeq_conv* conv = NULL;
      CHECK(qeq_conv_create(c, &conv) == QEQ_OK, "%s", qeq_last_error());
      CHECK(strstr(qeq_conv_kernel_name(conv), "qu8s8_dwconv") != NULL, "%s",
            qeq_conv_kernel_name(conv));
      size_t oh = 0, ow = 0;
      CHECK(qeq_conv_output_size(conv, rc.h, rc.w, &oh, &ow) == QEQ_OK, "%s", qeq_last_error());
      const size_t bytes = rc.batch * oh * ow * c->output_channels * element_bytes(c);
      uint8_t* got = malloc(bytes);
      uint8_t* want = malloc(bytes);
      CHECK(qeq_conv_run(conv, rc.batch, rc.h, rc.w, rc.x, 0, got, 0, NULL) == QEQ_OK, "%s",
            qeq_last_error());
      for (size_t ch = 0; ch < c->output_channels; ch++) {
        run_one_channel(c, rc.batch, rc.h, rc.w, rc.x, ch, want);
      }
      CHECK(memcmp(got, want, bytes) == 0, "%s (cap %s): differs from the GEMM path",
            qeq_conv_kernel_name(conv), qeq_isa_name(isas[t]));
      coverage_record_family(QEQ_FAMILY_QU8S8_DWCONV, isas[t], 0, 1);
      free(got), free(want);
      qeq_conv_destroy(conv);
    }
    qeq_clear_isa_cap();
    free_random_conv(&rc);
  }
}

/* A channel multiplier above 1 keeps the grouped GEMM path. */
static void test_depthwise_multiplier_uses_gemm(void** state) {
  (void)state;
  int8_t w[8 * 9];
  for (size_t i = 0; i < sizeof w; i++) w[i] = (int8_t)(i * 7 % 255 - 127);
  const float s = 0.01f;
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = 4, c.output_channels = 8, c.groups = 4;
  c.kernel_height = c.kernel_width = 3;
  c.weights = w, c.quant.weight_scales = &s, c.quant.output_scale = 0.05f;
  qeq_conv* conv;
  CHECK(qeq_conv_create(&c, &conv) == QEQ_OK, "%s", qeq_last_error());
  CHECK(strstr(qeq_conv_kernel_name(conv), "qu8s8_gemm") != NULL, "%s", qeq_conv_kernel_name(conv));
  qeq_conv_destroy(conv);
  c.output_channels = 4;
  CHECK(qeq_conv_create(&c, &conv) == QEQ_OK, "%s", qeq_last_error());
  CHECK(strstr(qeq_conv_kernel_name(conv), "qu8s8_dwconv") != NULL, "%s",
        qeq_conv_kernel_name(conv));
  /* a cap below the packed depthwise kernel refuses the run, as for the GEMM path */
  const uint8_t x[4 * 9] = {0};
  uint8_t y[4];
  memset(y, 7, sizeof y);
  if (strstr(qeq_conv_kernel_name(conv), "__scalar") == NULL) {
    CHECK(qeq_set_isa_cap(QEQ_ISA_SCALAR) == QEQ_OK, "cap");
    CHECK(qeq_conv_run(conv, 1, 3, 3, x, 0, y, 0, NULL) == QEQ_ERROR_UNSUPPORTED,
          "a kernel the cap forbids must not run");
    for (size_t i = 0; i < sizeof y; i++) CHECK(y[i] == 7, "output written on failure");
    qeq_clear_isa_cap();
  }
  CHECK(qeq_conv_run(conv, 1, 3, 3, x, 0, y, 0, NULL) == QEQ_OK, "%s", qeq_last_error());
  qeq_conv_destroy(conv);
}

/* ---- a cap below the packed kernel's ISA: refused, output untouched ---- */

static void test_cap_change_after_packing(void** state) {
  (void)state;
  const int8_t w[2 * 9] = {1, -2, 3, -4, 5, -6, 7, -8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  const float s = 0.01f;
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = 1, c.output_channels = 2, c.kernel_height = c.kernel_width = 3;
  c.padding_height = c.padding_width = 1;
  c.weights = w, c.quant.weight_scales = &s, c.quant.output_scale = 0.05f;
  qeq_conv* conv;
  CHECK(qeq_conv_create(&c, &conv) == QEQ_OK, "%s", qeq_last_error());
  const uint8_t x[4] = {10, 20, 30, 40};
  uint8_t y[8];
  memset(y, 7, sizeof y);
  if (strstr(qeq_conv_kernel_name(conv), "__scalar") == NULL) {
    CHECK(qeq_set_isa_cap(QEQ_ISA_SCALAR) == QEQ_OK, "cap");
    CHECK(qeq_conv_run(conv, 1, 2, 2, x, 0, y, 0, NULL) == QEQ_ERROR_UNSUPPORTED,
          "a kernel the cap forbids must not run");
    for (size_t i = 0; i < sizeof y; i++) CHECK(y[i] == 7, "output written on failure");
    CHECK(strstr(qeq_last_error(), "qeq_conv_run") != NULL, "message: %s", qeq_last_error());
    qeq_clear_isa_cap();
  }
  CHECK(qeq_conv_run(conv, 1, 2, 2, x, 0, y, 0, NULL) == QEQ_OK, "%s", qeq_last_error());
  qeq_conv_destroy(conv);
  qeq_conv_destroy(NULL);
}

/* ---- bad input: a status, a message naming the argument, nothing written ---- */

typedef void (*conv_mutator)(qeq_conv_config*);
static void bad_in(qeq_conv_config* c) {
  c->input_channels = 0;
}
static void bad_out(qeq_conv_config* c) {
  c->output_channels = 0;
}
static void bad_groups(qeq_conv_config* c) {
  c->groups = 0;
}
static void bad_groups_split(qeq_conv_config* c) {
  c->groups = 3;
}
static void bad_kernel(qeq_conv_config* c) {
  c->kernel_width = 0;
}
static void bad_stride(qeq_conv_config* c) {
  c->stride_height = 0;
}
static void bad_dilation(qeq_conv_config* c) {
  c->dilation_width = 0;
}
static void bad_weights(qeq_conv_config* c) {
  c->weights = NULL;
}
static void bad_overflow(qeq_conv_config* c) {
  c->kernel_height = SIZE_MAX / 2;
}
static void bad_count(qeq_conv_config* c) {
  c->quant.weight_qparam_count = 3;
}
static void bad_scale(qeq_conv_config* c) {
  static const float s[4] = {0.02f, 0.02f, 0.02f, NAN};
  c->quant.weight_qparam_count = 4;
  c->quant.weight_scales = s;
}
static void bad_wzp(qeq_conv_config* c) {
  static const int32_t z[1] = {-129};
  c->quant.weight_zero_points = z;
}
static void bad_bias(qeq_conv_config* c) {
  static const float b[4] = {0.0f, 0.0f, 0.0f, INFINITY};
  c->quant.bias = b;
}
static void bad_qnnpack_bias(qeq_conv_config* c) {
  static const float b[4] = {0.0f, 0.0f, 1e30f, 0.0f};
  c->quant.bias = b;
  c->quant.engine = QEQ_GEMM_ENGINE_QNNPACK;
}
static void bad_input_zp(qeq_conv_config* c) {
  c->quant.input_zero_point = -1;
}
static void bad_output_scale(qeq_conv_config* c) {
  c->quant.output_scale = 0.0f;
}
static void bad_clamp(qeq_conv_config* c) {
  c->quant.clamp = QEQ_GEMM_CLAMP_RANGE;
  c->quant.clamp_min = 1.0f, c->quant.clamp_max = -1.0f;
}
static void bad_engine(qeq_conv_config* c) {
  c->quant.engine = (qeq_gemm_engine)9;
}
static void bad_huge_k(qeq_conv_config* c) {
  c->input_channels = 8000, c->groups = 1; /* 8000 x 3 x 3 = 72000 > 65793 */
}
static void bad_subnormal_scale(qeq_conv_config* c) {
  static const float s[4] = {0.02f, 0.02f, 0.02f, 1e-40f}; /* 1 / s is inf */
  c->quant.weight_qparam_count = 4;
  c->quant.weight_scales = s;
  c->quant.output = QEQ_GEMM_OUTPUT_FLOAT;
}
static void bad_int32_clamp(qeq_conv_config* c) {
  c->quant.output = QEQ_GEMM_OUTPUT_INT32;
  c->quant.clamp = QEQ_GEMM_CLAMP_RELU6;
}

/* A valid config (4 -> 4 channels, 2 groups, 3x3) broken by `mutate`: refused with `status`,
 * a message naming qeq_conv_create and `needle`, *conv untouched. */
static void expect_config_refused(size_t i, conv_mutator mutate, qeq_status status,
                                  const char* needle) {
  static int8_t w[4 * 8000 * 9];
  static const float scale = 0.02f;
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = 4, c.output_channels = 4, c.groups = 2;
  c.kernel_height = c.kernel_width = 3;
  c.weights = w, c.quant.weight_scales = &scale;
  c.quant.output_scale = 0.1f;
  mutate(&c);
  qeq_conv* conv = (qeq_conv*)&c; /* must stay untouched on failure */
  const qeq_status got = qeq_conv_create(&c, &conv);
  CHECK(got == status, "case %zu: status %d, want %d (%s)", i, (int)got, (int)status,
        qeq_last_error());
  CHECK(conv == (qeq_conv*)&c, "case %zu: *conv written on failure", i);
  CHECK(strstr(qeq_last_error(), "qeq_conv_create") != NULL &&
            strstr(qeq_last_error(), needle) != NULL,
        "case %zu: message \"%s\" lacks \"%s\"", i, qeq_last_error(), needle);
}

static void test_bad_configs(void** state) {
  (void)state;
  const struct {
    conv_mutator mutate;
    qeq_status status;
    const char* needle;
  } cases[] = {
      {bad_in, QEQ_ERROR_INVALID_ARGUMENT, "config->input_channels"},
      {bad_out, QEQ_ERROR_INVALID_ARGUMENT, "config->output_channels"},
      {bad_groups, QEQ_ERROR_INVALID_ARGUMENT, "config->groups"},
      {bad_groups_split, QEQ_ERROR_SHAPE_MISMATCH, "config->groups"},
      {bad_kernel, QEQ_ERROR_INVALID_ARGUMENT, "config->kernel_width"},
      {bad_stride, QEQ_ERROR_INVALID_ARGUMENT, "config->stride_height"},
      {bad_dilation, QEQ_ERROR_INVALID_ARGUMENT, "config->dilation_width"},
      {bad_weights, QEQ_ERROR_INVALID_ARGUMENT, "config->weights"},
      {bad_overflow, QEQ_ERROR_SIZE_OVERFLOW, "overflow"},
      {bad_count, QEQ_ERROR_SHAPE_MISMATCH, "config->quant.weight_qparam_count"},
      {bad_scale, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.weight_scales[3]"},
      {bad_wzp, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.weight_zero_points[0]"},
      {bad_bias, QEQ_ERROR_NON_FINITE, "config->quant.bias[3]"},
      {bad_qnnpack_bias, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.bias[2]"},
      {bad_input_zp, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.input_zero_point"},
      {bad_output_scale, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.output_scale"},
      {bad_clamp, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.clamp_min"},
      {bad_engine, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.engine"},
      {bad_huge_k, QEQ_ERROR_UNSUPPORTED, "kernel_height x kernel_width x input_channels"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    expect_config_refused(i, cases[i].mutate, cases[i].status, cases[i].needle);
  }
  CHECK(qeq_conv_create(NULL, NULL) == QEQ_ERROR_INVALID_ARGUMENT, "NULL config accepted");
}

/* The GEMM's rules through the convolution: a scale without a finite reciprocal (here on a
 * float output, which never inverts it) and a clamp on the int32 output are refused. */
static void test_subnormal_scale(void** state) {
  (void)state;
  expect_config_refused(0, bad_subnormal_scale, QEQ_ERROR_INVALID_ARGUMENT,
                        "config->quant.weight_scales[3]");
}

static void test_int32_clamp(void** state) {
  (void)state;
  expect_config_refused(0, bad_int32_clamp, QEQ_ERROR_INVALID_ARGUMENT, "config->quant.clamp");
}

static void test_bad_runs(void** state) {
  (void)state;
  int8_t w[4 * 2 * 9];
  for (size_t i = 0; i < sizeof w; i++) w[i] = (int8_t)(i * 7);
  const float s = 0.01f;
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = 4, c.output_channels = 4, c.groups = 2;
  c.kernel_height = c.kernel_width = 3, c.stride_height = 2;
  c.weights = w, c.quant.weight_scales = &s, c.quant.output_scale = 0.05f;
  qeq_conv* conv;
  CHECK(qeq_conv_create(&c, &conv) == QEQ_OK, "%s", qeq_last_error());
  uint8_t x[5 * 5 * 4] = {0}, y[64], buf[256];
  memset(y, 0x77, sizeof y);
  memset(buf, 0x33, sizeof buf);
  size_t oh = 0, ow = 0;
  const struct {
    qeq_status got, want;
    const char* needle;
  } cases[] = {
      {qeq_conv_run(NULL, 1, 5, 5, x, 0, y, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT, "conv"},
      {qeq_conv_run(conv, 1, 5, 5, NULL, 0, y, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT, "input"},
      {qeq_conv_run(conv, 1, 5, 5, x, 0, NULL, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT, "output"},
      {qeq_conv_run(conv, 0, 5, 5, x, 0, y, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT, "batch"},
      {qeq_conv_run(conv, 1, 0, 5, x, 0, y, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT, "height"},
      {qeq_conv_run(conv, 1, 2, 5, x, 0, y, 0, NULL), QEQ_ERROR_SHAPE_MISMATCH, "smaller"},
      {qeq_conv_run(conv, 1, 5, 5, x, 3, y, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT,
       "input_pixel_stride_bytes"},
      {qeq_conv_run(conv, 1, 5, 5, x, 0, y, 2, NULL), QEQ_ERROR_INVALID_ARGUMENT,
       "output_pixel_stride_bytes"},
      {qeq_conv_run(conv, 1, 5, 5, buf, 0, buf + 16, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT,
       "overlaps"},
      {qeq_conv_run(conv, SIZE_MAX / 8, 5, 5, x, 0, y, 0, NULL), QEQ_ERROR_SIZE_OVERFLOW,
       "overflow"},
      {qeq_conv_run(conv, 1, SIZE_MAX / 2, 5, x, 0, y, 0, NULL), QEQ_ERROR_SIZE_OVERFLOW,
       "overflow"},
      {qeq_conv_output_size(conv, 5, 5, NULL, &ow), QEQ_ERROR_INVALID_ARGUMENT, "output_height"},
      {qeq_conv_output_size(NULL, 5, 5, &oh, &ow), QEQ_ERROR_INVALID_ARGUMENT, "conv"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK(cases[i].got == cases[i].want, "bad run %zu (%s): status %d, want %d", i, cases[i].needle,
          (int)cases[i].got, (int)cases[i].want);
  }
  for (size_t i = 0; i < sizeof y; i++) CHECK(y[i] == 0x77, "output written on failure");
  for (size_t i = 16; i < sizeof buf; i++) CHECK(buf[i] == 0x33, "overlapping output written");
  /* the message names the function and the argument */
  CHECK(qeq_conv_run(conv, 1, 5, 5, x, 3, y, 0, NULL) != QEQ_OK, "stride 3 accepted");
  CHECK(strstr(qeq_last_error(), "qeq_conv_run: input_pixel_stride_bytes") != NULL, "message: %s",
        qeq_last_error());
  CHECK(qeq_conv_run(conv, 1, 2, 5, x, 0, y, 0, NULL) == QEQ_ERROR_SHAPE_MISMATCH, "2 x 5");
  CHECK(strstr(qeq_last_error(), "qeq_conv_run: ") == qeq_last_error(), "message: %s",
        qeq_last_error());
  CHECK(qeq_conv_output_size(conv, 5, 5, &oh, &ow) == QEQ_OK && oh == 2 && ow == 3,
        "output size %zu x %zu, want 2 x 3", oh, ow);
  qeq_conv_destroy(conv);
}

/* The status and a message naming the function and `word`. */
static void expect_conv_failure(const char* what, qeq_status got, qeq_status want, const char* fn,
                                const char* word) {
  CHECK(got == want, "%s: status %s, want %s (%s)", what, qeq_status_string(got),
        qeq_status_string(want), qeq_last_error());
  CHECK(strstr(qeq_last_error(), fn) != NULL && strstr(qeq_last_error(), word) != NULL,
        "%s: message \"%s\" should name %s and %s", what, qeq_last_error(), fn, word);
}

/* A 2 -> 2 channel 3x3 convolution with padding 1 and `output`. */
static qeq_conv* padded_conv(qeq_gemm_output output) {
  static int8_t w[2 * 2 * 9];
  for (size_t i = 0; i < sizeof w; i++) w[i] = (int8_t)(i * 5);
  static const float s = 0.01f;
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = 2, c.output_channels = 2;
  c.kernel_height = c.kernel_width = 3, c.padding_height = c.padding_width = 1;
  c.weights = w, c.quant.weight_scales = &s, c.quant.output_scale = 0.05f, c.quant.output = output;
  qeq_conv* conv = NULL;
  CHECK(qeq_conv_create(&c, &conv) == QEQ_OK, "%s", qeq_last_error());
  return conv;
}

/* height + 2 x padding beyond size_t is an overflow, not an input "smaller than the kernel". */
static void test_output_size_overflow(void** state) {
  (void)state;
  static const char size_fn[] = "qeq_conv_output_size", run[] = "qeq_conv_run";
  qeq_conv* conv = padded_conv(QEQ_GEMM_OUTPUT_QUANTIZED);
  size_t oh = 77, ow = 77;
  expect_conv_failure("height + 2 x padding", qeq_conv_output_size(conv, SIZE_MAX, 4, &oh, &ow),
                      QEQ_ERROR_SIZE_OVERFLOW, size_fn, "overflow");
  expect_conv_failure("width + 2 x padding", qeq_conv_output_size(conv, 4, SIZE_MAX - 1, &oh, &ow),
                      QEQ_ERROR_SIZE_OVERFLOW, size_fn, "padding_width");
  CHECK(oh == 77 && ow == 77, "output size written on failure");
  uint8_t x[8] = {0}, y[8];
  memset(y, 0x77, sizeof y);
  expect_conv_failure("run, height + 2 x padding",
                      qeq_conv_run(conv, 1, SIZE_MAX, 4, x, 0, y, 0, NULL), QEQ_ERROR_SIZE_OVERFLOW,
                      run, "overflow");
  for (size_t i = 0; i < sizeof y; i++) CHECK(y[i] == 0x77, "output written on failure");
  qeq_conv_destroy(conv);
}

/* Pixels spanning more than PTRDIFF_MAX bytes (though within SIZE_MAX): QEQ_ERROR_SIZE_OVERFLOW,
 * not a read at input + 2^63. */
static void test_pixel_stride_beyond_ptrdiff(void** state) {
  (void)state;
  static const char run[] = "qeq_conv_run";
  qeq_conv* conv = padded_conv(QEQ_GEMM_OUTPUT_QUANTIZED);
  uint8_t x[8] = {0}, y[8];
  memset(y, 0x77, sizeof y);
  /* 1 x 2 pixels: (2 - 1) * 2^63 + 2 fits size_t */
  expect_conv_failure("input_pixel_stride_bytes 2^63",
                      qeq_conv_run(conv, 1, 1, 2, x, (size_t)1 << 63, y, 0, NULL),
                      QEQ_ERROR_SIZE_OVERFLOW, run, "PTRDIFF_MAX");
  expect_conv_failure("output_pixel_stride_bytes 2^63",
                      qeq_conv_run(conv, 1, 1, 2, x, 0, y, (size_t)1 << 63, NULL),
                      QEQ_ERROR_SIZE_OVERFLOW, run, "PTRDIFF_MAX");
  for (size_t i = 0; i < sizeof y; i++) CHECK(y[i] == 0x77, "output written on failure");
  qeq_conv_destroy(conv);
}

/* Float outputs are stored through float pointers: the pointer and output_pixel_stride_bytes must
 * be whole floats. */
static void test_float_output_alignment(void** state) {
  (void)state;
  static const char run[] = "qeq_conv_run";
  qeq_conv* conv = padded_conv(QEQ_GEMM_OUTPUT_FLOAT); /* 8 bytes per output pixel */
  uint8_t x[8] = {0};
  float yf[8];
  for (size_t i = 0; i < 8; i++) yf[i] = -7.0f;
  expect_conv_failure("float output_pixel_stride_bytes 10",
                      qeq_conv_run(conv, 1, 1, 2, x, 0, yf, 10, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                      run, "output_pixel_stride_bytes 10");
  expect_conv_failure("float output + 1",
                      qeq_conv_run(conv, 1, 1, 2, x, 0, (uint8_t*)yf + 1, 0, NULL),
                      QEQ_ERROR_INVALID_ARGUMENT, run, "aligned");
  for (size_t i = 0; i < 8; i++) CHECK(yf[i] == -7.0f, "float output written on failure");
  CHECK(qeq_conv_run(conv, 1, 1, 2, x, 0, yf, 12, NULL) == QEQ_OK, "%s", qeq_last_error());
  qeq_conv_destroy(conv);
}

/* ---- PyTorch's own outputs (tests/golden/conv.txt), under every ISA cap ---- */

static void ints_of(const golden_case* gc, const char* key, int32_t* out, size_t count) {
  const golden_field* f = golden_get(gc, key);
  CHECK(f != NULL && f->count == count, "%s: field %s has %zu values, want %zu", gc->name, key,
        f ? f->count : 0, count);
  for (size_t i = 0; i < count; i++) out[i] = (int32_t)f->values[i];
}

static void run_golden_case(const golden_case* gc, size_t* outputs) {
  int32_t shape[8], geo[8];
  ints_of(gc, "shape", shape, 8); /* batch, h, w, c, o, groups, oh, ow */
  ints_of(gc, "geometry", geo, 8);
  const size_t batch = (size_t)shape[0], h = (size_t)shape[1], w = (size_t)shape[2];
  const size_t cin = (size_t)shape[3], o = (size_t)shape[4], groups = (size_t)shape[5];
  const size_t oh = (size_t)shape[6], ow = (size_t)shape[7];
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = cin, c.output_channels = o, c.groups = groups;
  c.kernel_height = (size_t)geo[0], c.kernel_width = (size_t)geo[1];
  c.stride_height = (size_t)geo[2], c.stride_width = (size_t)geo[3];
  c.padding_height = (size_t)geo[4], c.padding_width = (size_t)geo[5];
  c.dilation_height = (size_t)geo[6], c.dilation_width = (size_t)geo[7];
  const size_t wcount = o * cin / groups * c.kernel_height * c.kernel_width;
  const size_t xcount = batch * h * w * cin, ycount = batch * oh * ow * o;
  const golden_field* scales = golden_get(gc, "w_scale");
  const size_t qc = scales ? scales->count : 0;
  int32_t* ints = malloc((wcount + xcount + ycount) * sizeof(int32_t));
  int8_t* weights = malloc(wcount);
  uint8_t* x = malloc(xcount);
  uint8_t* want = malloc(ycount);
  uint8_t* y = malloc(ycount);
  float* w_scale = malloc(qc * sizeof(float));
  int32_t* w_zp = malloc(qc * sizeof(int32_t));
  float* bias = malloc(o * sizeof(float));
  ints_of(gc, "wq", ints, wcount);
  for (size_t i = 0; i < wcount; i++) weights[i] = (int8_t)ints[i];
  ints_of(gc, "xq", ints, xcount);
  for (size_t i = 0; i < xcount; i++) x[i] = (uint8_t)ints[i];
  ints_of(gc, "yq", ints, ycount);
  for (size_t i = 0; i < ycount; i++) want[i] = (uint8_t)ints[i];
  golden_floats(gc, "w_scale", w_scale, qc);
  ints_of(gc, "w_zp", w_zp, qc);
  const int has_bias = golden_int(gc, "has_bias") != 0;
  if (has_bias) golden_floats(gc, "bias", bias, o);
  c.weights = weights, c.quant.weight_qparam_count = qc, c.quant.weight_scales = w_scale;
  c.quant.weight_zero_points = w_zp, c.quant.bias = has_bias ? bias : NULL;
  golden_floats(gc, "x_scale", &c.quant.input_scale, 1);
  c.quant.input_zero_point = (int32_t)golden_int(gc, "x_zp");
  golden_floats(gc, "y_scale", &c.quant.output_scale, 1);
  c.quant.output_zero_point = (int32_t)golden_int(gc, "y_zp");
  c.quant.clamp = golden_int(gc, "relu") ? QEQ_GEMM_CLAMP_RELU : QEQ_GEMM_CLAMP_NONE;
  c.quant.engine = golden_int(gc, "engine") ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
    qeq_conv* conv;
    CHECK(qeq_conv_create(&c, &conv) == QEQ_OK, "%s: %s", gc->name, qeq_last_error());
    memset(y, 0, ycount);
    CHECK(qeq_conv_run(conv, batch, h, w, x, 0, y, 0, NULL) == QEQ_OK, "%s: %s", gc->name,
          qeq_last_error());
    size_t bad = 0, first = ycount;
    for (size_t i = 0; i < ycount; i++) {
      if (y[i] != want[i] && first == ycount) first = i;
      bad += y[i] != want[i];
    }
    CHECK(bad == 0, "%s (%s): %zu of %zu outputs differ from PyTorch (first at %zu: %d, want %d)",
          gc->name, qeq_conv_kernel_name(conv), bad, ycount, first, first < ycount ? y[first] : 0,
          first < ycount ? want[first] : 0);
    coverage_record_family(QEQ_FAMILY_QU8S8_GEMM, isas[t], 0, 1);
    qeq_conv_destroy(conv);
  }
  qeq_clear_isa_cap();
  *outputs += ycount;
  free(ints), free(weights), free(x), free(want), free(y), free(w_scale), free(w_zp), free(bias);
}

static void test_pytorch_golden(void** state) {
  (void)state;
  golden_file* f = golden_open("conv.txt");
  CHECK(f != NULL, "tests/golden/conv.txt is missing: run tests/golden/generate.py conv");
  golden_case gc;
  memset(&gc, 0, sizeof gc); /* golden_next frees the previous case's fields */
  size_t cases = 0, outputs = 0;
  while (golden_next(f, &gc)) {
    run_golden_case(&gc, &outputs);
    cases++;
  }
  golden_close(f, &gc);
  CHECK(cases >= 40, "only %zu conv fixtures", cases);
  printf("conv golden: %zu PyTorch cases, %zu outputs identical under every cap\n", cases, outputs);
}

/* ---- NHWC helpers ---- */

static void test_nhwc_layout(void** state) {
  (void)state;
  const size_t n = 2, c = 3, h = 5, w = 7, count = n * c * h * w;
  float* x = malloc(count * sizeof(float));
  float* y = malloc(count * sizeof(float));
  float* back = malloc(count * sizeof(float));
  for (size_t i = 0; i < count; i++) x[i] = (float)i * 0.5f - 3.0f;
  CHECK(qeq_nchw_to_nhwc_f32(n, c, h, w, x, y) == QEQ_OK, "%s", qeq_last_error());
  for (size_t b = 0; b < n; b++) {
    for (size_t ch = 0; ch < c; ch++) {
      for (size_t p = 0; p < h * w; p++) {
        CHECK(same_bits(y[(b * h * w + p) * c + ch], x[(b * c + ch) * h * w + p]),
              "nhwc[%zu][%zu][%zu]", b, p, ch);
      }
    }
  }
  CHECK(qeq_nhwc_to_nchw_f32(n, c, h, w, y, back) == QEQ_OK, "%s", qeq_last_error());
  CHECK(memcmp(back, x, count * sizeof(float)) == 0, "round trip differs");
  /* bad input: nothing written */
  memset(back, 0, count * sizeof(float));
  CHECK(qeq_nchw_to_nhwc_f32(n, c, h, w, NULL, back) == QEQ_ERROR_INVALID_ARGUMENT, "NULL x");
  CHECK(qeq_nchw_to_nhwc_f32(n, 0, h, w, x, back) == QEQ_ERROR_INVALID_ARGUMENT, "0 channels");
  CHECK(strstr(qeq_last_error(), "qeq_nchw_to_nhwc_f32") != NULL, "%s", qeq_last_error());
  CHECK(qeq_nhwc_to_nchw_f32(n, c, h, w, x, x + 1) == QEQ_ERROR_INVALID_ARGUMENT, "overlap");
  CHECK(qeq_nhwc_to_nchw_f32(SIZE_MAX, c, h, w, x, back) != QEQ_OK, "overflow");
  for (size_t i = 0; i < count; i++) CHECK(back[i] == 0.0f, "written on failure");
  free(x), free(y), free(back);
}

/* Per-channel quantization of NHWC (axis 3) equals NCHW's (axis 1) after the layout change. */
static void test_nhwc_quantize(void** state) {
  (void)state;
  const size_t n = 2, c = 4, h = 3, w = 5, count = n * c * h * w;
  float* x = malloc(count * sizeof(float));
  float* x_nhwc = malloc(count * sizeof(float));
  uint8_t* q_nchw = malloc(count);
  uint8_t* q_nhwc = malloc(count);
  test_rng rng;
  rng_init(&rng, test_seed() + 14);
  for (size_t i = 0; i < count; i++) x[i] = ((float)rng_below(&rng, 2001) - 1000.0f) / 300.0f;
  const float scales[4] = {0.01f, 0.02f, 0.05f, 0.003f};
  const int32_t zps[4] = {0, 128, 255, 17};
  qeq_shape nchw, nhwc;
  CHECK(qeq_shape_init(&nchw, 4, (const size_t[]){n, c, h, w}) == QEQ_OK, "shape");
  CHECK(qeq_shape_init(&nhwc, 4, (const size_t[]){n, h, w, c}) == QEQ_OK, "shape");
  CHECK(qeq_nchw_to_nhwc_f32(n, c, h, w, x, x_nhwc) == QEQ_OK, "%s", qeq_last_error());
  CHECK(qeq_quantize_f32(&nchw, x, 1, QEQ_DTYPE_QUINT8, c, scales, zps, q_nchw) == QEQ_OK, "%s",
        qeq_last_error());
  CHECK(qeq_quantize_f32(&nhwc, x_nhwc, -1, QEQ_DTYPE_QUINT8, c, scales, zps, q_nhwc) == QEQ_OK,
        "%s", qeq_last_error());
  for (size_t b = 0; b < n; b++) {
    for (size_t ch = 0; ch < c; ch++) {
      for (size_t p = 0; p < h * w; p++) {
        CHECK(q_nhwc[(b * h * w + p) * c + ch] == q_nchw[(b * c + ch) * h * w + p],
              "quantized nhwc[%zu][%zu][%zu]", b, p, ch);
      }
    }
  }
  free(x), free(x_nhwc), free(q_nchw), free(q_nhwc);
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("qu8s8_gemm through qeq_conv_run", 0) == 0,
        "an ISA the CPU has was not exercised");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_convs_every_cap),
      cmocka_unit_test(test_indirect_path_every_cap),
      cmocka_unit_test(test_narrow_pointwise_at_the_bound),
      cmocka_unit_test(test_thread_counts),
      cmocka_unit_test(test_input_pixel_stride),
      cmocka_unit_test(test_changing_shapes),
      cmocka_unit_test(test_cap_change_after_packing),
      cmocka_unit_test(test_depthwise_kernel_equals_gemm_path),
      cmocka_unit_test(test_depthwise_multiplier_uses_gemm),
      cmocka_unit_test(test_bad_configs),
      cmocka_unit_test(test_subnormal_scale),
      cmocka_unit_test(test_int32_clamp),
      cmocka_unit_test(test_bad_runs),
      cmocka_unit_test(test_output_size_overflow),
      cmocka_unit_test(test_pixel_stride_beyond_ptrdiff),
      cmocka_unit_test(test_float_output_alignment),
      cmocka_unit_test(test_pytorch_golden),
      cmocka_unit_test(test_nhwc_layout),
      cmocka_unit_test(test_nhwc_quantize),
      cmocka_unit_test(test_isa_coverage),
  };
  printf("test_conv: seed %llu (QEQ_TEST_SEED)\n", (unsigned long long)test_seed());
  return cmocka_run_group_tests(tests, NULL, NULL);
}
