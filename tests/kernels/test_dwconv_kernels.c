/* Every qu8s8_dwconv variant (native, and through SIMDe on x86) against an independent
 * reference and against the scalar variant: runs of 1..MAX_PIXELS pixels whose tap pointers
 * are spaced by input_step (sharing pointers when it is below taps), exact int32
 * accumulators, the GEMM's fused epilogue bit for bit, input read only inside each tap's
 * channels (every input row is its own allocation of exactly `channels` bytes, so ASan sees
 * an over-read), nothing written between the pixels' outputs (output_stride leaves gaps) or
 * past the last one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/ops/gemm-pack.h"
#include "tests/support/epilogue-params.h"
#include "tests/support/test-support.h"

enum { GUARD = 0xA5, MAX_TAPS = 25, MAX_PIXELS = 7, SPARE = 64 };
enum { MAX_POINTERS = (MAX_PIXELS - 1) * (MAX_TAPS + 2) + MAX_TAPS };

typedef struct dw_case {
  size_t pixels, channels, taps, input_step;
  size_t out_bytes, output_stride; /* a pixel's outputs, and the distance between pixels */
  uint32_t input_xor;
  int has_w_zero_points;
  qeq_gemm_ukernel_params params;
  const uint8_t* input[MAX_POINTERS];
  int8_t* w; /* [channels][taps] */
  int32_t *w_zp, *bias_q;
  float *bias_f, *multiplier;
} dw_case;

/* Σ (x - za)(w - zw) in 64 bits, then the contract's epilogue written out, for pixel px. */
static void reference(const dw_case* dc, size_t px, uint8_t* out) {
  const qeq_gemm_ukernel_params* p = &dc->params;
  const uint8_t* const* in = dc->input + px * dc->input_step;
  for (size_t c = 0; c < dc->channels; c++) {
    int64_t acc = 0;
    for (size_t t = 0; t < dc->taps; t++) {
      const int64_t x = (uint8_t)(in[t][c] ^ dc->input_xor);
      acc += (x - p->a_zero_point) * ((int64_t)dc->w[c * dc->taps + t] - dc->w_zp[c]);
    }
    assert_true(acc >= INT32_MIN && acc <= INT32_MAX);
    if (p->store == QEQ_GEMM_STORE_S32) {
      const int32_t v = (int32_t)acc;
      memcpy(out + c * 4, &v, 4);
    } else if (p->store == QEQ_GEMM_STORE_F32) {
      const float v = epilogue_f32_clamp(
          (float)(int32_t)acc * (p->a_scale * dc->multiplier[c]) + dc->bias_f[c], p);
      memcpy(out + c * 4, &v, 4);
    } else {
      const float sum = (float)(int32_t)(acc + dc->bias_q[c]) + dc->bias_f[c];
      const float shifted = sum * dc->multiplier[c] + p->out_offset;
      const float v = fminf(fmaxf(shifted, p->out_lo), p->out_hi);
      out[c] = (uint8_t)((int32_t)nearbyintf(v) + p->out_zero_point);
    }
  }
}

/* Random quantization for one case, in either engine's convention (kernels/ukernels.h). */
static void random_params(test_rng* rng, dw_case* dc) {
  static const int32_t zero_points[] = {0, 128, 255, 3};
  qeq_gemm_ukernel_params* p = &dc->params;
  memset(p, 0, sizeof *p);
  p->a_zero_point = zero_points[rng_below(rng, 4)];
  p->store = (int32_t)rng_below(rng, 3);
  p->a_scale = ldexpf(1.0f + (float)rng_below(rng, 100) / 100.0f, -7);
  const int qnnpack = rng_below(rng, 2) == 0;
  const int32_t out_zp = (int32_t)rng_below(rng, 256);
  /* a clamp narrower than the full range half the time (ReLU-like bounds) */
  const int32_t qmin = rng_below(rng, 2) ? 0 : (int32_t)rng_below(rng, 128);
  const int32_t qmax = rng_below(rng, 2) ? 255 : 128 + (int32_t)rng_below(rng, 128);
  p->out_zero_point = qnnpack ? out_zp : 0;
  p->out_offset = qnnpack ? 0.0f : (float)out_zp;
  p->out_lo = (float)(qmin - p->out_zero_point);
  p->out_hi = (float)(qmax - p->out_zero_point);
  if (p->store == QEQ_GEMM_STORE_F32) random_f32_bounds(rng, p);
  dc->has_w_zero_points = rng_below(rng, 2) == 0;
  for (size_t c = 0; c < dc->channels; c++) {
    dc->w_zp[c] = dc->has_w_zero_points ? (int32_t)rng_below(rng, 41) - 20 : 0;
    dc->bias_q[c] = qnnpack ? (int32_t)rng_below(rng, 20001) - 10000 : 0;
    dc->bias_f[c] = qnnpack && p->store == QEQ_GEMM_STORE_Q8
                        ? 0.0f
                        : ((float)rng_below(rng, 2001) - 1000.0f) / 64.0f;
    dc->multiplier[c] = ldexpf(1.0f + (float)rng_below(rng, 1000) / 1000.0f,
                               p->store == QEQ_GEMM_STORE_Q8 ? -9 - (int)rng_below(rng, 4) : -6);
  }
}

