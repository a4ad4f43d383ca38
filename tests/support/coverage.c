/* Which ISAs a test binary exercised, printed at the end of the run. */
#include <stdio.h>

#include "tests/support/test-support.h"

static size_t native_cases[QEQ_ISA_COUNT];
static size_t simde_cases[QEQ_ISA_COUNT];
static uint32_t families_seen; /* bit per family this binary exercised */

void coverage_record_family(qeq_kernel_family family, qeq_isa isa, int via_simde, size_t cases) {
  families_seen |= 1u << family;
  if (via_simde) {
    simde_cases[isa] += cases;
  } else {
    native_cases[isa] += cases;
  }
}

void coverage_record(qeq_isa isa, int via_simde, size_t cases) {
  /* The element-wise families: those before the GEMM (the GEMM and the quantized ops after
   * it record themselves). */
  for (int f = 0; f < QEQ_FAMILY_QU8S8_GEMM; f++) families_seen |= 1u << f;
  coverage_record_family(QEQ_FAMILY_F32_RMINMAX, isa, via_simde, cases);
}

/* Whether a family this binary exercised has a variant for `isa`: natively built ones only
 * (native = 1), or also those compiled through SIMDe (the sources exist for the level). */
static int isa_has_variant(qeq_isa isa, int native) {
  size_t count;
  const test_variant* v = test_variants(&count);
  for (size_t i = 0; i < count; i++) {
    if (v[i].isa == isa && (families_seen >> v[i].family & 1u) && !(native && v[i].via_simde)) {
      return 1;
    }
  }
  return 0;
}

static int isa_has_kernels(qeq_isa isa) {
  return isa_has_variant(isa, 1);
}

static int isa_has_any_variant_source(qeq_isa isa) {
  /* Levels for which kernels exist in the source tree, whether or not this build made them. */
  return isa == QEQ_ISA_SCALAR || isa_has_variant(isa, 0);
}

int coverage_report(const char* title, int expect_simde) {
  int failed = 0;
  printf("ISA coverage (%s):\n", title);
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    const qeq_isa isa = (qeq_isa)i;
    const int detected = qeq_isa_detected(isa);
    const char* note = "";
    if (detected && isa_has_any_variant_source(isa) && !isa_has_kernels(isa)) {
      note = "  <- FAIL: the CPU has it but this build has no kernels for it";
      failed = 1;
    } else if (detected && isa_has_kernels(isa) && native_cases[i] == 0) {
      note = "  <- FAIL: detected but not exercised";
      failed = 1;
    } else if (detected && !isa_has_kernels(isa)) {
      note = "  (no kernel requires it yet; selection under this cap: test_dispatch)";
    } else if (!detected && native_cases[i] == 0 && simde_cases[i] == 0) {
      note = "  (not on this CPU)";
    }
    printf("  %-11s detected=%s native cases=%-8zu simde cases=%-8zu%s\n", qeq_isa_name(isa),
           detected ? "yes" : "no ", native_cases[i], simde_cases[i], note);
  }
#if QEQ_TEST_NEON_VIA_SIMDE
  if (expect_simde && simde_cases[QEQ_ISA_NEON] == 0) {
    printf("  FAIL: NEON through SIMDe was built but not exercised\n");
    failed = 1;
  }
#else
  (void)expect_simde; /* no SIMDe build of the NEON kernels on this architecture */
#endif
  fflush(stdout);
  return failed;
}
