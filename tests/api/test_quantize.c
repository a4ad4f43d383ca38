/* Quantization f32 -> u8/s8 and fake quantization: every f32_q8_rquant and f32_fq_rquant
 * variant (NEON through SIMDe too) and the public API under every ISA cap, against an
 * independent reference that follows PyTorch's formula in double/int64 with qeq's
 * saturation; ties, specials, signed zeros and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

/* Round half to even, independent of the rounding mode and of nearbyint. */
static double round_half_even(double v) {
  double f = floor(v);
  const double d = v - f;
  if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0)) f += 1.0;
  return f;
}

/* PyTorch: zp + round(x * (1.0f / scale)) clamped to the dtype; qeq: NaN -> zp, +-inf and
 * overflow saturate. Returns the stored byte. */
static uint8_t ref_quantize(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float inv = 1.0f / scale;
  volatile float product = x * inv; /* rounded to float32, as PyTorch computes it */
  const float v = product;
  int64_t q;
  if (isnan(v)) {
    q = zp;
  } else {
    const double r = (double)zp + round_half_even((double)v);
    q = r >= (double)qmax ? qmax : r <= (double)qmin ? qmin : (int64_t)r;
  }
  return (uint8_t)(q & 0xff);
}

/* PyTorch's fake quantization: level q = clamp(zp + round(x * inv), qmin, qmax) in int64,
 * y = (q - zp) * scale (the product exact in double, rounded once to float). qeq: NaN -> zp,
 * +-inf saturate. */
static float ref_fake_quantize(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float inv = 1.0f / scale;
  volatile float product = x * inv;
  const float v = product;
  int64_t q;
  if (isnan(v)) {
    q = zp;
  } else {
    const double r = (double)zp + round_half_even((double)v);
    q = r >= (double)qmax ? qmax : r <= (double)qmin ? qmin : (int64_t)r;
  }
  return (float)((double)(q - zp) * (double)scale);
}

static float random_qscale(test_rng* rng) {
  switch (rng_below(rng, 5)) {
    case 0: return ldexpf(1.0f, (int)rng_below(rng, 20) - 12); /* powers of two: exact ties */
    case 1: return 1e-6f;
    case 2: return 1e6f;
    default: return (float)(1 + rng_below(rng, 100000)) / 1e6f;
  }
}

/* Values around the quantization grid of `scale`, with exact ties when scale is 2^k. */
static float random_input(test_rng* rng, float scale) {
  switch (rng_below(rng, 10)) {
    case 0: return ((float)((int)rng_below(rng, 600) - 300) + 0.5f) * scale;
    case 1: return (float)((int)rng_below(rng, 600) - 300) * scale;
    case 2: return rng_value(rng);
    case 3: {
      static const float specials[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, -0.0f, 0.0f};
      return specials[rng_below(rng, sizeof specials / sizeof specials[0])];
    }
    default: return ((float)rng_below(rng, 2000001) / 1000000.0f - 1.0f) * 300.0f * scale;
  }
}

typedef struct dtype_case {
  qeq_dtype dtype;
  int32_t qmin, qmax;
} dtype_case;
static const dtype_case dtypes[2] = {{QEQ_DTYPE_QUINT8, 0, 255}, {QEQ_DTYPE_QINT8, -128, 127}};

