/* PyTorch's own numbers (the tests/golden fixtures, written by tests/golden/generate.py with
 * Debian's python3-torch 1.13) reproduced bit for bit under every ISA cap: channel_range,
 * quantize/dequantize/fake-quantize per tensor and per channel, and the four observers over
 * every dtype, qscheme, reduce_range, custom range and averaging combination. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/golden.h"
#include "tests/support/test-support.h"

static qeq_isa isas[QEQ_ISA_COUNT];
static size_t isa_count;

static qeq_shape golden_shape(const golden_case* c) {
  const golden_field* f = golden_get(c, "shape");
  qeq_shape shape = {f->count, {0}};
  for (size_t d = 0; d < f->count; d++) shape.dims[d] = (size_t)f->values[d];
  return shape;
}

static void test_channel_range(void** state) {
  (void)state;
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap");
    golden_case c = {0};
    golden_file* f = golden_open("channel_range.txt");
    CHECK(f != NULL, "fixture missing");
    size_t cases = 0;
    while (golden_next(f, &c)) {
      const qeq_shape shape = golden_shape(&c);
      const int axis = (int)golden_int(&c, "axis");
      const size_t n = shape_numel(&shape), channels = shape.dims[axis];
      float* x = malloc(n * sizeof(float));
      float* want = malloc(channels * sizeof(float));
      float* got = malloc(channels * sizeof(float));
      golden_floats(&c, "x", x, n);
      golden_floats(&c, "range", want, channels);
      CHECK(qeq_channel_range_f32(&shape, x, axis, got) == QEQ_OK, "%s", qeq_last_error());
      for (size_t i = 0; i < channels; i++) {
        CHECK(same_bits(got[i], want[i]), "%s %s: range[%zu] = %a, PyTorch %a",
              qeq_isa_name(isas[k]), c.name, i, got[i], want[i]);
      }
      free(x), free(want), free(got);
      cases++;
    }
    golden_close(f, &c);
    CHECK(cases > 10, "only %zu channel_range cases", cases);
    coverage_record(isas[k], 0, cases);
  }
  qeq_clear_isa_cap();
}

static void test_quantize(void** state) {
  (void)state;
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap");
    golden_case c = {0};
    golden_file* f = golden_open("quantize.txt");
    CHECK(f != NULL, "fixture missing");
    size_t cases = 0;
    while (golden_next(f, &c)) {
      const qeq_shape shape = golden_shape(&c);
      const int axis = (int)golden_int(&c, "axis");
      const qeq_dtype dtype = golden_int(&c, "dtype") == 0 ? QEQ_DTYPE_QUINT8 : QEQ_DTYPE_QINT8;
      const size_t n = shape_numel(&shape);
      const size_t count = golden_get(&c, "scale")->count;
      float* x = malloc(n * sizeof(float));
      float* scales = malloc(count * sizeof(float));
      int32_t* zps = malloc(count * sizeof(int32_t));
      golden_floats(&c, "x", x, n);
      golden_floats(&c, "scale", scales, count);
      for (size_t i = 0; i < count; i++) zps[i] = (int32_t)golden_get(&c, "zp")->values[i];
      uint8_t* q = malloc(n);
      float* dq = malloc(n * sizeof(float));
      float* fq = malloc(n * sizeof(float));
      CHECK(qeq_quantize_f32(&shape, x, axis, dtype, count, scales, zps, q) == QEQ_OK, "%s",
            qeq_last_error());
      CHECK(qeq_dequantize_f32(&shape, q, axis, dtype, count, scales, zps, dq) == QEQ_OK, "%s",
            qeq_last_error());
      const golden_field* want_q = golden_get(&c, "q");
      const golden_field* want_dq = golden_get(&c, "dq");
      for (size_t i = 0; i < n; i++) {
        const long got = dtype == QEQ_DTYPE_QINT8 ? (long)(int8_t)q[i] : (long)q[i];
        CHECK(got == (long)want_q->values[i], "%s %s: q[%zu] = %ld, PyTorch %ld (x=%a)",
              qeq_isa_name(isas[k]), c.name, i, got, (long)want_q->values[i], x[i]);
        CHECK(same_bits(dq[i], (float)want_dq->values[i]), "%s %s: dq[%zu] = %a, PyTorch %a",
              qeq_isa_name(isas[k]), c.name, i, dq[i], (float)want_dq->values[i]);
      }
      /* fake quantization: per tensor over the dtype range, per channel over fq_range */
      int32_t fq_min = dtype == QEQ_DTYPE_QINT8 ? -128 : 0, fq_max = fq_min + 255;
      const golden_field* fq_range = golden_get(&c, "fq_range");
      const golden_field* fq_zp = golden_get(&c, "fq_zp");
      if (fq_range != NULL) {
        fq_min = (int32_t)fq_range->values[0];
        fq_max = (int32_t)fq_range->values[1];
        for (size_t i = 0; i < count; i++) zps[i] = (int32_t)fq_zp->values[i];
      }
      CHECK(
          qeq_fake_quantize_f32(&shape, x, axis, count, scales, zps, fq_min, fq_max, fq) == QEQ_OK,
          "%s", qeq_last_error());
      const golden_field* want_fq = golden_get(&c, "fq");
      for (size_t i = 0; i < n; i++) {
        CHECK(same_bits(fq[i], (float)want_fq->values[i]), "%s %s: fq[%zu] = %a, PyTorch %a",
              qeq_isa_name(isas[k]), c.name, i, fq[i], (float)want_fq->values[i]);
      }
      free(x), free(scales), free(zps), free(q), free(dq), free(fq);
      cases++;
    }
    golden_close(f, &c);
    CHECK(cases >= 40, "only %zu quantize cases", cases);
    coverage_record(isas[k], 0, cases);
  }
  qeq_clear_isa_cap();
}

