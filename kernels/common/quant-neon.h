/* NEON piece of f32 -> 8-bit quantization shared by the quantize and requantize kernels. */
#ifndef QEQ_KERNELS_COMMON_QUANT_NEON_H
#define QEQ_KERNELS_COMMON_QUANT_NEON_H

#include "kernels/common/neon.h"

/* clamp(x * inv, lo, hi) with NaN -> 0, rounded half to even, plus the zero point. */
static inline int32x4_t qeq_quantize_f32x4(float32x4_t x, float32x4_t inv, float32x4_t lo,
                                           float32x4_t hi, int32x4_t zp) {
  float32x4_t v = vmulq_f32(x, inv);
  v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v))); /* NaN -> 0 */
  v = vminq_f32(vmaxq_f32(v, lo), hi);
  /* FRINTN rounds half to even; the conversion of an integral value is then exact */
  return vaddq_s32(vcvtq_s32_f32(vrndnq_f32(v)), zp);
}

#endif /* QEQ_KERNELS_COMMON_QUANT_NEON_H */
