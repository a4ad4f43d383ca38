/* NEON intrinsics: native on aarch64; through SIMDe when the tests build NEON code on x86. */
#ifndef QEQ_KERNELS_COMMON_NEON_H
#define QEQ_KERNELS_COMMON_NEON_H

#if defined(QEQ_NEON_VIA_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
/* Intrinsics SIMDe 0.7.4 lacks, from ones it has (same results). */
#ifndef vmlal_high_laneq_s16
#define vmlal_high_laneq_s16(a, b, v, lane) vmlal_laneq_s16((a), vget_high_s16(b), (v), (lane))
#endif
#else
#include <arm_neon.h>
#endif

#endif /* QEQ_KERNELS_COMMON_NEON_H */