static void run_kernel_variant(const test_variant* v, test_rng* rng) {
  qeq_f32_q8_rquant_ukernel_fn* kernel = (qeq_f32_q8_rquant_ukernel_fn*)v->fn;
  const size_t cases = variant_cases(v, 300);
  for (size_t t = 0; t < cases; t++) {
    const dtype_case d = dtypes[rng_below(rng, 2)];
    const size_t outer = rng_size_pick(rng, 5);
    const size_t channels = rng_size_pick(rng, 20);
    const size_t inner = rng_size_pick(rng, 200);
    const size_t n = outer * channels * inner;
    float* scale = malloc(channels * sizeof(float));
    int32_t* zp = malloc(channels * sizeof(int32_t));
    qeq_q8_quant_params* params = malloc(channels * sizeof *params);
    for (size_t c = 0; c < channels; c++) {
      scale[c] = random_qscale(rng);
      zp[c] = d.qmin + (int32_t)rng_below(rng, (size_t)(d.qmax - d.qmin + 1));
      params[c].inv_scale = 1.0f / scale[c];
      params[c].lo = (float)(d.qmin - zp[c]);
      params[c].hi = (float)(d.qmax - zp[c]);
      params[c].zero_point = zp[c];
    }
    float* x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = random_input(rng, scale[(i / inner) % channels]);
    uint8_t* y = malloc(n + 16);
    memset(y, 0xa5, n + 16);
    /* Half the cases with streaming stores on, half with them off. */
    kernel(outer, channels, inner, x, params, (int)rng_below(rng, 2), y);
    for (size_t i = 0; i < n; i++) {
      const size_t c = (i / inner) % channels;
      const uint8_t want = ref_quantize(x[i], scale[c], zp[c], d.qmin, d.qmax);
      CHECK(y[i] == want, "%s y[%zu] = %u, want %u (x=%a scale=%a zp=%d dtype=%d)", v->name, i,
            y[i], want, x[i], scale[c], zp[c], (int)d.dtype);
    }
    for (size_t i = n; i < n + 16; i++) CHECK(y[i] == 0xa5, "%s wrote past y", v->name);
    free(scale), free(zp), free(params), free(x), free(y);
  }
  coverage_record(v->isa, v->via_simde, cases);
}

static void run_fake_quant_variant(const test_variant* v, test_rng* rng) {
  qeq_f32_fq_rquant_ukernel_fn* kernel = (qeq_f32_fq_rquant_ukernel_fn*)v->fn;
  const size_t cases = variant_cases(v, 300);
  for (size_t t = 0; t < cases; t++) {
    /* observer-style ranges: full 8-bit, reduced, or narrow */
    const int32_t qmin = rng_below(rng, 2) ? 0 : -(int32_t)rng_below(rng, 129);
    const int32_t qmax = qmin + 1 + (int32_t)rng_below(rng, 255);
    const size_t outer = rng_size_pick(rng, 5);
    const size_t channels = rng_size_pick(rng, 20);
    const size_t inner = rng_size_pick(rng, 200);
    const size_t n = outer * channels * inner;
    float* scale = malloc(channels * sizeof(float));
    int32_t* zp = malloc(channels * sizeof(int32_t));
    qeq_fq_params* params = malloc(channels * sizeof *params);
    for (size_t c = 0; c < channels; c++) {
      scale[c] = random_qscale(rng);
      zp[c] = qmin + (int32_t)rng_below(rng, (size_t)(qmax - qmin + 1));
      params[c].inv_scale = 1.0f / scale[c];
      params[c].lo = (float)(qmin - zp[c]);
      params[c].hi = (float)(qmax - zp[c]);
      params[c].scale = scale[c];
    }
    float* x = malloc((n + 8) * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = random_input(rng, scale[(i / inner) % channels]);
    const int in_place = rng_below(rng, 2);
    float* y = in_place ? x : malloc((n + 8) * sizeof(float));
    for (size_t i = n; i < n + 8; i++) y[i] = 1234.5f;
    float* want = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
      const size_t c = (i / inner) % channels;
      want[i] = ref_fake_quantize(x[i], scale[c], zp[c], qmin, qmax);
    }
    /* Half the cases with streaming stores on, half with them off. */
    kernel(outer, channels, inner, x, params, (int)rng_below(rng, 2), y);
    for (size_t i = 0; i < n; i++) {
      CHECK(same_bits(y[i], want[i]), "%s%s y[%zu] = %a, want %a (range [%d, %d])", v->name,
            in_place ? " in place" : "", i, y[i], want[i], qmin, qmax);
    }
    for (size_t i = n; i < n + 8; i++) CHECK(y[i] == 1234.5f, "%s wrote past y", v->name);
    if (!in_place) free(y);
    free(scale), free(zp), free(params), free(x), free(want);
  }
  coverage_record(v->isa, v->via_simde, cases);
}

