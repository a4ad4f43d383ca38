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

enum variant_kind { ANY_VARIANT, NATIVE_VARIANT, SIMDE_VARIANT };

/* Whether a family this binary exercised has a variant of `kind` for `isa` (ANY: the sources
 * exist for the level, whether or not this build made them natively). */
static int isa_has_variant(qeq_isa isa, enum variant_kind kind) {
  size_t count;
  const test_variant* v = test_variants(&count);
  for (size_t i = 0; i < count; i++) {
    if (v[i].isa != isa || !(families_seen >> v[i].family & 1u)) continue;
    if (kind == ANY_VARIANT || (kind == SIMDE_VARIANT) == (v[i].via_simde != 0)) return 1;
  }
  return 0;
}

static int isa_has_kernels(qeq_isa isa) {
  return isa_has_variant(isa, NATIVE_VARIANT);
}

static int isa_has_any_variant_source(qeq_isa isa) {
  return isa == QEQ_ISA_SCALAR || isa_has_variant(isa, ANY_VARIANT);
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
      note = "  (no kernel requires it yet; selection under this cap: test_isa)";
    } else if (!detected && native_cases[i] == 0 && simde_cases[i] == 0) {
      note = "  (not on this CPU)";
    }
    printf("  %-11s detected=%s native cases=%-8zu simde cases=%-8zu%s\n", qeq_isa_name(isa),
           detected ? "yes" : "no ", native_cases[i], simde_cases[i], note);
  }
  for (int i = 0; expect_simde && i < QEQ_ISA_COUNT; i++) {
    if (isa_has_variant((qeq_isa)i, SIMDE_VARIANT) && simde_cases[i] == 0) {
      printf("  FAIL: %s through SIMDe was built but not exercised\n", qeq_isa_name((qeq_isa)i));
      failed = 1;
    }
  }
  fflush(stdout);
  return failed;
}
