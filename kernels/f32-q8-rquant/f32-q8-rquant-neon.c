#include "kernels/common/quant-neon.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

void qeq_f32_q8_rquant_ukernel__neon(size_t outer, size_t channels, size_t inner, const float* x,
                                     const qeq_q8_quant_params* params, int stream, uint8_t* y) {
  (void)stream; /* no non-temporal stores in this variant */
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const qeq_q8_quant_params p = params[c];
      const float32x4_t inv = vdupq_n_f32(p.inv_scale);
      const float32x4_t lo = vdupq_n_f32(p.lo);
      const float32x4_t hi = vdupq_n_f32(p.hi);
      const int32x4_t zp = vdupq_n_s32(p.zero_point);
      size_t i = 0;
      for (; i + 8 <= inner; i += 8) {
        const int32x4_t q0 = qeq_quantize_f32x4(vld1q_f32(x + i), inv, lo, hi, zp);
        const int32x4_t q1 = qeq_quantize_f32x4(vld1q_f32(x + i + 4), inv, lo, hi, zp);
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