static void run_dequant_variant(const test_variant* v, test_rng* rng) {
  qeq_q8_f32_rdequant_ukernel_fn* kernel = (qeq_q8_f32_rdequant_ukernel_fn*)v->fn;
  const size_t cases = variant_cases(v, 300);
  for (size_t t = 0; t < cases; t++) {
    const int is_signed = (int)rng_below(rng, 2);
    const dtype_case d = dtypes[is_signed];
    const size_t outer = rng_size_pick(rng, 5);
    const size_t channels = rng_size_pick(rng, 20);
    const size_t inner = rng_size_pick(rng, 200);
    const size_t n = outer * channels * inner;
    qeq_q8_dequant_params* params = malloc(channels * sizeof *params);
    for (size_t c = 0; c < channels; c++) {
      params[c].scale = random_qscale(rng);
      params[c].zero_point = d.qmin + (int32_t)rng_below(rng, (size_t)(d.qmax - d.qmin + 1));
    }
    uint8_t* q = malloc(n);
    for (size_t i = 0; i < n; i++) q[i] = (uint8_t)rng_below(rng, 256);
    float* y = malloc((n + 8) * sizeof(float));
    for (size_t i = n; i < n + 8; i++) y[i] = 1234.5f;
    kernel(outer, channels, inner, q, is_signed, params, y);
    for (size_t i = 0; i < n; i++) {
      const qeq_q8_dequant_params* p = &params[(i / inner) % channels];
      const int level = is_signed ? (int)(int8_t)q[i] : (int)q[i];
      volatile float want = p->scale * (float)(level - p->zero_point);
      CHECK(same_bits(y[i], want), "%s y[%zu] = %a, want %a (q=%u signed=%d)", v->name, i, y[i],
            (float)want, q[i], is_signed);
    }
    for (size_t i = n; i < n + 8; i++) CHECK(y[i] == 1234.5f, "%s wrote past y", v->name);
    free(params), free(q), free(y);
  }
  coverage_record(v->isa, v->via_simde, cases);
}

/* Requantization reference: the accumulator rounded to float, times M in float, then
 * PyTorch's formula. */
static uint8_t ref_requantize(int32_t acc, float m, int32_t zp, int32_t qmin, int32_t qmax) {
  volatile float product = (float)acc * m;
  const double r = (double)zp + round_half_even((double)(float)product);
  const int64_t q = r >= (double)qmax ? qmax : r <= (double)qmin ? qmin : (int64_t)r;
  return (uint8_t)(q & 0xff);
}

