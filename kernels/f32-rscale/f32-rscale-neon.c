#include "kernels/common/neon.h"
#include "kernels/ukernels.h"

void qeq_f32_rscale_ukernel__neon(size_t outer, size_t channels, size_t inner, const float* x,
                                  const float* scale, float* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const float32x4_t s = vld1q_dup_f32(scale + c);
      size_t i = 0;
      for (; i + 16 <= inner; i += 16) {
        const float32x4_t v0 = vld1q_f32(x + i), v1 = vld1q_f32(x + i + 4);
        const float32x4_t v2 = vld1q_f32(x + i + 8), v3 = vld1q_f32(x + i + 12);
        vst1q_f32(y + i, vmulq_f32(v0, s));
        vst1q_f32(y + i + 4, vmulq_f32(v1, s));
        vst1q_f32(y + i + 8, vmulq_f32(v2, s));
        vst1q_f32(y + i + 12, vmulq_f32(v3, s));
      }
      for (; i + 4 <= inner; i += 4) vst1q_f32(y + i, vmulq_f32(vld1q_f32(x + i), s));
      for (; i < inner; i++) vst1q_lane_f32(y + i, vmulq_f32(vld1q_dup_f32(x + i), s), 0);
    }
  }
}
