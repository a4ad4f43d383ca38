/* Every q8_vadd, q8_vadd_fixed, q8_vmul, q8_maxpool, q8_avgpool and x8_lut variant against the
 * kernel contracts of kernels/ukernels.h written out here: bit-exact outputs, both dtypes, odd
 * sizes, in place, nothing written past the end. (test_minmax_scale_kernels.c checks that every
 * registered variant is in the test list.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

enum { GUARD = 0xA5, GUARD_BYTES = 64 };

static int32_t level(uint8_t q, int is_signed) {
  return is_signed ? (int32_t)(int8_t)q : (int32_t)q;
}

/* PyTorch's vectorised dequantization, fma(q, s, f32(s * -z)), written without an fma: q * s
 * is exact in double (8 by 24 bits), and so is its sum with the float offset (both are
 * multiples of ulp(s) below 2^10 * s: 34 bits), so one rounding to float gives the fused
 * result. */
static float dequantize_fma(int32_t q, float scale, int32_t zero_point) {
  const float offset = scale * (float)(-zero_point);
  return (float)((double)q * (double)scale + (double)offset);
}

/* The contract's requantization: rne of the clamped float, plus the zero point. */
static uint8_t requantize(float v, const qeq_q8_quant_params* out) {
  if (v != v) v = 0.0f;
  const double clamped = v < out->lo ? out->lo : v > out->hi ? out->hi : v;
  return (uint8_t)(out->zero_point + (int32_t)rint(clamped));
}

/* Random qparams of y for a dtype: scale of any magnitude, lo/hi from the range. */
static qeq_q8_quant_params random_out(test_rng* rng, int is_signed, int relu) {
  qeq_q8_quant_params p;
  const int32_t qmin = is_signed ? -128 : 0;
  p.zero_point = qmin + (int32_t)rng_below(rng, 256);
  p.inv_scale =
      1.0f / ldexpf(1.0f + (float)rng_below(rng, 1000) / 1000.0f, (int)rng_below(rng, 20) - 14);
  p.lo = (float)(qmin - p.zero_point);
  p.hi = (float)(qmin + 255 - p.zero_point);
  if (relu && p.lo < 0.0f) p.lo = 0.0f;
  return p;
}

static void fill_bytes(test_rng* rng, uint8_t* x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (uint8_t)rng_next(rng);
}

static void run_vadd(const test_variant* v, test_rng* rng) {
  qeq_q8_vadd_ukernel_fn* kernel = (qeq_q8_vadd_ukernel_fn*)v->fn;
  size_t cases = 0;
  for (size_t iter = 0; iter < variant_cases(v, 300); iter++, cases++) {
    const size_t n = rng_below(rng, 8) == 0 ? 1 + rng_below(rng, 3000) : rng_size_pick(rng, 300);
    const int is_signed = (int)rng_below(rng, 2);
    const int in_place = (int)rng_below(rng, 4); /* 1: y == a, 2: y == b */
    qeq_q8_add_params p;
    const int32_t qmin = is_signed ? -128 : 0;
    p.a_scale = ldexpf(1.0f + (float)rng_below(rng, 1000) / 997.0f, (int)rng_below(rng, 16) - 12);
    p.b_scale = rng_below(rng, 8) == 0 ? 0.0f
                                       : ldexpf(1.0f + (float)rng_below(rng, 1000) / 991.0f,
                                                (int)rng_below(rng, 16) - 12);
    if (rng_below(rng, 4) == 0) p.b_scale = p.a_scale; /* exact ties appear */
    p.a_zero_point = qmin + (int32_t)rng_below(rng, 256);
    p.b_zero_point = qmin + (int32_t)rng_below(rng, 256);
    p.out = random_out(rng, is_signed, (int)rng_below(rng, 2));
    /* An infinite multiplier makes 0 * inf: the NaN must requantize to the zero point. */
    if (rng_below(rng, 16) == 0) p.out.inv_scale = INFINITY;
    uint8_t* a = malloc(n + GUARD_BYTES);
    uint8_t* b = malloc(n + GUARD_BYTES);
    uint8_t* y = malloc(n + GUARD_BYTES);
    uint8_t* want = malloc(n);
    fill_bytes(rng, a, n);
    fill_bytes(rng, b, n);
    memset(y, GUARD, n + GUARD_BYTES);
    memset(a + n, GUARD, GUARD_BYTES);
    memset(b + n, GUARD, GUARD_BYTES);
    for (size_t i = 0; i < n; i++) {
      const float da = dequantize_fma(level(a[i], is_signed), p.a_scale, p.a_zero_point);
      const float db = dequantize_fma(level(b[i], is_signed), p.b_scale, p.b_zero_point);
      const float sum = da + db;
      want[i] = requantize(sum * p.out.inv_scale, &p.out);
    }
    uint8_t* out = in_place == 1 ? a : in_place == 2 ? b : y;
    kernel(n, a, b, is_signed, &p, out);
    for (size_t i = 0; i < n; i++) {
      CHECK(out[i] == want[i], "%s: n %zu, element %zu: %d, want %d (signed %d)", v->name, n, i,
            out[i], want[i], is_signed);
    }
    for (size_t i = n; i < n + GUARD_BYTES; i++)
      CHECK(out[i] == GUARD, "%s: wrote past n %zu", v->name, n);
    free(a), free(b), free(y), free(want);
  }
  coverage_record_family(QEQ_FAMILY_Q8_VADD, v->isa, v->via_simde, cases);
}