static void run_requant_variant(const test_variant* v, test_rng* rng) {
  qeq_s32_q8_rrequant_ukernel_fn* kernel = (qeq_s32_q8_rrequant_ukernel_fn*)v->fn;
  const size_t cases = variant_cases(v, 300);
  for (size_t t = 0; t < cases; t++) {
    const dtype_case d = dtypes[rng_below(rng, 2)];
    const int32_t zp = d.qmin + (int32_t)rng_below(rng, (size_t)(d.qmax - d.qmin + 1));
    const int32_t qmin = rng_below(rng, 2) ? zp : d.qmin; /* fused ReLU or not */
    const size_t outer = rng_size_pick(rng, 5);
    const size_t channels = rng_size_pick(rng, 20);
    const size_t inner = rng_size_pick(rng, 200);
    const size_t n = outer * channels * inner;
    qeq_q8_quant_params* params = malloc(channels * sizeof *params);
    float* m = malloc(channels * sizeof(float));
    for (size_t c = 0; c < channels; c++) {
      m[c] = random_qscale(rng) * (rng_below(rng, 2) ? 1.0f : 1e-3f);
      params[c].inv_scale = m[c];
      params[c].lo = (float)(qmin - zp);
      params[c].hi = (float)(d.qmax - zp);
      params[c].zero_point = zp;
    }
    int32_t* acc = malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
      switch (rng_below(rng, 4)) {
        case 0: acc[i] = (int32_t)(rng_next(rng) & 0xffffffffu); break; /* any int32 */
        case 1: acc[i] = (int32_t)rng_below(rng, 2001) - 1000; break;
        case 2: acc[i] = rng_below(rng, 2) ? INT32_MAX : INT32_MIN; break;
        default: acc[i] = (int32_t)rng_below(rng, 200001) - 100000; break;
      }
    }
    uint8_t* y = malloc(n + 16);
    memset(y, 0xa5, n + 16);
    /* Half the cases with streaming stores on, half with them off. */
    kernel(outer, channels, inner, acc, params, (int)rng_below(rng, 2), y);
    for (size_t i = 0; i < n; i++) {
      const size_t c = (i / inner) % channels;
      const uint8_t want = ref_requantize(acc[i], m[c], zp, qmin, d.qmax);
      CHECK(y[i] == want, "%s y[%zu] = %u, want %u (acc=%d m=%a zp=%d)", v->name, i, y[i], want,
            acc[i], m[c], zp);
    }
    for (size_t i = n; i < n + 16; i++) CHECK(y[i] == 0xa5, "%s wrote past y", v->name);
    free(params), free(m), free(acc), free(y);
  }
  coverage_record(v->isa, v->via_simde, cases);
}

static void test_kernel_variants(void** state) {
  (void)state;
  size_t count;
  const test_variant* variants = test_variants(&count);
  size_t ran = 0;
  for (size_t i = 0; i < count; i++) {
    const int quant = variants[i].family == QEQ_FAMILY_F32_Q8_RQUANT;
    const int fake = variants[i].family == QEQ_FAMILY_F32_FQ_RQUANT;
    const int dequant = variants[i].family == QEQ_FAMILY_Q8_F32_RDEQUANT;
    const int requant = variants[i].family == QEQ_FAMILY_S32_Q8_RREQUANT;
    if (!(quant || fake || dequant || requant) || !variant_runnable(&variants[i])) continue;
    test_rng rng;
    rng_init(&rng, test_seed() + 7919u * i);
    if (quant) {
      run_kernel_variant(&variants[i], &rng);
    } else if (fake) {
      run_fake_quant_variant(&variants[i], &rng);
    } else if (dequant) {
      run_dequant_variant(&variants[i], &rng);
    } else {
      run_requant_variant(&variants[i], &rng);
    }
    printf("  %-44s %s ok\n", variants[i].name, variants[i].via_simde ? "(SIMDe)" : "       ");
    ran++;
  }
  CHECK(ran >= 4, "a quantization family has no runnable variant");
}

/* Ties go to even: docs/numerics.md#quantize's example, for both dtypes, under every ISA cap. */
static void test_ties_and_saturation(void** state) {
  (void)state;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t isa_count = detected_isas(isas);
  const float x[20] = {0.5f,     1.5f,      2.5f,  -0.5f,  -1.5f,  -2.5f,  NAN,
                       INFINITY, -INFINITY, 1e30f, -1e30f, 127.5f, 128.5f, -128.5f,
                       255.5f,   254.5f,    -0.0f, 3.0f,   1.0f,   2.0f};
  const qeq_shape shape = {1, {20}};
  const float scale = 1.0f;
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap %s", qeq_isa_name(isas[k]));
    int8_t s8[20];
    uint8_t u8[20];
    const int32_t zp0 = 0, zp3 = 3;
    CHECK(qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QINT8, 1, &scale, &zp0, s8) == QEQ_OK, "%s",
          qeq_last_error());
    CHECK(qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QUINT8, 1, &scale, &zp3, u8) == QEQ_OK, "%s",
          qeq_last_error());
    static const int8_t want_s8[20] = {0,    2,   2,   0,    -2,  -2,  0, 127, -128, 127,
                                       -128, 127, 127, -128, 127, 127, 0, 3,   1,    2};
    static const uint8_t want_u8[20] = {3, 5,   5,   3, 1,   1,   3, 255, 0, 255,
                                        0, 131, 131, 0, 255, 255, 3, 6,   4, 5};
    for (int i = 0; i < 20; i++) {
      CHECK(s8[i] == want_s8[i], "%s qint8 x=%g: %d, want %d", qeq_isa_name(isas[k]), x[i], s8[i],
            want_s8[i]);
      CHECK(u8[i] == want_u8[i], "%s quint8 zp 3 x=%g: %u, want %u", qeq_isa_name(isas[k]), x[i],
            u8[i], want_u8[i]);
    }
    coverage_record(isas[k], 0, 1);
  }
  qeq_clear_isa_cap();
}

