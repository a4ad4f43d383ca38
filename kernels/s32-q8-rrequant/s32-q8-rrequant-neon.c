#include "kernels/common/quant-neon.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

void qeq_s32_q8_rrequant_ukernel__neon(size_t outer, size_t channels, size_t inner,
                                       const int32_t* acc, const qeq_q8_quant_params* params,
                                       int stream, uint8_t* y) {
  (void)stream; /* no non-temporal stores in this variant */
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, acc += inner, y += inner) {
      const qeq_q8_quant_params p = params[c];
      const float32x4_t m = vdupq_n_f32(p.inv_scale);
      const float32x4_t lo = vdupq_n_f32(p.lo);
      const float32x4_t hi = vdupq_n_f32(p.hi);
      const int32x4_t zp = vdupq_n_s32(p.zero_point);
      size_t i = 0;
      for (; i + 8 <= inner; i += 8) {
        const float32x4_t v0 = vcvtq_f32_s32(vld1q_s32(acc + i));
        const float32x4_t v1 = vcvtq_f32_s32(vld1q_s32(acc + i + 4));
        const int32x4_t q0 = qeq_quantize_f32x4(v0, m, lo, hi, zp);
        const int32x4_t q1 = qeq_quantize_f32x4(v1, m, lo, hi, zp);
        const int16x8_t q = vcombine_s16(vmovn_s32(q0), vmovn_s32(q1));
        vst1_u8(y + i, vreinterpret_u8_s8(vmovn_s16(q)));
      }
      for (; i < inner; i++) y[i] = qeq_quantize_one((float)acc[i], &p);
    }
  }
}
