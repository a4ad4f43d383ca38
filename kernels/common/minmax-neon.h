/* NEON min/max with qeq's rules. AArch64 FMIN/FMAX already order -0.0 below +0.0 and
 * propagate NaN; the OR/AND of both orders (see minmax-scalar.h) is kept so the same source
 * is also exact under SIMDe's x86 emulation, which the tests run. */
#ifndef QEQ_KERNELS_COMMON_MINMAX_NEON_H
#define QEQ_KERNELS_COMMON_MINMAX_NEON_H

#include "kernels/common/neon.h"

static inline float32x4_t qeq_min_f32x4(float32x4_t a, float32x4_t b) {
  return vreinterpretq_f32_u32(
      vorrq_u32(vreinterpretq_u32_f32(vminq_f32(a, b)), vreinterpretq_u32_f32(vminq_f32(b, a))));
}
static inline float32x4_t qeq_max_f32x4(float32x4_t a, float32x4_t b) {
  return vreinterpretq_f32_u32(
      vandq_u32(vreinterpretq_u32_f32(vmaxq_f32(a, b)), vreinterpretq_u32_f32(vmaxq_f32(b, a))));
}
static inline float32x2_t qeq_min_f32x2(float32x2_t a, float32x2_t b) {
  return vreinterpret_f32_u32(
      vorr_u32(vreinterpret_u32_f32(vmin_f32(a, b)), vreinterpret_u32_f32(vmin_f32(b, a))));
}
static inline float32x2_t qeq_max_f32x2(float32x2_t a, float32x2_t b) {
  return vreinterpret_f32_u32(
      vand_u32(vreinterpret_u32_f32(vmax_f32(a, b)), vreinterpret_u32_f32(vmax_f32(b, a))));
}
/* Horizontal reductions; the result is in lane 0 (no vminvq: SIMDe's drops NaN). */
static inline float32x2_t qeq_hmin_f32x4(float32x4_t v) {
  const float32x2_t m = qeq_min_f32x2(vget_low_f32(v), vget_high_f32(v));
  return qeq_min_f32x2(m, vrev64_f32(m));
}
static inline float32x2_t qeq_hmax_f32x4(float32x4_t v) {
  const float32x2_t m = qeq_max_f32x2(vget_low_f32(v), vget_high_f32(v));
  return qeq_max_f32x2(m, vrev64_f32(m));
}

#endif /* QEQ_KERNELS_COMMON_MINMAX_NEON_H */