/* Runs the kernel on one packing of the case; returns nonzero when it wrote a guard byte
 * (between the pixels' outputs or past the last one). */
static int run_kernel(const test_variant* v, const dw_case* dc, uint8_t* out) {
  const size_t span = (dc->pixels - 1) * dc->output_stride + dc->out_bytes;
  const size_t packed_bytes = qeq_gemm_packed_bytes(dc->channels, dc->taps, v->nr, v->kr);
  void* packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
  assert_non_null(packed);
  const qeq_gemm_columns columns = {dc->w_zp, dc->bias_q, dc->bias_f, dc->multiplier};
  qeq_gemm_pack(dc->channels, dc->taps, dc->w, dc->taps, v->nr, v->kr,
                qeq_gemm_activation_offset(v->isa), &columns, packed);
  memset(out, GUARD, span + SPARE);
  ((qeq_qu8s8_dwconv_ukernel_fn*)v->fn)(dc->pixels, dc->channels, dc->taps, dc->input,
                                        dc->input_step, dc->input_xor, packed,
                                        dc->has_w_zero_points, out, dc->output_stride, &dc->params);
  free(packed);
  for (size_t i = 0; i < span + SPARE; i++) {
    const int inside = i < span && i % dc->output_stride < dc->out_bytes;
    if (!inside && out[i] != GUARD) return 1;
  }
  return 0;
}

static const test_variant* scalar_variant(void) {
  size_t count;
  const test_variant* variants = test_variants(&count);
  for (size_t i = 0; i < count; i++) {
    if (variants[i].family == QEQ_FAMILY_QU8S8_DWCONV && variants[i].isa == QEQ_ISA_SCALAR) {
      return &variants[i];
    }
  }
  return NULL;
}

/* The outputs of every pixel of the case, packed at out_bytes apart. */
static void gather_outputs(const dw_case* dc, const uint8_t* strided, uint8_t* packed) {
  for (size_t px = 0; px < dc->pixels; px++) {
    memcpy(packed + px * dc->out_bytes, strided + px * dc->output_stride, dc->out_bytes);
  }
}

/* One random case: returns 0 when the variant equals the reference and the scalar variant. */
static int run_case(const test_variant* v, test_rng* rng, size_t pixels, size_t channels,
                    size_t taps) {
  dw_case dc;
  memset(&dc, 0, sizeof dc);
  dc.pixels = pixels, dc.channels = channels, dc.taps = taps;
  /* pointers spaced by taps, with unused ones between pixels, or shared (a window sliding
   * by one tap) */
  static const size_t step_extra[] = {0, 0, 2};
  dc.input_step =
      rng_below(rng, 4) == 0 ? 1 + rng_below(rng, taps) : taps + step_extra[rng_below(rng, 3)];
  dc.input_xor = rng_below(rng, 4) == 0 ? 0x80 : 0;
  dc.w = malloc(channels * taps);
  dc.w_zp = malloc(channels * sizeof(int32_t));
  dc.bias_q = malloc(channels * sizeof(int32_t));
  dc.bias_f = malloc(channels * sizeof(float));
  dc.multiplier = malloc(channels * sizeof(float));
  const size_t pointers = (pixels - 1) * dc.input_step + taps;
  uint8_t* rows[MAX_POINTERS];
  const int worst = rng_below(rng, 8) == 0; /* x = 255, w = -128: the largest products */
  for (size_t t = 0; t < pointers; t++) {
    rows[t] = malloc(channels);
    for (size_t c = 0; c < channels; c++) rows[t][c] = worst ? 0xFF : (uint8_t)rng_below(rng, 256);
    /* some taps share a row, as padding taps share the zero-point row */
    dc.input[t] = t > 0 && rng_below(rng, 5) == 0 ? dc.input[rng_below(rng, t)] : rows[t];
  }
  for (size_t i = 0; i < channels * taps; i++) {
    dc.w[i] = worst ? -128 : (int8_t)(rng_below(rng, 256) - 128);
  }
  random_params(rng, &dc);
  dc.out_bytes = channels * (dc.params.store == QEQ_GEMM_STORE_Q8 ? 1 : 4);
  dc.output_stride = dc.out_bytes + rng_below(rng, 3) * 5;
  const size_t span = (pixels - 1) * dc.output_stride + dc.out_bytes;
  uint8_t* expected = malloc(pixels * dc.out_bytes);
  uint8_t* got = malloc(span + SPARE);
  uint8_t* scalar = malloc(span + SPARE);
  uint8_t* packed = malloc(pixels * dc.out_bytes);
  for (size_t px = 0; px < pixels; px++) reference(&dc, px, expected + px * dc.out_bytes);
  int bad = run_kernel(v, &dc, got);
  gather_outputs(&dc, got, packed);
  bad |= memcmp(packed, expected, pixels * dc.out_bytes) != 0;
  bad |= run_kernel(scalar_variant(), &dc, scalar);
  bad |= memcmp(got, scalar, span) != 0;
  if (bad) {
    printf("  %s: pixels %zu step %zu channels %zu taps %zu xor %u za %d zw %d store %d differs\n",
           v->name, pixels, dc.input_step, channels, taps, (unsigned)dc.input_xor,
           (int)dc.params.a_zero_point, dc.has_w_zero_points, (int)dc.params.store);
  }
  for (size_t t = 0; t < pointers; t++) free(rows[t]);
  free(dc.w), free(dc.w_zp), free(dc.bias_q), free(dc.bias_f), free(dc.multiplier);
  free(expected), free(got), free(scalar), free(packed);
  return bad;
}

