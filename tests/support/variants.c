/* The registries seen by the tests: every variant this build dispatches, plus on x86 every
 * x86 source and the NEON and NEON dot-product sources compiled through SIMDe (CMake compiles
 * this file with QEQ_BUILD_NEON=1, QEQ_BUILD_NEONDOT=1 and QEQ_TEST_NEON_VIA_SIMDE=1 there,
 * which also declares the NEON prototypes). */
#include <stdio.h>
#include <string.h>

#include "tests/support/test-support.h"

#ifndef QEQ_TEST_NEON_VIA_SIMDE
#define QEQ_TEST_NEON_VIA_SIMDE 0
#endif
#define QEQ_VIA_SIMDE_scalar 0
#define QEQ_VIA_SIMDE_avx2 0
#define QEQ_VIA_SIMDE_avx512 0
#define QEQ_VIA_SIMDE_avx512vnni 0
#define QEQ_VIA_SIMDE_avxvnni 0
#define QEQ_VIA_SIMDE_neon QEQ_TEST_NEON_VIA_SIMDE
#define QEQ_VIA_SIMDE_neondot QEQ_TEST_NEON_VIA_SIMDE

#ifndef QEQ_TEST_X86_VIA_SIMDE
#define QEQ_TEST_X86_VIA_SIMDE 0
#endif
/* Every x86 variant also compiled through SIMDe (QEQ_X86_KERNEL names it ..._simde), so every
 * x86 variant runs on every x86 machine; these entries carry that symbol's name. */
#define QEQ_X86_SIMDE_scalar 0
#define QEQ_X86_SIMDE_avx2 QEQ_TEST_X86_VIA_SIMDE
#define QEQ_X86_SIMDE_avx512 QEQ_TEST_X86_VIA_SIMDE
#define QEQ_X86_SIMDE_avx512vnni QEQ_TEST_X86_VIA_SIMDE
#define QEQ_X86_SIMDE_avxvnni QEQ_TEST_X86_VIA_SIMDE
#define QEQ_X86_SIMDE_neon 0
#define QEQ_X86_SIMDE_neondot 0

/* A registry line's prototype through SIMDe, and its entries: the variant as this build
 * dispatches it, then on x86 its SIMDe build. The extra level expands the names before they
 * are stringified. */
#define SIMDE_PROTOTYPE(family, isa, simde_fn) \
  QEQ_EXPAND_IF(QEQ_X86_SIMDE_##isa, qeq_##family##_ukernel_fn simde_fn;)
#define VARIANT_ENTRIES(family, isa, fn, simde_fn, mr, nr, kr) \
  VARIANT_ENTRIES_(family, isa, fn, simde_fn, mr, nr, kr)
#define VARIANT_ENTRIES_(family, isa, fn, simde_fn, mr, nr, kr)                                  \
  QEQ_IF_BUILT(isa,                                                                              \
               {QEQ_FAMILY_ID(family), QEQ_ISA_ID(isa), #fn, (qeq_generic_fn)fn,                 \
                QEQ_VIA_SIMDE_##isa, mr, nr, kr}, )                                              \
  QEQ_EXPAND_IF(QEQ_X86_SIMDE_##isa,                                                             \
                {QEQ_FAMILY_ID(family), QEQ_ISA_ID(isa), #simde_fn, (qeq_generic_fn)simde_fn, 1, \
                 mr, nr, kr}, )

#define QEQ_UKERNEL(family, isa) SIMDE_PROTOTYPE(family, isa, QEQ_UKERNEL_NAME(family, isa##_simde))
#define QEQ_GEMM_UKERNEL(family, tile, isa, mr, nr, kr) \
  SIMDE_PROTOTYPE(family, isa, QEQ_UKERNEL_TILE_NAME(family, tile, isa##_simde))
#define QEQ_FAMILY QEQ_IGNORE
#include "kernels/families.inc"
#undef QEQ_UKERNEL
#undef QEQ_GEMM_UKERNEL

#define QEQ_UKERNEL(family, isa)                              \
  VARIANT_ENTRIES(family, isa, QEQ_UKERNEL_NAME(family, isa), \
                  QEQ_UKERNEL_NAME(family, isa##_simde), 0, 0, 0)
#define QEQ_GEMM_UKERNEL(family, tile, isa, mr, nr, kr)                  \
  VARIANT_ENTRIES(family, isa, QEQ_UKERNEL_TILE_NAME(family, tile, isa), \
                  QEQ_UKERNEL_TILE_NAME(family, tile, isa##_simde), mr, nr, kr)
static const test_variant variants[] = {
#include "kernels/families.inc"
};
#undef QEQ_FAMILY
#undef QEQ_UKERNEL
#undef QEQ_GEMM_UKERNEL

const test_variant* test_variants(size_t* count) {
  *count = sizeof variants / sizeof variants[0];
  return variants;
}

int variant_runnable(const test_variant* v) {
  return v->via_simde || qeq_isa_detected(v->isa);
}

size_t variant_cases(const test_variant* v, size_t n) {
  return test_iterations(v->via_simde && qeq_isa_detected(v->isa) ? n / 4 : n);
}

size_t detected_isas(qeq_isa* out) {
  size_t n = 0;
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    if (qeq_isa_detected((qeq_isa)i)) out[n++] = (qeq_isa)i;
  }
  return n;
}

int kernel_has_pair_path(const char* name) {
  static const char* const suffixes[] = {"__avx2", "__avx2_simde", "__avx512", "__avx512_simde"};
  if (strstr(name, "gemm_ukernel_") == NULL) return 0;
  const size_t len = strlen(name);
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    const size_t n = strlen(suffixes[i]);
    if (len >= n && strcmp(name + len - n, suffixes[i]) == 0) return 1;
  }
  return 0;
}

void run_family(qeq_kernel_family family, family_runner runner) {
  size_t count;
  const test_variant* variants = test_variants(&count);
  size_t ran = 0;
  for (size_t i = 0; i < count; i++) {
    if (variants[i].family != family || !variant_runnable(&variants[i])) continue;
    test_rng rng;
    rng_init(&rng, test_seed() + 1000003u * i);
    runner(&variants[i], &rng);
    printf("  %-44s %s ok\n", variants[i].name, variants[i].via_simde ? "(SIMDe)" : "       ");
    ran++;
  }
  CHECK(ran >= 1, "no runnable variant for family %s", qeq_kernel_family_name((size_t)family));
}
