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

/* ---- the saturating fast path's bound (docs/numerics.md#the-avx2-fast-path) ----
 * Each column holds one pair (2p, 2p + 1) whose |w| sum to `bound`, of one sign per column, the
 * other weights summing to less; the activations at those pairs are x, the rest at most x.
 * At x = floor(32767 / bound) the pair sums reach 32767 and nothing saturates; one past it a
 * saturating int16 would clip them, so a kernel that took its fast path there would differ
 * from the reference. Run on every variant: all must be exact; those that count their paths
 * (AVX2, AVX-512 without VNNI) must take the fast path exactly where x * bound <= 32767. */
typedef struct bound_case {
  size_t m, n, k;
  int32_t bound;    /* 2..256 */
  uint32_t x_early; /* the activations' maximum in every row tile but the last */
  uint32_t x_last;  /* and in the last one */
  int32_t later;    /* the bound of every panel but the first (0: bound): paths mixed per call */
} bound_case;

static size_t run_bound_case(const test_variant* v, test_rng* rng, const bound_case* bc) {
  const size_t m = bc->m, n = bc->n, k = bc->k;
  uint8_t* a = malloc(m * k);
  int8_t* w = malloc(n * k);
  int32_t* zeros = calloc(n, sizeof(int32_t));
  float* ones = malloc(n * sizeof(float));
  int32_t* c = malloc(m * n * sizeof(int32_t));
  const size_t pairs = (k + 1) / 2;
  for (size_t j = 0; j < n; j++) {
    const int32_t bound = j >= v->nr && bc->later ? bc->later : bc->bound;
    const int32_t small = (bound - 1) / 2; /* |w_a| + |w_b| <= 2 * small < bound */
    ones[j] = 1.0f;
    const int sign = j % 2 ? -1 : 1;
    for (size_t kk = 0; kk < k; kk++) {
      w[j * k + kk] = (int8_t)((int32_t)rng_below(rng, (uint32_t)small + 1) * sign);
    }
    const size_t p = (j * 7) % pairs;
    const int32_t hi = (bound + 1) / 2, lo = bound / 2;
    w[j * k + 2 * p] = (int8_t)(sign * (2 * p + 1 < k ? hi : bound));
    if (2 * p + 1 < k) w[j * k + 2 * p + 1] = (int8_t)(sign * lo);
  }
  const size_t last_tile = (m - 1) / v->mr * v->mr;
  for (size_t i = 0; i < m; i++) {
    const uint32_t x = i >= last_tile ? bc->x_last : bc->x_early;
    for (size_t kk = 0; kk < k; kk++) a[i * k + kk] = (uint8_t)rng_below(rng, x + 1);
    for (size_t j = 0; j < n; j++) {
      const size_t p = (j * 7) % pairs;
      a[i * k + 2 * p] = (uint8_t)x;
      if (2 * p + 1 < k) a[i * k + 2 * p + 1] = (uint8_t)x;
    }
  }
  const size_t packed_bytes = qeq_gemm_packed_bytes(n, k, v->nr, v->kr);
  void* packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
  assert_non_null(packed);
  const qeq_gemm_columns cols = {zeros, zeros, (const float*)zeros, ones};
  qeq_gemm_pack(n, k, w, k, v->nr, v->kr, qeq_gemm_activation_offset(v->isa), &cols, packed);
  qeq_gemm_path_counts counts = {0, 0};
  qeq_gemm_ukernel_params params;
  memset(&params, 0, sizeof params);
  params.store = QEQ_GEMM_STORE_S32;
  params.path_counts = &counts;
  qeq_qu8s8_gemm_ukernel_fn* kernel = (qeq_qu8s8_gemm_ukernel_fn*)v->fn;
  for (size_t i = 0; i < m; i += v->mr) {
    const size_t rows = m - i < v->mr ? m - i : v->mr;
    kernel(rows, n, k, a + i * k, k, NULL, packed, c + i * n, n * sizeof(int32_t), &params);
  }
  size_t bad = 0;
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) {
      int64_t want = 0;
      for (size_t kk = 0; kk < k; kk++) want += (int64_t)a[i * k + kk] * w[j * k + kk];
      if (c[i * n + j] != want && bad++ < 4) {
        print_error("%s: bound %d, x %u / %u, m=%zu n=%zu k=%zu: c[%zu][%zu] = %d, want %lld\n",
                    v->name, (int)bc->bound, bc->x_early, bc->x_last, m, n, k, i, j,
                    (int)c[i * n + j], (long long)want);
      }
    }
  }
  /* Tiles that may take the fast path: x * bound <= 32767 in their row tile. */
  const size_t panels = (n + v->nr - 1) / v->nr, row_tiles = (m + v->mr - 1) / v->mr;
  uint64_t want_fast = 0;
  for (size_t p = 0; p < panels; p++) {
    const uint32_t bound = (uint32_t)(p > 0 && bc->later ? bc->later : bc->bound);
    want_fast += (row_tiles - 1) * (bc->x_early * bound <= 32767) + (bc->x_last * bound <= 32767);
  }
  const int counts_paths = kernel_has_pair_path(v->name);
  if (counts_paths) {
    CHECK(counts.fast_tiles == want_fast && counts.exact_tiles == panels * row_tiles - want_fast,
          "%s: bound %d, x %u / %u: %llu fast and %llu exact tiles, want %llu and %llu", v->name,
          (int)bc->bound, bc->x_early, bc->x_last, (unsigned long long)counts.fast_tiles,
          (unsigned long long)counts.exact_tiles, (unsigned long long)want_fast,
          (unsigned long long)(panels * row_tiles - want_fast));
  } else {
    CHECK(counts.fast_tiles == 0 && counts.exact_tiles == 0, "%s counts paths it does not have",
          v->name);
  }
  free(a), free(w), free(zeros), free(ones), free(c), free(packed);
  return bad;
}