/* The requantization step of docs/numerics.md#engines-at-half-way-points with QNNPACK's
 * integer bias: acc + b_q, times M, gives [17, 14]. */
static void test_requantize_spec_vector(void** state) {
  (void)state;
  /* s_x = 1/64, s_w = 1/128, s_y = 1/32: M = s_x * s_w / s_y = 1/256 (exact); the float
   * bias b / (s_x * s_w) folds into the accumulator as an integer here only when exact, so
   * use PyTorch's QNNPACK form with b_q = [2826, -2073]: (acc + b_q) / 256 = [7.492, 4.5]. */
  const int32_t acc[2] = {-908 + 2826, 3225 - 2073};
  const float m = 1.0f / 256.0f;
  const qeq_shape shape = {1, {2}};
  uint8_t y[2];
  CHECK(qeq_requantize_s32(&shape, acc, 0, 1, &m, 10, 0, 255, QEQ_DTYPE_QUINT8, y) == QEQ_OK, "%s",
        qeq_last_error());
  CHECK(y[0] == 17 && y[1] == 14, "requantize [%u, %u], want QNNPACK's [17, 14]", y[0], y[1]);
  /* fused ReLU clamps at the zero point */
  const int32_t negative[2] = {-5000, 5000};
  CHECK(qeq_requantize_s32(&shape, negative, 0, 1, &m, 10, 10, 255, QEQ_DTYPE_QUINT8, y) == QEQ_OK,
        "%s", qeq_last_error());
  CHECK(y[0] == 10 && y[1] == 30, "ReLU requantize [%u, %u], want [10, 30]", y[0], y[1]);
  CHECK(qeq_requantize_s32(&shape, negative, 0, 1, &m, 10, 11, 255, QEQ_DTYPE_QUINT8, y) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "zero point below quant_min accepted");
  const float bad_m = 0.0f;
  CHECK(qeq_requantize_s32(&shape, negative, 0, 1, &bad_m, 10, 0, 255, QEQ_DTYPE_QUINT8, y) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "multiplier 0 accepted");
  CHECK(qeq_requantize_s32(&shape, negative, 0, 1, &m, 0, 0, 300, QEQ_DTYPE_QINT8, y) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "quant_max 300 accepted for qint8");
}

