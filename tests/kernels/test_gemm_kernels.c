/* Every qu8s8_gemm variant (native, through SIMDe on x86, natively under qemu on aarch64)
 * against an independent reference: exact int32 accumulators, the fused epilogue bit for bit,
 * nothing written outside the tile. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/ops/gemm-pack.h"
#include "tests/support/epilogue-params.h"
#include "tests/support/test-support.h"

typedef struct gemm_case {
  size_t m, n, k;
  size_t a_stride;        /* bytes, >= k */
  int32_t a_zero_point;   /* uint8 domain */
  int zero_point_pattern; /* 0: no weight zero points, 1: random, 2: extremes */
  int store;              /* QEQ_GEMM_STORE_* */
  int worst_case;         /* a = 255, w = -128 everywhere */
  size_t column_block;    /* columns per kernel call (multiple of NR), or 0: all */
} gemm_case;

typedef struct gemm_data {
  uint8_t* a;
  int8_t* w;
  int32_t* w_zp;
  int32_t* bias_q;
  float* bias_f;
  float* multiplier;
  int32_t* row_sums;
  qeq_gemm_ukernel_params params;
} gemm_data;

enum { GUARD = 0xA5 };

/* The reference: Σ (a - za)(w - zw) in 64 bits, then the contract's epilogue written out. */
static void reference(const gemm_case* gc, const gemm_data* d, uint8_t* c, size_t c_stride) {
  for (size_t i = 0; i < gc->m; i++) {
    for (size_t j = 0; j < gc->n; j++) {
      int64_t acc = 0;
      for (size_t kk = 0; kk < gc->k; kk++) {
        acc += ((int64_t)d->a[i * gc->a_stride + kk] - d->params.a_zero_point) *
               ((int64_t)d->w[j * gc->k + kk] - d->w_zp[j]);
      }
      assert_true(acc >= INT32_MIN && acc <= INT32_MAX);
      uint8_t* out = c + i * c_stride;
      if (gc->store == QEQ_GEMM_STORE_S32) {
        const int32_t v = (int32_t)acc;
        memcpy(out + j * 4, &v, 4);
      } else if (gc->store == QEQ_GEMM_STORE_F32) {
        const float scale = d->params.a_scale * d->multiplier[j];
        const float v = epilogue_f32_clamp((float)(int32_t)acc * scale + d->bias_f[j], &d->params);
        memcpy(out + j * 4, &v, 4);
      } else {
        const float t = (float)(int32_t)(acc + d->bias_q[j]) + d->bias_f[j];
        const float scaled = t * d->multiplier[j];
        const float shifted = scaled + d->params.out_offset;
        const float v = fminf(fmaxf(shifted, d->params.out_lo), d->params.out_hi);
        out[j] = (uint8_t)((int32_t)nearbyintf(v) + d->params.out_zero_point);
      }
    }
  }
}

static void fill_case(test_rng* rng, const gemm_case* gc, gemm_data* d) {
  for (size_t i = 0; i < gc->m * gc->a_stride; i++) {
    d->a[i] = gc->worst_case ? 255 : (uint8_t)rng_below(rng, 256);
  }
  for (size_t i = 0; i < gc->n * gc->k; i++) {
    d->w[i] = gc->worst_case ? -128 : (int8_t)((int)rng_below(rng, 256) - 128);
  }
  for (size_t j = 0; j < gc->n; j++) {
    d->w_zp[j] = gc->zero_point_pattern == 0   ? 0
                 : gc->zero_point_pattern == 1 ? (int32_t)rng_below(rng, 41) - 20
                                               : (j % 2 ? 127 : -128);
    d->bias_q[j] = (int32_t)rng_below(rng, 2001) - 1000;
    d->bias_f[j] = ((float)rng_below(rng, 2001) - 1000.0f) / 8.0f;
    d->multiplier[j] = random_requant_multiplier(rng, gc->k);
  }
  if (gc->worst_case) {
    for (size_t j = 0; j < gc->n; j++) d->bias_q[j] = 0;
  }
  /* F32: columns of -0.0 (acc < 0 times 0, plus -0.0) and of NaN, which the clamp must pass
   * unchanged on every ISA (a max or min with the operands swapped would not) */
  for (size_t j = 3; gc->store == QEQ_GEMM_STORE_F32 && j < gc->n; j += 4) {
    d->multiplier[j] = j % 8 == 3 ? 0.0f : NAN;
    d->bias_f[j] = -0.0f;
  }
  random_epilogue_params(rng, gc->a_zero_point, gc->store, &d->params);
}