static void test_observers(void** state) {
  (void)state;
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap");
    golden_case c = {0};
    golden_file* f = golden_open("observers.txt");
    CHECK(f != NULL, "fixture missing");
    size_t cases = 0;
    while (golden_next(f, &c)) {
      qeq_observer_config config = qeq_observer_config_default(
          golden_int(&c, "dtype") == 0 ? QEQ_DTYPE_QUINT8 : QEQ_DTYPE_QINT8,
          (qeq_qscheme)golden_int(&c, "qscheme"));
      config.reduce_range = (int)golden_int(&c, "reduce_range");
      const golden_field* custom = golden_get(&c, "custom");
      config.has_custom_range = custom->values[0] != 0;
      config.quant_min = (int32_t)custom->values[1];
      config.quant_max = (int32_t)custom->values[2];
      config.averaging_constant = (float)golden_get(&c, "averaging")->values[0];
      config.ch_axis = (int)golden_int(&c, "axis");
      int32_t qmin, qmax;
      CHECK(qeq_quant_range(&config, &qmin, &qmax) == QEQ_OK, "%s: %s", c.name, qeq_last_error());
      const golden_field* qrange = golden_get(&c, "qrange");
      CHECK(qmin == (int32_t)qrange->values[0] && qmax == (int32_t)qrange->values[1],
            "%s: range [%d, %d], PyTorch [%g, %g]", c.name, qmin, qmax, qrange->values[0],
            qrange->values[1]);
      qeq_observer* obs = NULL;
      CHECK(qeq_observer_create(&config, &obs) == QEQ_OK, "%s: %s", c.name, qeq_last_error());
      const qeq_shape shape = {3, {3, 4, 5}};
      float batch[60];
      for (int b = 0; b < 3; b++) {
        char key[16];
        snprintf(key, sizeof key, "batch%d", b);
        golden_floats(&c, key, batch, 60);
        CHECK(qeq_observer_update(obs, &shape, batch) == QEQ_OK, "%s", qeq_last_error());
      }
      const size_t channels = golden_get(&c, "scale")->count;
      CHECK(qeq_observer_channels(obs) == channels, "%s: %zu channels, PyTorch %zu", c.name,
            qeq_observer_channels(obs), channels);
      float mn[8], mx[8], want_mn[8], want_mx[8], scale[8], want_scale[8];
      int32_t zp[8];
      CHECK(qeq_observer_minmax(obs, channels, mn, mx) == QEQ_OK, "%s", qeq_last_error());
      CHECK(qeq_observer_qparams(obs, channels, scale, zp, NULL) == QEQ_OK, "%s: %s", c.name,
            qeq_last_error());
      golden_floats(&c, "min", want_mn, channels);
      golden_floats(&c, "max", want_mx, channels);
      golden_floats(&c, "scale", want_scale, channels);
      for (size_t i = 0; i < channels; i++) {
        CHECK(same_bits(mn[i], want_mn[i]) && same_bits(mx[i], want_mx[i]),
              "%s [%zu]: min/max (%a, %a), PyTorch (%a, %a)", c.name, i, mn[i], mx[i], want_mn[i],
              want_mx[i]);
        CHECK(same_bits(scale[i], want_scale[i]), "%s [%zu]: scale %a, PyTorch %a", c.name, i,
              scale[i], want_scale[i]);
        CHECK(zp[i] == (int32_t)golden_get(&c, "zp")->values[i], "%s [%zu]: zp %d, PyTorch %g",
              c.name, i, zp[i], golden_get(&c, "zp")->values[i]);
      }
      qeq_observer_destroy(obs);
      cases++;
    }
    golden_close(f, &c);
    CHECK(cases >= 50, "only %zu observer cases", cases);
    coverage_record(isas[k], 0, cases);
  }
  qeq_clear_isa_cap();
}