/* The q8_vadd_fixed contract in int64, written apart from the kernels: floor(acc / 2^s) by
 * division, the remainder test on the low 32 bits of acc as the contract states it. */
static uint8_t vadd_fixed_reference(uint8_t a, uint8_t b, int is_signed,
                                    const qeq_q8_vadd_fixed_params* p) {
  const int64_t acc = (int64_t)p->bias + (int64_t)level(a, is_signed) * p->a_multiplier +
                      (int64_t)level(b, is_signed) * p->b_multiplier;
  const int64_t unit = (int64_t)1 << p->right_shift;
  const int64_t floor_q = acc >= 0 ? acc / unit : -((-acc + unit - 1) / unit);
  const int64_t rem = (int64_t)((uint32_t)(int32_t)acc & (uint32_t)p->remainder_mask) - (acc < 0);
  int64_t q = floor_q + (rem > p->remainder_threshold) + p->y_zero_point;
  q = q < p->y_min ? p->y_min : q > p->y_max ? p->y_max : q;
  return (uint8_t)q;
}

/* Random parameters in the contract's ranges: QNNPACK's (multipliers up to 2^22, the larger
 * in [2^21, 2^22], shifts 14..31, and now and then the masks PyTorch's x86 build uses past 31)
 * or, for int8, XNNPACK's (multipliers up to 2^21, shifts 12..30, the rounding in the bias,
 * masks 0). */
static qeq_q8_vadd_fixed_params random_fixed_params(test_rng* rng, int is_signed) {
  qeq_q8_vadd_fixed_params p;
  const uint32_t bits = is_signed ? 20 : 21;
  const int32_t big = (int32_t)((1u << bits) + rng_below(rng, (1u << bits) + 1));
  const int32_t small = (int32_t)rng_below(rng, (uint32_t)big + 1);
  const int swap = (int)rng_below(rng, 2);
  p.a_multiplier = swap ? small : big;
  p.b_multiplier = swap ? big : small;
  const int32_t qmin = is_signed ? -128 : 0;
  const int32_t za = qmin + (int32_t)rng_below(rng, 256), zb = qmin + (int32_t)rng_below(rng, 256);
  p.bias = -(p.a_multiplier * za + p.b_multiplier * zb);
  if (is_signed) {
    const uint32_t shift = 12 + (uint32_t)rng_below(rng, 19); /* 12 .. 30 */
    p.bias += (int32_t)1 << (shift - 1);
    p.remainder_mask = p.remainder_threshold = 0;
    p.right_shift = shift;
  } else {
    const uint32_t shift = 14 + (uint32_t)rng_below(rng, 22); /* 14 .. 35 */
    const uint32_t mask = (1u << (shift & 31)) - 1;
    p.remainder_mask = (int32_t)mask;
    p.remainder_threshold = (int32_t)(mask >> 1);
    p.right_shift = shift > 31 ? 31 : shift;
  }
  p.y_zero_point = qmin + (int32_t)rng_below(rng, 256);
  p.y_min = rng_below(rng, 2) ? p.y_zero_point : qmin;
  p.y_max = qmin + 255;
  if (rng_below(rng, 4) == 0) { /* any clamp inside the dtype */
    p.y_min = qmin + (int32_t)rng_below(rng, 255);
    p.y_max = p.y_min + 1 + (int32_t)rng_below(rng, (uint32_t)(qmin + 255 - p.y_min));
  }
  return p;
}