/* Runs one case through variant v the way the driver does; returns the number of mismatches. */
static size_t run_case(const test_variant* v, test_rng* rng, const gemm_case* gc) {
  const size_t elem = gc->store == QEQ_GEMM_STORE_Q8 ? 1 : 4;
  const size_t c_stride = gc->n * elem + 5 + rng_below(rng, 8); /* padding must stay intact */
  gemm_data d;
  d.a = malloc(gc->m * gc->a_stride);
  d.w = malloc(gc->n * gc->k);
  d.w_zp = malloc(gc->n * sizeof(int32_t));
  d.bias_q = malloc(gc->n * sizeof(int32_t));
  d.bias_f = malloc(gc->n * sizeof(float));
  d.multiplier = malloc(gc->n * sizeof(float));
  d.row_sums = malloc(gc->m * sizeof(int32_t));
  uint8_t* c = malloc(gc->m * c_stride);
  uint8_t* expect = malloc(gc->m * c_stride);
  const size_t packed_bytes = qeq_gemm_packed_bytes(gc->n, gc->k, v->nr, v->kr);
  void* packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
  assert_non_null(packed);
  fill_case(rng, gc, &d);
  const int use_row_sums = gc->zero_point_pattern != 0;
  for (size_t i = 0; i < gc->m; i++) {
    int32_t s = 0;
    for (size_t kk = 0; kk < gc->k; kk++) s += d.a[i * gc->a_stride + kk];
    d.row_sums[i] = s;
  }
  const qeq_gemm_columns cols = {d.w_zp, d.bias_q, d.bias_f, d.multiplier};
  qeq_gemm_pack(gc->n, gc->k, d.w, gc->k, v->nr, v->kr, qeq_gemm_activation_offset(v->isa), &cols,
                packed);
  memset(c, GUARD, gc->m * c_stride);
  memset(expect, GUARD, gc->m * c_stride);
  reference(gc, &d, expect, c_stride);

  qeq_qu8s8_gemm_ukernel_fn* kernel = (qeq_qu8s8_gemm_ukernel_fn*)v->fn;
  const size_t panel_bytes = qeq_gemm_panel_bytes(gc->k, v->nr, v->kr);
  const size_t block = gc->column_block ? gc->column_block * v->nr : gc->n;
  for (size_t i = 0; i < gc->m; i += v->mr) {
    const size_t rows = gc->m - i < v->mr ? gc->m - i : v->mr;
    for (size_t j = 0; j < gc->n; j += block) {
      const size_t cols_here = gc->n - j < block ? gc->n - j : block;
      kernel(rows, cols_here, gc->k, d.a + i * gc->a_stride, gc->a_stride,
             use_row_sums ? d.row_sums + i : NULL, (const uint8_t*)packed + j / v->nr * panel_bytes,
             c + i * c_stride + j * elem, c_stride, &d.params);
    }
  }
  size_t mismatches = 0;
  for (size_t b = 0; b < gc->m * c_stride; b++) {
    if (c[b] != expect[b]) {
      if (mismatches++ < 4) {
        const size_t row = b / c_stride, col = b % c_stride / elem;
        print_error(
            "%s: m=%zu n=%zu k=%zu za=%d zp=%d store=%d: byte %zu (row %zu col %zu%s) "
            "got 0x%02x want 0x%02x\n",
            v->name, gc->m, gc->n, gc->k, (int)gc->a_zero_point, gc->zero_point_pattern, gc->store,
            b, row, col, col >= gc->n ? ", outside the tile" : "", c[b], expect[b]);
      }
    }
  }
  free(d.a), free(d.w), free(d.w_zp), free(d.bias_q), free(d.bias_f), free(d.multiplier);
  free(d.row_sums), free(c), free(expect), free(packed);
  return mismatches;
}