/* SQNR: PyTorch computes the norms in float32, qeq in double: agree to 1e-4 dB; an exact
 * match is +inf in both. */
static void test_sqnr(void** state) {
  (void)state;
  golden_case c = {0};
  golden_file* f = golden_open("sqnr.txt");
  CHECK(f != NULL, "fixture missing");
  size_t cases = 0;
  while (golden_next(f, &c)) {
    const size_t n = golden_get(&c, "ref")->count;
    float* ref = malloc(n * sizeof(float));
    float* x = malloc(n * sizeof(float));
    golden_floats(&c, "ref", ref, n);
    golden_floats(&c, "x", x, n);
    const double want = golden_get(&c, "sqnr")->values[0];
    double got = 0;
    CHECK(qeq_sqnr_f32(n, ref, x, &got) == QEQ_OK, "%s", qeq_last_error());
    if (isinf(want)) {
      CHECK(isinf(got) && got > 0, "%s: sqnr %g, PyTorch %g", c.name, got, want);
    } else {
      CHECK(fabs(got - want) < 1e-4, "%s: sqnr %.7f dB, PyTorch %.7f dB", c.name, got, want);
    }
    free(ref), free(x);
    cases++;
  }
  golden_close(f, &c);
  CHECK(cases >= 6, "only %zu sqnr cases", cases);
  const float bad[2] = {1.0f, NAN}, good[2] = {1.0f, 2.0f};
  double out = 42.0;
  CHECK(qeq_sqnr_f32(2, good, bad, &out) == QEQ_ERROR_NON_FINITE && out == 42.0, "NaN accepted");
  CHECK(qeq_sqnr_f32(0, good, good, &out) == QEQ_ERROR_INVALID_ARGUMENT, "n 0 accepted");
  const float zeros[2] = {0.0f, 0.0f};
  CHECK(qeq_sqnr_f32(2, zeros, zeros, &out) == QEQ_OK && isinf(out) && out > 0, "zeros");
  CHECK(qeq_sqnr_f32(2, zeros, good, &out) == QEQ_OK && isinf(out) && out < 0, "zero signal");
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("golden fixtures under each ISA cap", 0) == 0, "ISA coverage incomplete");
}

int main(void) {
  isa_count = detected_isas(isas);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_channel_range), cmocka_unit_test(test_quantize),
      cmocka_unit_test(test_observers),     cmocka_unit_test(test_sqnr),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
