/* Shared test helpers: seeded randomness, independent reference implementations, the list of
 * every kernel variant (including NEON through SIMDe on x86) and ISA coverage bookkeeping. */
#ifndef QEQ_TESTS_SUPPORT_H
#define QEQ_TESTS_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <qeq/qeq.h>

#include "dispatch/dispatch.h"

/* ---- randomness: xorshift, seeded from QEQ_TEST_SEED (printed on failure) ---- */
typedef struct test_rng {
  uint64_t state;
} test_rng;

uint64_t test_seed(void);         /* QEQ_TEST_SEED or a fixed default */
size_t test_iterations(size_t n); /* n scaled by QEQ_TEST_SCALE (default 1.0, min 1) */
void rng_init(test_rng* rng, uint64_t seed);
uint64_t rng_next(test_rng* rng);
size_t rng_below(test_rng* rng, size_t n);           /* uniform in [0, n) */
size_t rng_size_pick(test_rng* rng, size_t max);     /* 1, primes, vector-width +-1, random */
float rng_value(test_rng* rng);                      /* mix of magnitudes, zeros of both signs */
void fill_values(test_rng* rng, float* x, size_t n); /* rng_value each */

/* Overwrite a few elements of channel c of [outer, channels, inner] with NaN/+-Inf/-0.0
 * at its head, middle or tail. */
void inject_specials(test_rng* rng, float* x, size_t outer, size_t channels, size_t inner);

/* ---- bit-level float helpers ---- */
uint32_t f32_bits(float v);
float f32_from_bits(uint32_t u);
int same_bits(float a, float b);        /* identical bit patterns */
int same_or_both_nan(float a, float b); /* identical bits, or both NaN */
extern const float canonical_nan;

/* ---- guarded float buffers (tests/support/guarded.c) ---- */
#define GUARD_FLOATS 8          /* sentinel floats after every guarded buffer */
float* alloc_guarded(size_t n); /* n floats, then the sentinels; free() it */
/* The same 0 to 15 floats past a 64-byte line, so that every head a kernel peels before its
 * first full line occurs (16-byte-aligned buffers only give heads of 0, 4, 8 and 12); free
 * *block. */
float* alloc_shifted(test_rng* rng, size_t n, float** block);
int guard_intact(const float* p, size_t n); /* the sentinels after p[n - 1] are unchanged */
float rng_scale(test_rng* rng);             /* 0, -1.5, 3e30, 1e-30 or uniform in [0, 2] */

/* ---- independent references (sort-free, by a total-order key; no kernel code) ---- */
/* min/max of channel c over an N-d tensor along `axis` (already non-negative), NaN rule and
 * -0 < +0, NaN written as canonical_nan. */
void ref_channel_minmax(const qeq_shape* shape, const float* x, size_t axis, float* min,
                        float* max);
/* y = x * scales[c] along axis, element by element. */
void ref_scale(const qeq_shape* shape, const float* x, size_t axis, const float* scales, float* y);
size_t shape_numel(const qeq_shape* shape);

/* The output of column j (docs/numerics.md#output-formats-and-clamps) for the exact
 * accumulator acc under config c (quantized, float32 or int32, as c->output says), written at
 * out + j * its element size. */
void ref_gemm_store(const qeq_gemm_config* c, size_t j, int64_t acc, uint8_t* out);

/* A direct convolution (quantized NHWC input of batch x h x w x C, output batch x oh x ow x O
 * dense) from the definition, for any config qeq_conv_create accepts. */
void ref_conv(const qeq_conv_config* c, size_t batch, size_t h, size_t w, const uint8_t* x,
              size_t oh, size_t ow, uint8_t* y);

/* ---- variants: the registries plus NEON via SIMDe on x86 ---- */
typedef struct test_variant {
  qeq_kernel_family family;
  qeq_isa isa;
  const char* name;
  qeq_generic_fn fn;
  int via_simde;
  size_t mr, nr, kr; /* GEMM tile; 0 for other families */
} test_variant;
const test_variant* test_variants(size_t* count);
/* 1 if this variant can run here (its ISA detected, or emulated through SIMDe). */
int variant_runnable(const test_variant* v);
/* Random cases for a variant: test_iterations(n), but a quarter of that for a SIMDe build of
 * an ISA this CPU also runs natively (the native build takes the full count; the emulated
 * one checks the emulation). Where the CPU lacks the ISA, its SIMDe build takes all n. */
size_t variant_cases(const test_variant* v, size_t n);
/* Runs runner on every runnable variant of family, each with its own seeded rng, printing a
 * line per variant; fails if none could run. Runners record their coverage. */
typedef void (*family_runner)(const test_variant*, test_rng*);
void run_family(qeq_kernel_family family, family_runner runner);

/* ---- ISA coverage ---- */
/* Cases run by a variant of one of the element-wise families (everything but the GEMM). */
void coverage_record(qeq_isa isa, int via_simde, size_t cases);
void coverage_record_family(qeq_kernel_family family, qeq_isa isa, int via_simde, size_t cases);
/* Prints which ISAs were covered; returns 1 (failure) if an ISA the CPU has, and that has
 * kernels in the source tree, was not built or not exercised, or (expect_simde) an ISA whose
 * variants of the exercised families were built through SIMDe ran none of them. */
int coverage_report(const char* title, int expect_simde);

/* Every ISA level the CPU supports, for running API tests under each cap. */
size_t detected_isas(qeq_isa* out);
/* Whether the GEMM or indirect GEMM variant named `name` (its dispatch name, or the SIMDe
 * build's) has the saturating vpmaddubsw path beside its exact one and counts the tiles of
 * each (docs/numerics.md#the-avx2-fast-path): AVX2 and AVX-512 without VNNI. */
int kernel_has_pair_path(const char* name);

/* Fails the current cmocka test with the seed and a formatted message. */
#define CHECK(cond, ...)                                                                          \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      print_error("seed=%llu (rerun with QEQ_TEST_SEED=%llu): ", (unsigned long long)test_seed(), \
                  (unsigned long long)test_seed());                                               \
      print_error(__VA_ARGS__);                                                                   \
      print_error("\n");                                                                          \
      fail();                                                                                     \
    }                                                                                             \
  } while (0)

#endif /* QEQ_TESTS_SUPPORT_H */
