/* Internal: the kernel families as an enum, generated from kernels/families.inc. The public
 * API names families by string (qeq_kernel_family_name, qeq_kernel_variant_name). */
#ifndef QEQ_KERNELS_FAMILIES_H
#define QEQ_KERNELS_FAMILIES_H

#include "kernels/registry-macros.h"

typedef enum qeq_kernel_family {
#define QEQ_FAMILY(name, NAME, signature) QEQ_FAMILY_##NAME,
#define QEQ_UKERNEL QEQ_IGNORE
#define QEQ_GEMM_UKERNEL QEQ_IGNORE
#include "kernels/families.inc"
#undef QEQ_FAMILY
  QEQ_FAMILY_COUNT
} qeq_kernel_family;

/* qeq_family_id_<name>: the same values under the lower-case names the registries use. */
enum {
#define QEQ_FAMILY(name, NAME, signature) qeq_family_id_##name = QEQ_FAMILY_##NAME,
#include "kernels/families.inc"
#undef QEQ_FAMILY
#undef QEQ_UKERNEL
#undef QEQ_GEMM_UKERNEL
};

#endif /* QEQ_KERNELS_FAMILIES_H */