/* The API on random N-d shapes, per tensor and per channel along every axis, under every cap. */
static void test_api_random(void** state) {
  (void)state;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t isa_count = detected_isas(isas);
  const size_t cases = test_iterations(150);
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap %s", qeq_isa_name(isas[k]));
    test_rng rng;
    rng_init(&rng, test_seed() ^ 0x5151u);
    for (size_t t = 0; t < cases; t++) {
      qeq_shape shape = {1 + rng_below(&rng, 5), {0}};
      for (size_t d = 0; d < shape.ndim; d++) shape.dims[d] = rng_size_pick(&rng, 12);
      const size_t n = shape_numel(&shape);
      const int axis = (int)rng_below(&rng, 2 * shape.ndim) - (int)shape.ndim;
      const size_t a = (size_t)(axis < 0 ? axis + (int)shape.ndim : axis);
      const size_t count = rng_below(&rng, 3) == 0 ? 1 : shape.dims[a];
      const dtype_case dt = dtypes[rng_below(&rng, 2)];
      float* scales = malloc(count * sizeof(float));
      int32_t* zps = malloc(count * sizeof(int32_t));
      for (size_t c = 0; c < count; c++) {
        scales[c] = random_qscale(&rng);
        zps[c] = dt.qmin + (int32_t)rng_below(&rng, (size_t)(dt.qmax - dt.qmin + 1));
      }
      float* x = malloc(n * sizeof(float));
      size_t inner = 1;
      for (size_t d = a + 1; d < shape.ndim; d++) inner *= shape.dims[d];
      for (size_t i = 0; i < n; i++) {
        const size_t c = count == 1 ? 0 : (i / inner) % shape.dims[a];
        x[i] = random_input(&rng, scales[c]);
      }
      uint8_t* y = malloc(n);
      CHECK(qeq_quantize_f32(&shape, x, axis, dt.dtype, count, scales, zps, y) == QEQ_OK,
            "quantize: %s", qeq_last_error());
      float* fq = malloc(n * sizeof(float));
      CHECK(qeq_fake_quantize_f32(&shape, x, axis, count, scales, zps, dt.qmin, dt.qmax, fq) ==
                QEQ_OK,
            "fake quantize: %s", qeq_last_error());
      for (size_t i = 0; i < n; i++) {
        const size_t c = count == 1 ? 0 : (i / inner) % shape.dims[a];
        const uint8_t want = ref_quantize(x[i], scales[c], zps[c], dt.qmin, dt.qmax);
        CHECK(y[i] == want, "%s axis %d count %zu: y[%zu] = %u, want %u (x=%a)",
              qeq_isa_name(isas[k]), axis, count, i, y[i], want, x[i]);
        const float want_fq = ref_fake_quantize(x[i], scales[c], zps[c], dt.qmin, dt.qmax);
        CHECK(same_bits(fq[i], want_fq), "%s fake axis %d count %zu: y[%zu] = %a, want %a",
              qeq_isa_name(isas[k]), axis, count, i, fq[i], want_fq);
      }
      /* dequantize(quantize(x)) is the fake quantization over the full dtype range */
      float* dq = malloc(n * sizeof(float));
      CHECK(qeq_dequantize_f32(&shape, y, axis, dt.dtype, count, scales, zps, dq) == QEQ_OK,
            "dequantize: %s", qeq_last_error());
      CHECK(memcmp(dq, fq, n * sizeof(float)) == 0, "%s dequantize(quantize(x)) != fake quantize",
            qeq_isa_name(isas[k]));
      free(dq);
      /* in place */
      CHECK(
          qeq_fake_quantize_f32(&shape, x, axis, count, scales, zps, dt.qmin, dt.qmax, x) == QEQ_OK,
          "in-place fake quantize: %s", qeq_last_error());
      CHECK(memcmp(x, fq, n * sizeof(float)) == 0, "%s in-place fake quantize differs",
            qeq_isa_name(isas[k]));
      free(scales), free(zps), free(x), free(y), free(fq);
    }
    coverage_record(isas[k], 0, cases);
  }
  qeq_clear_isa_cap();
}

