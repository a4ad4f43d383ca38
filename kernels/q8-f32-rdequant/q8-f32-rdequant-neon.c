#include "kernels/common/neon.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

void qeq_q8_f32_rdequant_ukernel__neon(size_t outer, size_t channels, size_t inner,
                                       const uint8_t* q, int is_signed,
                                       const qeq_q8_dequant_params* params, float* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, q += inner, y += inner) {
      const qeq_q8_dequant_params p = params[c];
      const float32x4_t scale = vdupq_n_f32(p.scale);
      const int32x4_t zp = vdupq_n_s32(p.zero_point);
      size_t i = 0;
      for (; i + 8 <= inner; i += 8) {
        const uint8x8_t b = vld1_u8(q + i);
        /* widen to 16 bits by the dtype's signedness; both fit int16 */
        const int16x8_t w =
            is_signed ? vmovl_s8(vreinterpret_s8_u8(b)) : vreinterpretq_s16_u16(vmovl_u8(b));
        const int32x4_t lo = vsubq_s32(vmovl_s16(vget_low_s16(w)), zp);
        const int32x4_t hi = vsubq_s32(vmovl_s16(vget_high_s16(w)), zp);
        vst1q_f32(y + i, vmulq_f32(scale, vcvtq_f32_s32(lo)));
        vst1q_f32(y + i + 4, vmulq_f32(scale, vcvtq_f32_s32(hi)));
      }
      for (; i < inner; i++) y[i] = qeq_dequantize_one(q[i], is_signed, &p);
    }
  }
}