static void run_vadd_fixed(const test_variant* v, test_rng* rng) {
  qeq_q8_vadd_fixed_ukernel_fn* kernel = (qeq_q8_vadd_fixed_ukernel_fn*)v->fn;
  size_t cases = 0;
  /* Every (a, b) pair once per parameter set, in a shuffled-free order (a major), then random
   * lengths with aliasing. */
  enum { ALL = 65536 };
  uint8_t* a = malloc(ALL + GUARD_BYTES);
  uint8_t* b = malloc(ALL + GUARD_BYTES);
  uint8_t* y = malloc(ALL + GUARD_BYTES);
  for (size_t iter = 0; iter < variant_cases(v, 16); iter++, cases++) {
    const int is_signed = (int)(iter % 2);
    const qeq_q8_vadd_fixed_params p = random_fixed_params(rng, is_signed);
    for (size_t i = 0; i < ALL; i++) a[i] = (uint8_t)(i >> 8), b[i] = (uint8_t)i;
    memset(y, GUARD, ALL + GUARD_BYTES);
    kernel(ALL, a, b, is_signed, &p, y);
    for (size_t i = 0; i < ALL; i++) {
      const uint8_t want = vadd_fixed_reference(a[i], b[i], is_signed, &p);
      if (y[i] != want) {
        CHECK(0, "%s: a %d b %d: %d, want %d (signed %d shift %u mask %d)", v->name, a[i], b[i],
              y[i], want, is_signed, p.right_shift, p.remainder_mask);
        break;
      }
    }
    for (size_t i = ALL; i < ALL + GUARD_BYTES; i++)
      CHECK(y[i] == GUARD, "%s: wrote past n", v->name);
  }
  for (size_t iter = 0; iter < variant_cases(v, 300); iter++, cases++) {
    const int is_signed = (int)rng_below(rng, 2);
    const qeq_q8_vadd_fixed_params p = random_fixed_params(rng, is_signed);
    const size_t n = rng_size_pick(rng, 300);
    const int in_place = (int)rng_below(rng, 4); /* 1: y == a, 2: y == b */
    fill_bytes(rng, a, n);
    fill_bytes(rng, b, n);
    memset(a + n, GUARD, GUARD_BYTES);
    memset(b + n, GUARD, GUARD_BYTES);
    memset(y, GUARD, n + GUARD_BYTES);
    uint8_t want[300];
    for (size_t i = 0; i < n; i++) want[i] = vadd_fixed_reference(a[i], b[i], is_signed, &p);
    uint8_t* out = in_place == 1 ? a : in_place == 2 ? b : y;
    kernel(n, a, b, is_signed, &p, out);
    for (size_t i = 0; i < n; i++) {
      CHECK(out[i] == want[i], "%s: n %zu, element %zu: %d, want %d", v->name, n, i, out[i],
            want[i]);
    }
    for (size_t i = n; i < n + GUARD_BYTES; i++)
      CHECK(out[i] == GUARD, "%s: wrote past n %zu", v->name, n);
  }
  free(a), free(b), free(y);
  coverage_record_family(QEQ_FAMILY_Q8_VADD_FIXED, v->isa, v->via_simde, cases);
}

static void run_vmul(const test_variant* v, test_rng* rng) {
  qeq_q8_vmul_ukernel_fn* kernel = (qeq_q8_vmul_ukernel_fn*)v->fn;
  size_t cases = 0;
  for (size_t iter = 0; iter < variant_cases(v, 300); iter++, cases++) {
    const size_t n = rng_below(rng, 8) == 0 ? 1 + rng_below(rng, 3000) : rng_size_pick(rng, 300);
    const int is_signed = (int)rng_below(rng, 2);
    const int in_place = (int)rng_below(rng, 4); /* 1: y == a, 2: y == b */
    const int32_t qmin = is_signed ? -128 : 0;
    qeq_q8_mul_params p;
    p.a_zero_point = qmin + (int32_t)rng_below(rng, 256);
    p.b_zero_point = qmin + (int32_t)rng_below(rng, 256);
    p.out = random_out(rng, is_signed, (int)rng_below(rng, 2));
    /* multipliers that are powers of two put products on exact ties */
    if (rng_below(rng, 4) == 0) p.out.inv_scale = ldexpf(1.0f, -(int)rng_below(rng, 12));
    /* An infinite multiplier makes 0 * inf: the NaN must requantize to the zero point. */
    if (rng_below(rng, 16) == 0) p.out.inv_scale = INFINITY;
    uint8_t* a = malloc(n + GUARD_BYTES);
    uint8_t* b = malloc(n + GUARD_BYTES);
    uint8_t* y = malloc(n + GUARD_BYTES);
    uint8_t* want = malloc(n);
    fill_bytes(rng, a, n);
    fill_bytes(rng, b, n);
    if (rng_below(rng, 4) == 0) memset(a, is_signed ? 0x80 : 0, n / 2); /* extreme products */
    memset(y, GUARD, n + GUARD_BYTES);
    memset(a + n, GUARD, GUARD_BYTES);
    memset(b + n, GUARD, GUARD_BYTES);
    for (size_t i = 0; i < n; i++) {
      const int64_t product = (int64_t)(level(a[i], is_signed) - p.a_zero_point) *
                              (level(b[i], is_signed) - p.b_zero_point);
      want[i] = requantize((float)product * p.out.inv_scale, &p.out);
    }
    uint8_t* out = in_place == 1 ? a : in_place == 2 ? b : y;
    kernel(n, a, b, is_signed, &p, out);
    for (size_t i = 0; i < n; i++) {
      CHECK(out[i] == want[i], "%s: n %zu, element %zu: %d, want %d (signed %d)", v->name, n, i,
            out[i], want[i], is_signed);
    }
    for (size_t i = n; i < n + GUARD_BYTES; i++)
      CHECK(out[i] == GUARD, "%s: wrote past n %zu", v->name, n);
    free(a), free(b), free(y), free(want);
  }
  coverage_record_family(QEQ_FAMILY_Q8_VMUL, v->isa, v->via_simde, cases);
}

