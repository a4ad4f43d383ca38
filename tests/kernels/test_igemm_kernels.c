/* Every qu8s8_igemm variant (native, through SIMDe on x86) against an independent reference
 * (Σ over taps and channels in 64 bits, then the contract's epilogue written out) and against
 * the qu8s8_gemm variant of its ISA on the same rows gathered into a matrix: rows read only
 * through the pointers (each pixel its own allocation, so ASan sees any read past kc), padding
 * pointers at a zero-point row, nothing written outside the tile. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/ops/gemm-pack.h"
#include "tests/support/epilogue-params.h"
#include "tests/support/test-support.h"

typedef struct igemm_case {
  size_t m, n, kc, taps;
  size_t a_offset;      /* bytes before the channels at every pointer */
  int32_t a_zero_point; /* uint8 domain; the padding row holds it */
  int store;            /* QEQ_GEMM_STORE_* */
  int worst_case;       /* a = 255, w = -128 everywhere */
  uint32_t x_cap;       /* pixels in [0, x_cap] (0: [0, 255]); the padding row stays at za */
} igemm_case;

enum { GUARD = 0xA5 };

typedef struct igemm_data {
  uint8_t** pixels;      /* m x taps separate allocations of a_offset + kc bytes, or NULL */
  uint8_t* zero_row;     /* a_offset + kc bytes of a_zero_point */
  const uint8_t** table; /* [row tile][tap][row] as the kernel reads it, for the whole m */
  int8_t* w;             /* [n][taps][kc] */
  int8_t* w_padded;      /* [n][taps][kcp], zero padding */
  int32_t *zeros, *bias_q;
  float *bias_f, *multiplier;
  qeq_gemm_ukernel_params params;
} igemm_data;

static const uint8_t* pixel(const igemm_data* d, const igemm_case* ic, size_t i, size_t t) {
  const uint8_t* p = d->pixels[i * ic->taps + t];
  return (p ? p : d->zero_row) + ic->a_offset;
}

static void reference(const igemm_case* ic, const igemm_data* d, uint8_t* c, size_t c_stride) {
  for (size_t i = 0; i < ic->m; i++) {
    for (size_t j = 0; j < ic->n; j++) {
      int64_t acc = 0;
      for (size_t t = 0; t < ic->taps; t++) {
        const uint8_t* a = pixel(d, ic, i, t);
        for (size_t ch = 0; ch < ic->kc; ch++) {
          acc += ((int64_t)a[ch] - ic->a_zero_point) * d->w[(j * ic->taps + t) * ic->kc + ch];
        }
      }
      assert_true(acc >= INT32_MIN && acc <= INT32_MAX);
      uint8_t* out = c + i * c_stride;
      if (ic->store == QEQ_GEMM_STORE_S32) {
        const int32_t v = (int32_t)acc;
        memcpy(out + j * 4, &v, 4);
      } else if (ic->store == QEQ_GEMM_STORE_F32) {
        const float v = epilogue_f32_clamp(
            (float)(int32_t)acc * (d->params.a_scale * d->multiplier[j]) + d->bias_f[j],
            &d->params);
        memcpy(out + j * 4, &v, 4);
      } else {
        const float t = (float)(int32_t)(acc + d->bias_q[j]) + d->bias_f[j];
        const float v = fminf(fmaxf(t * d->multiplier[j] + d->params.out_offset, d->params.out_lo),
                              d->params.out_hi);
        out[j] = (uint8_t)((int32_t)nearbyintf(v) + d->params.out_zero_point);
      }
    }
  }
}

