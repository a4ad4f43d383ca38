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
/* SIMDe's vfmaq_f32 rounds twice (a + b * c) without x86 FMA; the instruction rounds once. */
#include <math.h>
static inline simde_float32x4_t qeq_simde_vfmaq_f32(simde_float32x4_t a, simde_float32x4_t b,
                                                    simde_float32x4_t c) {
  float va[4], vb[4], vc[4], r[4];
  simde_vst1q_f32(va, a);
  simde_vst1q_f32(vb, b);
  simde_vst1q_f32(vc, c);
  for (int i = 0; i < 4; i++) r[i] = fmaf(vb[i], vc[i], va[i]);
  return simde_vld1q_f32(r);
}
#undef vfmaq_f32
#define vfmaq_f32(a, b, c) qeq_simde_vfmaq_f32(a, b, c)
#else
#include <arm_neon.h>
#endif

#endif /* QEQ_KERNELS_COMMON_NEON_H */