/* rows row pointers into one random buffer of `rows` rows of `channels` bytes, in shuffled
 * order and with repeats (windows of a pool overlap). */
static void make_rows(test_rng* rng, uint8_t* buffer, size_t buffer_rows, size_t channels,
                      const uint8_t** rows, size_t count) {
  for (size_t r = 0; r < count; r++) rows[r] = buffer + rng_below(rng, buffer_rows) * channels;
}

static void run_maxpool(const test_variant* v, test_rng* rng) {
  qeq_q8_maxpool_ukernel_fn* kernel = (qeq_q8_maxpool_ukernel_fn*)v->fn;
  size_t cases = 0;
  for (size_t iter = 0; iter < variant_cases(v, 300); iter++, cases++) {
    const size_t channels = rng_size_pick(rng, 300);
    const size_t count = rng_size_pick(rng, 40), buffer_rows = 1 + rng_below(rng, 50);
    const int is_signed = (int)rng_below(rng, 2);
    uint8_t* buffer = malloc(buffer_rows * channels);
    fill_bytes(rng, buffer, buffer_rows * channels);
    const uint8_t** rows = malloc(count * sizeof *rows);
    make_rows(rng, buffer, buffer_rows, channels, rows, count);
    uint8_t* y = malloc(channels + GUARD_BYTES);
    memset(y, GUARD, channels + GUARD_BYTES);
    kernel(count, channels, rows, is_signed, y);
    for (size_t j = 0; j < channels; j++) {
      int32_t best = level(rows[0][j], is_signed);
      for (size_t r = 1; r < count; r++)
        best = level(rows[r][j], is_signed) > best ? level(rows[r][j], is_signed) : best;
      CHECK(level(y[j], is_signed) == best, "%s: channels %zu rows %zu, channel %zu: %d, want %d",
            v->name, channels, count, j, level(y[j], is_signed), best);
    }
    for (size_t j = channels; j < channels + GUARD_BYTES; j++)
      CHECK(y[j] == GUARD, "%s: wrote past channels", v->name);
    free(buffer), free(rows), free(y);
  }
  coverage_record_family(QEQ_FAMILY_Q8_MAXPOOL, v->isa, v->via_simde, cases);
}

