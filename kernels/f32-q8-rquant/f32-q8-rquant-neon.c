#include "kernels/common/neon.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

static inline int32x4_t quantize4(float32x4_t x, float32x4_t inv, float32x4_t lo, float32x4_t hi,
                                  int32x4_t zp) {
  float32x4_t v = vmulq_f32(x, inv);
  v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v))); /* NaN -> 0 */
  v = vminq_f32(vmaxq_f32(v, lo), hi);
  /* FRINTN rounds half to even; the conversion of an integral value is then exact */
  return vaddq_s32(vcvtq_s32_f32(vrndnq_f32(v)), zp);
}

void qeq_f32_q8_rquant_ukernel__neon(size_t outer, size_t channels, size_t inner, const float* x,
                                     const qeq_q8_quant_params* params, uint8_t* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const qeq_q8_quant_params p = params[c];
      const float32x4_t inv = vdupq_n_f32(p.inv_scale);
      const float32x4_t lo = vdupq_n_f32(p.lo);
      const float32x4_t hi = vdupq_n_f32(p.hi);
      const int32x4_t zp = vdupq_n_s32(p.zero_point);
      size_t i = 0;
      for (; i + 8 <= inner; i += 8) {
        const int32x4_t q0 = quantize4(vld1q_f32(x + i), inv, lo, hi, zp);
        const int32x4_t q1 = quantize4(vld1q_f32(x + i + 4), inv, lo, hi, zp);
        /* values fit in 16 bits; keep the low byte of each */
        const int16x8_t q = vcombine_s16(vmovn_s32(q0), vmovn_s32(q1));
        vst1_u8(y + i, vreinterpret_u8_s8(vmovn_s16(q)));
      }
      for (; i < inner; i++) {
        y[i] = qeq_quantize_one(x[i], &p);
      }
    }
  }
}