/* Random pixels (a quarter of the taps in the padding), weights and epilogue constants. */
static void fill_case(test_rng* rng, const igemm_case* ic, size_t kcp, igemm_data* d) {
  const size_t row_bytes = ic->a_offset + ic->kc;
  memset(d->zero_row, (int)ic->a_zero_point, row_bytes);
  for (size_t p = 0; p < ic->m * ic->taps; p++) {
    d->pixels[p] = NULL;
    if (!ic->worst_case && rng_below(rng, 4) == 0) continue;
    d->pixels[p] = malloc(row_bytes);
    assert_non_null(d->pixels[p]);
    for (size_t b = 0; b < row_bytes; b++) {
      d->pixels[p][b] =
          ic->worst_case ? 255 : (uint8_t)rng_below(rng, ic->x_cap ? ic->x_cap + 1 : 256);
    }
  }
  memset(d->w_padded, 0, ic->n * ic->taps * kcp);
  for (size_t j = 0; j < ic->n; j++) {
    for (size_t t = 0; t < ic->taps; t++) {
      for (size_t ch = 0; ch < ic->kc; ch++) {
        const int8_t v = ic->worst_case ? -128 : (int8_t)((int)rng_below(rng, 256) - 128);
        d->w[(j * ic->taps + t) * ic->kc + ch] = v;
        d->w_padded[(j * ic->taps + t) * kcp + ch] = v;
      }
    }
    d->zeros[j] = 0;
    d->bias_q[j] = ic->worst_case ? 0 : (int32_t)rng_below(rng, 2001) - 1000;
    d->bias_f[j] = ((float)rng_below(rng, 2001) - 1000.0f) / 8.0f;
    d->multiplier[j] = random_requant_multiplier(rng, ic->kc * ic->taps);
  }
  random_epilogue_params(rng, ic->a_zero_point, ic->store, &d->params);
}

/* The qu8s8_gemm variant of v's ISA and tile, or NULL. */
static const test_variant* gemm_twin(const test_variant* v) {
  size_t count;
  const test_variant* all = test_variants(&count);
  for (size_t i = 0; i < count; i++) {
    if (all[i].family == QEQ_FAMILY_QU8S8_GEMM && all[i].isa == v->isa &&
        all[i].via_simde == v->via_simde && all[i].mr == v->mr && all[i].nr == v->nr &&
        all[i].kr == v->kr) {
      return &all[i];
    }
  }
  return NULL;
}

static size_t count_mismatches(const test_variant* v, const igemm_case* ic, const char* what,
                               const uint8_t* got, const uint8_t* want, size_t bytes,
                               size_t c_stride) {
  const size_t elem = ic->store == QEQ_GEMM_STORE_Q8 ? 1 : 4;
  size_t mismatches = 0;
  for (size_t b = 0; b < bytes; b++) {
    if (got[b] != want[b] && mismatches++ < 4) {
      const size_t col = b % c_stride / elem;
      print_error(
          "%s vs %s: m=%zu n=%zu kc=%zu taps=%zu za=%d store=%d: byte %zu (row %zu col "
          "%zu%s) got 0x%02x want 0x%02x\n",
          v->name, what, ic->m, ic->n, ic->kc, ic->taps, (int)ic->a_zero_point, ic->store, b,
          b / c_stride, col, col >= ic->n ? ", outside the tile" : "", got[b], want[b]);
    }
  }
  return mismatches;
}

/* Runs one case through v tile by tile as the convolution does; returns the mismatches
 * against the reference and the gathered GEMM. */
/* The tiles on which a kernel with a saturating fast path may take it: x_max of the row tile
 * (every tap, padding rows included) times the panel's largest |w[2p]| + |w[2p + 1]| at most
 * 32767 (docs/numerics.md#the-avx2-fast-path), recomputed here from the weights. */
static uint64_t fast_tiles(const test_variant* v, const igemm_case* ic, const igemm_data* d,
                           size_t k) {
  uint64_t fast = 0;
  for (size_t i0 = 0; i0 < ic->m; i0 += v->mr) {
    uint32_t x_max = 0;
    for (size_t i = i0; i < ic->m && i < i0 + v->mr; i++) {
      for (size_t t = 0; t < ic->taps; t++) {
        const uint8_t* a = pixel(d, ic, i, t);
        for (size_t ch = 0; ch < ic->kc; ch++) x_max = a[ch] > x_max ? a[ch] : x_max;
      }
    }
    for (size_t j0 = 0; j0 < ic->n; j0 += v->nr) {
      uint32_t bound = 0;
      for (size_t j = j0; j < ic->n && j < j0 + v->nr; j++) {
        for (size_t kk = 0; kk + 1 < k; kk += 2) {
          const int8_t* w = d->w_padded + j * k + kk;
          const uint32_t pair = (uint32_t)abs(w[0]) + (uint32_t)abs(w[1]);
          bound = pair > bound ? pair : bound;
        }
      }
      fast += x_max * bound <= 32767;
    }
  }
  return fast;
}