static void run_avgpool(const test_variant* v, test_rng* rng) {
  qeq_q8_avgpool_ukernel_fn* kernel = (qeq_q8_avgpool_ukernel_fn*)v->fn;
  size_t cases = 0;
  for (size_t iter = 0; iter < variant_cases(v, 300); iter++, cases++) {
    const size_t channels = rng_size_pick(rng, 300);
    /* Large windows (a global pool) with extreme values check the int32 sums. */
    const int big = rng_below(rng, 10) == 0;
    const size_t count = big                       ? 1000 + rng_below(rng, 4000)
                         : rng_below(rng, 10) == 0 ? 250 + rng_below(rng, 20) /* a chunk's edge */
                                                   : rng_size_pick(rng, 40);
    const size_t buffer_rows = 1 + rng_below(rng, 50);
    const int is_signed = (int)rng_below(rng, 2);
    uint8_t* buffer = malloc(buffer_rows * channels);
    fill_bytes(rng, buffer, buffer_rows * channels);
    if (big && rng_below(rng, 2)) {
      /* Both ends of the dtype: the sums of either sign stay exact, and chunked 16-bit sums
       * (after the int8 top-bit flip) see their largest values. */
      const uint8_t extreme =
          rng_below(rng, 2) ? (is_signed ? 0x7F : 0xFF) : (is_signed ? 0x80 : 0);
      memset(buffer, extreme, buffer_rows * channels);
    }
    const uint8_t** rows = malloc(count * sizeof *rows);
    make_rows(rng, buffer, buffer_rows, channels, rows, count);
    qeq_q8_avgpool_params p;
    p.out = random_out(rng, is_signed, 0);
    p.out.inv_scale = (float)(1.0 / (double)(1 + rng_below(rng, count + 3))); /* a divisor */
    p.bias = -p.out.zero_point * (int32_t)count;
    uint8_t* y = malloc(channels + GUARD_BYTES);
    memset(y, GUARD, channels + GUARD_BYTES);
    kernel(count, channels, rows, is_signed, &p, y);
    for (size_t j = 0; j < channels; j++) {
      int64_t acc = p.bias;
      for (size_t r = 0; r < count; r++) acc += level(rows[r][j], is_signed);
      const uint8_t want = requantize((float)acc * p.out.inv_scale, &p.out);
      CHECK(y[j] == want, "%s: channels %zu rows %zu, channel %zu: %d, want %d", v->name, channels,
            count, j, y[j], want);
    }
    for (size_t j = channels; j < channels + GUARD_BYTES; j++)
      CHECK(y[j] == GUARD, "%s: wrote past channels", v->name);
    free(buffer), free(rows), free(y);
  }
  coverage_record_family(QEQ_FAMILY_Q8_AVGPOOL, v->isa, v->via_simde, cases);
}

static void run_lut(const test_variant* v, test_rng* rng) {
  qeq_x8_lut_ukernel_fn* kernel = (qeq_x8_lut_ukernel_fn*)v->fn;
  size_t cases = 0;
  for (size_t iter = 0; iter < variant_cases(v, 300); iter++, cases++) {
    const size_t n = rng_below(rng, 8) == 0 ? 1 + rng_below(rng, 3000) : rng_size_pick(rng, 300);
    const int in_place = (int)rng_below(rng, 2);
    uint8_t table[256];
    fill_bytes(rng, table, 256);
    uint8_t* x = malloc(n + GUARD_BYTES);
    uint8_t* y = malloc(n + GUARD_BYTES);
    uint8_t* want = malloc(n);
    fill_bytes(rng, x, n);
    /* every byte value once in the first 256 elements, so each table entry is read */
    if (rng_below(rng, 2)) {
      for (size_t i = 0; i < n && i < 256; i++) x[i] = (uint8_t)(i * 167 + 13);
    }
    memset(x + n, GUARD, GUARD_BYTES);
    memset(y, GUARD, n + GUARD_BYTES);
    for (size_t i = 0; i < n; i++) want[i] = table[x[i]];
    uint8_t* out = in_place ? x : y;
    kernel(n, x, table, out);
    for (size_t i = 0; i < n; i++) {
      CHECK(out[i] == want[i], "%s: n %zu, element %zu: %d, want %d", v->name, n, i, out[i],
            want[i]);
    }
    for (size_t i = n; i < n + GUARD_BYTES; i++)
      CHECK(out[i] == GUARD, "%s: wrote past n %zu", v->name, n);
    free(x), free(y), free(want);
  }
  coverage_record_family(QEQ_FAMILY_X8_LUT, v->isa, v->via_simde, cases);
}

static void test_q8_vadd(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_Q8_VADD, run_vadd);
}
static void test_q8_vadd_fixed(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_Q8_VADD_FIXED, run_vadd_fixed);
}
static void test_q8_vmul(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_Q8_VMUL, run_vmul);
}
static void test_q8_maxpool(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_Q8_MAXPOOL, run_maxpool);
}
static void test_q8_avgpool(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_Q8_AVGPOOL, run_avgpool);
}

static void test_x8_lut(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_X8_LUT, run_lut);
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("quantized op kernels", 1) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_qops_kernels: seed %llu (QEQ_TEST_SEED), scale QEQ_TEST_SCALE\n",
         (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_q8_vadd),      cmocka_unit_test(test_q8_vadd_fixed),
      cmocka_unit_test(test_q8_vmul),      cmocka_unit_test(test_q8_maxpool),
      cmocka_unit_test(test_q8_avgpool),   cmocka_unit_test(test_x8_lut),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