static size_t run_variant(const test_variant* v, test_rng* rng) {
  size_t cases = 0, failures = 0;
  const size_t mr = v->mr, nr = v->nr, kr = v->kr;
  const size_t ks[] = {1, 2, 3, kr - 1 ? kr - 1 : 1, kr, kr + 1, 63, 1023};
  const int32_t zero_points[] = {0, 128, 255, 37};
  const size_t ms[] = {1, mr - 1 ? mr - 1 : 1, mr, mr + 1, 2 * mr + 3};
  const size_t ns[] = {1, nr - 1 ? nr - 1 : 1, nr, nr + 1, 2 * nr + 3, 3 * nr};
  for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
      for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
        gemm_case gc = {ms[mi],
                        ns[ni],
                        ks[ki],
                        ks[ki],
                        zero_points[(ki + mi + ni) % 4],
                        (int)((mi + ni) % 3),
                        (int)((ki + ni) % 3),
                        0,
                        0};
        if (rng_below(rng, 2)) gc.a_stride += 1 + rng_below(rng, 40); /* rows wider than K */
        if (ni % 2) gc.column_block = 1 + rng_below(rng, 2);
        failures += run_case(v, rng, &gc) != 0;
        cases++;
      }
    }
  }
  /* K of 8192 at the worst operands: 255 x -128 summed never saturates anything. */
  for (int store = 0; store < 3; store++) {
    gemm_case gc = {mr + 1, nr + 3, 8192, 8192 + 3, 0, 0, store, 1, 0};
    failures += run_case(v, rng, &gc) != 0;
    cases++;
  }
  CHECK(failures == 0, "%s: %zu of %zu cases differ from the reference", v->name, failures, cases);
  return cases;
}

static void test_every_gemm_variant(void** state) {
  (void)state;
  size_t count;
  const test_variant* variants = test_variants(&count);
  size_t ran = 0;
  for (size_t i = 0; i < count; i++) {
    const test_variant* v = &variants[i];
    if (v->family != QEQ_FAMILY_QU8S8_GEMM) continue;
    if (!variant_runnable(v)) {
      printf("  %-52s skipped: the CPU lacks %s\n", v->name, qeq_isa_name(v->isa));
      continue;
    }
    test_rng rng;
    rng_init(&rng, test_seed() + 7919u * i);
    const size_t cases = run_variant(v, &rng);
    coverage_record_family(QEQ_FAMILY_QU8S8_GEMM, v->isa, v->via_simde, cases);
    printf("  %-52s %s %zu cases ok\n", v->name, v->via_simde ? "(emulated)" : "(native)  ", cases);
    ran++;
  }
  CHECK(ran >= 1, "no runnable GEMM variant");
}

static void test_every_registered_gemm_variant_is_tested(void** state) {
  (void)state;
  size_t lib_count, test_count;
  const qeq_variant* lib = qeq_registry_variants(&lib_count);
  const test_variant* tested = test_variants(&test_count);
  for (size_t i = 0; i < lib_count; i++) {
    if (lib[i].family != QEQ_FAMILY_QU8S8_GEMM) continue;
    int found = 0;
    for (size_t j = 0; j < test_count; j++) {
      found |= lib[i].fn == tested[j].fn && lib[i].mr == tested[j].mr &&
               lib[i].nr == tested[j].nr && lib[i].kr == tested[j].kr;
    }
    CHECK(found, "%s is dispatchable but not tested", lib[i].name);
    CHECK(lib[i].mr >= 1 && lib[i].nr >= 1 && lib[i].kr >= 1, "%s has no tile", lib[i].name);
  }
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("qu8s8_gemm kernels", 1) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_gemm_kernels: seed %llu (QEQ_TEST_SEED)\n", (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_gemm_variant),
      cmocka_unit_test(test_every_registered_gemm_variant_is_tested),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
