/* NEON intrinsics: native on aarch64; through SIMDe when the tests build NEON code on x86. */
#ifndef QEQ_KERNELS_COMMON_NEON_H
#define QEQ_KERNELS_COMMON_NEON_H

#if defined(QEQ_NEON_VIA_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#else
#include <arm_neon.h>
#endif

#endif /* QEQ_KERNELS_COMMON_NEON_H */
