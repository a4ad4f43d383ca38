/* Internal dispatch interface: the kernel each family uses now, and the test hook. */
#ifndef QEQ_DISPATCH_DISPATCH_H
#define QEQ_DISPATCH_DISPATCH_H

#include <stdint.h>

#include <qeq/common.h>
#include <qeq/isa.h>

#include "kernels/ukernels.h"

typedef void (*qeq_generic_fn)(void);

typedef struct qeq_variant {
  qeq_kernel_family family;
  qeq_isa isa;
  const char* name;
  qeq_generic_fn fn;  /* cast back to the family's type before calling */
  uint8_t mr, nr, kr; /* GEMM tile (rows, columns, k-group of the packed layout); 0 otherwise */
} qeq_variant;

/* The variant dispatch currently selects for `family` (initialises dispatch on first use);
 * NULL only for qu8s8_igemm where the int8 configuration has none. */
const qeq_variant* qeq_dispatch_select(qeq_kernel_family family);

/* The int8 kernels that go together on one ISA (kernels/int8-configs.inc): the GEMM, the
 * indirect GEMM with the same packed tile (NULL where the ISA has none: convolutions gather),
 * and the depthwise kernel. */
typedef struct qeq_int8_config {
  qeq_isa isa;
  const qeq_variant* gemm;
  const qeq_variant* igemm;
  const qeq_variant* dwconv;
} qeq_int8_config;

/* The int8 configuration dispatch currently selects. Its gemm and dwconv are what
 * qeq_dispatch_select returns for their families; read the three from one snapshot. */
const qeq_int8_config* qeq_dispatch_int8(void);

/* Every int8 configuration this build contains, best first (each variant resolved). */
const qeq_int8_config* qeq_int8_configs(size_t* count);

/* Every variant of every family this build contains, best first within a family. */
const qeq_variant* qeq_registry_variants(size_t* count);

/* qeq_dispatch_<name>(): the selected variant of family <name>, as its signature's type. */
#define QEQ_FAMILY(name, NAME, signature)                          \
  static inline signature* qeq_dispatch_##name(void) {             \
    return (signature*)qeq_dispatch_select(QEQ_FAMILY_##NAME)->fn; \
  }
#define QEQ_UKERNEL QEQ_IGNORE
#define QEQ_GEMM_UKERNEL QEQ_IGNORE
#include "kernels/families.inc"
#undef QEQ_FAMILY
#undef QEQ_UKERNEL
#undef QEQ_GEMM_UKERNEL
#define QEQ_DISPATCH(family) qeq_dispatch_##family()

/* Test hook: re-run selection as if the CPU had only `features` (must be a subset of what
 * was detected, else QEQ_ERROR_UNSUPPORTED). qeq_dispatch_test_restore undoes it. */
qeq_status qeq_dispatch_test_set_features(uint32_t features);
void qeq_dispatch_test_restore(void);
/* 1 if dispatch may use `isa` now (detected, and within the cap or the test override). */
int qeq_dispatch_isa_allowed(qeq_isa isa);
/* Features detected on this CPU. */
uint32_t qeq_dispatch_detected_features(void);

#endif /* QEQ_DISPATCH_DISPATCH_H */