static size_t run_bound_cases(const test_variant* v, test_rng* rng) {
  size_t failures = 0, cases = 0;
  const int32_t bounds[] = {254, 256, 200, 129, 2};
  const size_t ks[] = {7, 64, 301};
  /* Column counts whose last panel is narrow (a few columns, half a panel, one past half) as
   * well as full: the AVX2 kernel runs a last panel of at most 8 columns on one vector. */
  const size_t half = v->nr / 2 ? v->nr / 2 : 1;
  const size_t ns[] = {2 * v->nr + 3, half, v->nr + half, half + 1};
  for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
    const uint32_t at = (uint32_t)(32767 / bounds[b]) > 255 ? 255 : (uint32_t)(32767 / bounds[b]);
    const uint32_t past = at + 1 > 255 ? 255 : at + 1;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
      for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
        const size_t m = 2 * v->mr + 1 + (ki + ni) % 2 * (v->mr - 1), n = ns[ni];
        const bound_case at_bound = {m, n, ks[ki], bounds[b], at, at, 0};
        const bound_case last_past = {m, n, ks[ki], bounds[b], at, past, 0};
        const bound_case all_past = {m, n, ks[ki], bounds[b], past, past, 0};
        failures += run_bound_case(v, rng, &at_bound) != 0;
        failures += run_bound_case(v, rng, &last_past) != 0;
        failures += run_bound_case(v, rng, &all_past) != 0;
        cases += 3;
      }
    }
  }
  /* Both paths in one call, either first (a kernel that prepares the exact path's operands
   * once per call must do so whichever panel needs them first), K past AVX-512's 512-byte
   * widening block included. */
  const size_t mixed_ks[] = {7, 64, 600};
  for (size_t ki = 0; ki < sizeof mixed_ks / sizeof mixed_ks[0]; ki++) {
    const size_t m = v->mr + 2, n = 2 * v->nr + 3;
    const bound_case fast_first = {m, n, mixed_ks[ki], 2, 255, 255, 256};
    const bound_case exact_first = {m, n, mixed_ks[ki], 256, 255, 255, 2};
    failures += run_bound_case(v, rng, &fast_first) != 0;
    failures += run_bound_case(v, rng, &exact_first) != 0;
    cases += 2;
  }
  CHECK(failures == 0, "%s: %zu of %zu bound cases differ from the reference", v->name, failures,
        cases);
  return cases;
}

/* The row maximum that decides a tile's path must see every byte: rows of every length the
 * AVX2 kernel reads in a different way (shorter than 4, 8, 16 and 32 bytes, whole vectors with
 * and without an overlapping last one), all 7 except one byte of one row, 255, at each
 * position in turn, against weights whose pair bound (254) makes 255 one past what the fast
 * path may take. Every tile must take the exact path and every sum be right. */
static size_t run_lone_maximum_cases(const test_variant* v) {
  const size_t ks[] = {3, 5, 12, 27, 32, 45};
  const size_t n = v->nr + 1;
  size_t failures = 0, cases = 0;
  for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
    const size_t k = ks[ki], m = v->mr;
    uint8_t* a = malloc(m * k);
    int8_t* w = malloc(n * k);
    int32_t* zeros = calloc(n, sizeof(int32_t));
    float* ones = malloc(n * sizeof(float));
    int32_t* c = malloc(m * n * sizeof(int32_t));
    for (size_t j = 0; j < n; j++) {
      ones[j] = 1.0f;
      for (size_t kk = 0; kk < k; kk++) w[j * k + kk] = (int8_t)(kk % 2 ? -127 : 127);
    }
    const size_t packed_bytes = qeq_gemm_packed_bytes(n, k, v->nr, v->kr);
    void* packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
    assert_non_null(packed);
    const qeq_gemm_columns cols = {zeros, zeros, (const float*)zeros, ones};
    qeq_gemm_pack(n, k, w, k, v->nr, v->kr, qeq_gemm_activation_offset(v->isa), &cols, packed);
    for (size_t pos = 0; pos < k; pos++) {
      const size_t row = pos % m;
      memset(a, 7, m * k);
      a[row * k + pos] = 255;
      qeq_gemm_path_counts counts = {0, 0};
      qeq_gemm_ukernel_params params;
      memset(&params, 0, sizeof params);
      params.store = QEQ_GEMM_STORE_S32;
      params.path_counts = &counts;
      ((qeq_qu8s8_gemm_ukernel_fn*)v->fn)(m, n, k, a, k, NULL, packed, c, n * sizeof(int32_t),
                                          &params);
      size_t bad = 0;
      for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
          int64_t want = 0;
          for (size_t kk = 0; kk < k; kk++) want += (int64_t)a[i * k + kk] * w[j * k + kk];
          bad += c[i * n + j] != want;
        }
      }
      const int counts_paths = strstr(v->name, "__avx2") != NULL;
      if (bad != 0 || (counts_paths && counts.fast_tiles != 0)) {
        if (failures++ < 4) {
          print_error("%s: k=%zu, 255 at row %zu, position %zu: %zu wrong sums, %llu fast tiles\n",
                      v->name, k, row, pos, bad, (unsigned long long)counts.fast_tiles);
        }
      }
      cases++;
    }
    free(a), free(w), free(zeros), free(ones), free(c), free(packed);
  }
  CHECK(failures == 0, "%s: %zu of %zu lone-maximum cases wrong", v->name, failures, cases);
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
    const size_t cases =
        run_variant(v, &rng) + run_bound_cases(v, &rng) + run_lone_maximum_cases(v);
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