static size_t run_case(const test_variant* v, test_rng* rng, const igemm_case* ic) {
  const size_t elem = ic->store == QEQ_GEMM_STORE_Q8 ? 1 : 4;
  const size_t c_stride = ic->n * elem + 5 + rng_below(rng, 8); /* padding must stay intact */
  const size_t kcp = qeq_igemm_tap_bytes(ic->kc, v->kr), k = ic->taps * kcp;
  igemm_data d;
  d.pixels = malloc(ic->m * ic->taps * sizeof *d.pixels);
  d.zero_row = malloc(ic->a_offset + ic->kc);
  d.table = malloc(ic->m * ic->taps * sizeof *d.table);
  d.w = malloc(ic->n * ic->taps * ic->kc);
  d.w_padded = malloc(ic->n * k);
  d.zeros = malloc(ic->n * sizeof(int32_t));
  d.bias_q = malloc(ic->n * sizeof(int32_t));
  d.bias_f = malloc(ic->n * sizeof(float));
  d.multiplier = malloc(ic->n * sizeof(float));
  uint8_t* gathered = calloc(ic->m, k); /* padding bytes 0, as the padded weights are */
  uint8_t* c = malloc(ic->m * c_stride);
  uint8_t* expect = malloc(ic->m * c_stride);
  uint8_t* twin_out = malloc(ic->m * c_stride);
  const size_t packed_bytes = qeq_gemm_packed_bytes(ic->n, k, v->nr, v->kr);
  void* packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
  assert_true(d.pixels && d.zero_row && d.table && d.w && d.w_padded && d.zeros && d.bias_q &&
              d.bias_f && d.multiplier && gathered && c && expect && twin_out && packed);
  fill_case(rng, ic, kcp, &d);
  const qeq_gemm_columns cols = {d.zeros, d.bias_q, d.bias_f, d.multiplier};
  qeq_gemm_pack(ic->n, k, d.w_padded, k, v->nr, v->kr, qeq_gemm_activation_offset(v->isa), &cols,
                packed);
  memset(c, GUARD, ic->m * c_stride);
  memset(expect, GUARD, ic->m * c_stride);
  memset(twin_out, GUARD, ic->m * c_stride);
  reference(ic, &d, expect, c_stride);

  qeq_gemm_path_counts counts = {0, 0};
  d.params.path_counts = &counts;
  qeq_qu8s8_igemm_ukernel_fn* kernel = (qeq_qu8s8_igemm_ukernel_fn*)v->fn;
  for (size_t i0 = 0; i0 < ic->m; i0 += v->mr) {
    const size_t rows = ic->m - i0 < v->mr ? ic->m - i0 : v->mr;
    const uint8_t** tile = d.table + i0 * ic->taps;
    for (size_t t = 0; t < ic->taps; t++) {
      for (size_t r = 0; r < rows; r++) {
        const uint8_t* p = d.pixels[(i0 + r) * ic->taps + t];
        tile[t * rows + r] = p ? p : d.zero_row;
      }
    }
    kernel(rows, ic->n, ic->kc, ic->taps, tile, ic->a_offset, packed, c + i0 * c_stride, c_stride,
           &d.params);
  }
  size_t mismatches = count_mismatches(v, ic, "reference", c, expect, ic->m * c_stride, c_stride);
  d.params.path_counts = NULL;
  const uint64_t tiles = (ic->m + v->mr - 1) / v->mr * ((ic->n + v->nr - 1) / v->nr);
  const uint64_t want_fast = kernel_has_pair_path(v->name) ? fast_tiles(v, ic, &d, k) : 0;
  const uint64_t want_exact = kernel_has_pair_path(v->name) ? tiles - want_fast : 0;
  if (counts.fast_tiles != want_fast || counts.exact_tiles != want_exact) {
    print_error(
        "%s: m=%zu n=%zu kc=%zu taps=%zu za=%d x_cap=%u: %llu fast and %llu exact tiles, "
        "want %llu and %llu\n",
        v->name, ic->m, ic->n, ic->kc, ic->taps, (int)ic->a_zero_point, ic->x_cap,
        (unsigned long long)counts.fast_tiles, (unsigned long long)counts.exact_tiles,
        (unsigned long long)want_fast, (unsigned long long)want_exact);
    mismatches++;
  }

  const test_variant* twin = gemm_twin(v);
  if (twin != NULL) {
    for (size_t i = 0; i < ic->m; i++) {
      for (size_t t = 0; t < ic->taps; t++) {
        memcpy(gathered + i * k + t * kcp, pixel(&d, ic, i, t), ic->kc);
      }
    }
    for (size_t i0 = 0; i0 < ic->m; i0 += v->mr) {
      const size_t rows = ic->m - i0 < v->mr ? ic->m - i0 : v->mr;
      ((qeq_qu8s8_gemm_ukernel_fn*)twin->fn)(rows, ic->n, k, gathered + i0 * k, k, NULL, packed,
                                             twin_out + i0 * c_stride, c_stride, &d.params);
    }
    mismatches += count_mismatches(v, ic, twin->name, c, twin_out, ic->m * c_stride, c_stride);
  }
  for (size_t p = 0; p < ic->m * ic->taps; p++) free(d.pixels[p]);
  free(d.pixels), free(d.zero_row), free(d.table), free(d.w), free(d.w_padded), free(d.zeros);
  free(d.bias_q), free(d.bias_f), free(d.multiplier), free(gathered), free(c), free(expect);
  free(twin_out), free(packed);
  return mismatches;
}