static size_t run_variant(const test_variant* v, test_rng* rng) {
  size_t failures = 0, cases = 0;
  const size_t reps = test_iterations(2);
  for (size_t rep = 0; rep < reps; rep++) {
    for (size_t taps = 1; taps <= MAX_TAPS; taps++) {
      /* channel counts around the vector widths, odd ones, and a random one */
      static const size_t fixed[] = {1, 3, 15, 16, 17, 31, 32, 33, 47, 64, 97};
      for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        failures += run_case(v, rng, 1 + rng_below(rng, MAX_PIXELS), fixed[i], taps) != 0;
        cases++;
      }
      failures +=
          run_case(v, rng, 1 + rng_below(rng, MAX_PIXELS), 1 + rng_below(rng, 150), taps) != 0;
      cases++;
    }
  }
  CHECK(failures == 0, "%s: %zu of %zu cases differ", v->name, failures, cases);
  return cases;
}

static void test_every_dwconv_variant(void** state) {
  (void)state;
  size_t count;
  const test_variant* variants = test_variants(&count);
  size_t ran = 0;
  CHECK(scalar_variant() != NULL, "no scalar dwconv variant");
  for (size_t i = 0; i < count; i++) {
    const test_variant* v = &variants[i];
    if (v->family != QEQ_FAMILY_QU8S8_DWCONV) continue;
    if (!variant_runnable(v)) {
      printf("  %-52s skipped: the CPU lacks %s\n", v->name, qeq_isa_name(v->isa));
      continue;
    }
    test_rng rng;
    rng_init(&rng, test_seed() + 104729u * i);
    const size_t cases = run_variant(v, &rng);
    coverage_record_family(QEQ_FAMILY_QU8S8_DWCONV, v->isa, v->via_simde, cases);
    printf("  %-52s %s %zu cases ok\n", v->name, v->via_simde ? "(emulated)" : "(native)  ", cases);
    ran++;
  }
  CHECK(ran >= 1, "no runnable dwconv variant");
}

static void test_every_registered_dwconv_variant_is_tested(void** state) {
  (void)state;
  size_t lib_count, test_count;
  const qeq_variant* lib = qeq_registry_variants(&lib_count);
  const test_variant* tested = test_variants(&test_count);
  for (size_t i = 0; i < lib_count; i++) {
    if (lib[i].family != QEQ_FAMILY_QU8S8_DWCONV) continue;
    int found = 0;
    for (size_t j = 0; j < test_count; j++) {
      found |= lib[i].fn == tested[j].fn && lib[i].nr == tested[j].nr && lib[i].kr == tested[j].kr;
    }
    CHECK(found, "%s is dispatchable but not tested", lib[i].name);
    CHECK(lib[i].mr == 1 && lib[i].nr >= 1 && lib[i].kr >= 1, "%s has no tile", lib[i].name);
  }
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("qu8s8_dwconv kernels", 1) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_dwconv_kernels: seed %llu (QEQ_TEST_SEED)\n", (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_dwconv_variant),
      cmocka_unit_test(test_every_registered_dwconv_variant_is_tested),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