static void test_errors(void** state) {
  (void)state;
  const qeq_shape shape = {2, {3, 4}};
  const float x[12] = {0};
  const float scales[3] = {0.1f, 0.2f, 0.3f};
  const int32_t zps[3] = {0, 1, 2};
  uint8_t y[12];
  memset(y, 0x5a, sizeof y);
  const float bad_scales[] = {0.0f, -1.0f, NAN, INFINITY, 1e-45f};
  for (size_t i = 0; i < sizeof bad_scales / sizeof bad_scales[0]; i++) {
    const float s[3] = {0.1f, bad_scales[i], 0.3f};
    CHECK(qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QUINT8, 3, s, zps, y) ==
              QEQ_ERROR_INVALID_ARGUMENT,
          "scale %g accepted", bad_scales[i]);
    CHECK(strstr(qeq_last_error(), "scales[1]") != NULL, "message: %s", qeq_last_error());
  }
  const int32_t bad_zp[3] = {0, 256, 0};
  CHECK(qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QUINT8, 3, scales, bad_zp, y) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "zero point 256 accepted for quint8");
  CHECK(strstr(qeq_last_error(), "zero_points[1]") != NULL, "message: %s", qeq_last_error());
  const int32_t bad_zp8[3] = {0, -129, 0};
  CHECK(qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QINT8, 3, scales, bad_zp8, y) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "zero point -129 accepted for qint8");
  CHECK(qeq_quantize_f32(&shape, x, 1, QEQ_DTYPE_QUINT8, 3, scales, zps, y) ==
            QEQ_ERROR_SHAPE_MISMATCH,
        "count 3 along an axis of 4 accepted");
  CHECK(qeq_quantize_f32(&shape, x, 2, QEQ_DTYPE_QUINT8, 3, scales, zps, y) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "axis 2 of 2-d accepted");
  CHECK(
      qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QINT32, 3, scales, zps, y) == QEQ_ERROR_UNSUPPORTED,
      "qint32 accepted");
  CHECK(
      qeq_quantize_f32(&shape, x, 0, (qeq_dtype)9, 3, scales, zps, y) == QEQ_ERROR_INVALID_ARGUMENT,
      "dtype 9 accepted");
  CHECK(qeq_quantize_f32(&shape, NULL, 0, QEQ_DTYPE_QINT8, 3, scales, zps, y) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "NULL x");
  CHECK(qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QINT8, 3, scales, zps, NULL) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "NULL y");
  CHECK(qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QINT8, 3, scales, zps, (void*)x) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "y overlapping x");
  for (size_t i = 0; i < sizeof y; i++) CHECK(y[i] == 0x5a, "y written on failure");

  float fy[12];
  for (size_t i = 0; i < 12; i++) fy[i] = 7.0f;
  CHECK(
      qeq_fake_quantize_f32(&shape, x, 0, 3, scales, zps, 10, 5, fy) == QEQ_ERROR_INVALID_ARGUMENT,
      "quant_min > quant_max accepted");
  CHECK(strstr(qeq_last_error(), "quant_min") != NULL, "message: %s", qeq_last_error());
  const int32_t zp_out[3] = {0, 200, 0};
  CHECK(qeq_fake_quantize_f32(&shape, x, 0, 3, scales, zp_out, 0, 127, fy) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "zero point outside [quant_min, quant_max] accepted");
  CHECK(qeq_fake_quantize_f32(&shape, x, 0, 3, scales, zps, 0, 1 << 25, fy) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "quant_max 2^25 accepted");
  float overlap[13] = {0};
  CHECK(qeq_fake_quantize_f32(&shape, overlap, 0, 3, scales, zps, 0, 255, overlap + 1) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "partial overlap accepted");
  for (size_t i = 0; i < 12; i++) CHECK(fy[i] == 7.0f, "fy written on failure");

  const uint8_t q[12] = {0};
  CHECK(qeq_dequantize_f32(&shape, q, 0, QEQ_DTYPE_QINT8, 3, scales, bad_zp8, fy) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "dequantize with zero point -129 accepted");
  CHECK(qeq_dequantize_f32(&shape, NULL, 0, QEQ_DTYPE_QINT8, 3, scales, zps, fy) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "dequantize NULL q");
  CHECK(qeq_dequantize_f32(&shape, q, 0, QEQ_DTYPE_QINT32, 3, scales, zps, fy) ==
            QEQ_ERROR_UNSUPPORTED,
        "dequantize qint32");
  CHECK(qeq_dequantize_f32(&shape, fy, 0, QEQ_DTYPE_QUINT8, 3, scales, zps, fy) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "dequantize in place accepted");
  for (size_t i = 0; i < 12; i++) CHECK(fy[i] == 7.0f, "fy written on failure");
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("quantize", 1) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_quantize: seed %llu\n", (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernel_variants),
      cmocka_unit_test(test_ties_and_saturation),
      cmocka_unit_test(test_api_random),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_requantize_spec_vector),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