static void run_variant(const test_variant* v, test_rng* rng) {
  size_t cases = 0, failures = 0;
  const size_t mr = v->mr, nr = v->nr, kr = v->kr;
  /* channels per tap around KR and the 4-byte groups, and conv-sized runs */
  const size_t kcs[] = {1, 2, 3, kr, kr + 1, 5, 7, 8, 13, 16, 31, 64};
  const size_t taps[] = {1, 2, 3, 9, 25};
  const int32_t zero_points[] = {0, 128, 255, 37};
  const size_t ms[] = {1, mr - 1 ? mr - 1 : 1, mr, 2 * mr + 3};
  /* last panels of every width, half a panel (the AVX2 kernel's one-vector tile) included */
  const size_t half = nr / 2 ? nr / 2 : 1;
  const size_t ns[] = {1, nr - 1 ? nr - 1 : 1, nr + 1, 2 * nr + 3, half, nr + half, half + 1};
  for (size_t ki = 0; ki < sizeof kcs / sizeof kcs[0]; ki++) {
    for (size_t ti = 0; ti < sizeof taps / sizeof taps[0]; ti++) {
      for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
        const size_t ni = (ki + ti + mi) % 7;
        const igemm_case ic = {ms[mi],
                               ns[ni],
                               kcs[ki],
                               taps[ti],
                               rng_below(rng, 4),
                               zero_points[(ki + mi + ti) % 4],
                               (int)((ki + ti + mi) % 3),
                               0,
                               0};
        failures += run_case(v, rng, &ic) != 0;
        /* 7-bit pixels: the fast path where the padding row's za allows it, the exact one
         * where za = 128 or 255 is the tile's maximum. */
        igemm_case small = ic;
        small.x_cap = 127;
        failures += run_case(v, rng, &small) != 0;
        cases += 2;
      }
    }
  }
  /* 25 taps of 256 channels at the worst operands: nothing saturates. */
  for (int store = 0; store < 3; store++) {
    const igemm_case ic = {mr + 1, nr + 3, 256 + 3, 25, 1, 0, store, 1, 0};
    failures += run_case(v, rng, &ic) != 0;
    cases++;
  }
  CHECK(failures == 0, "%s: %zu of %zu cases differ", v->name, failures, cases);
  coverage_record_family(QEQ_FAMILY_QU8S8_IGEMM, v->isa, v->via_simde, cases);
  printf("  %s: %zu cases, gathered GEMM twin %s\n", v->name, cases,
         gemm_twin(v) ? gemm_twin(v)->name : "none");
}

/* Every registered variant is in the test list (test_minmax_scale_kernels.c checks that for all
 * families). */
static void test_every_igemm_variant(void** state) {
  (void)state;
  run_family(QEQ_FAMILY_QU8S8_IGEMM, run_variant);
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("qu8s8_igemm kernels", 1) == 0, "ISA coverage incomplete");
}

int main(void) {
  printf("test_igemm_kernels: seed %llu (QEQ_TEST_SEED)\n", (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_igemm_variant),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
