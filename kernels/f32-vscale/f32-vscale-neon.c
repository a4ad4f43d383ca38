#include "kernels/common/neon.h"
#include "kernels/ukernels.h"

void qeq_f32_vscale_ukernel__neon(size_t rows, size_t width, size_t stride, const float* x,
                                  const float* scale, float* y) {
  for (size_t r = 0; r < rows; r++, x += stride, y += stride) {
    size_t j = 0;
    for (; j + 8 <= width; j += 8) {
      const float32x4_t v0 = vld1q_f32(x + j), v1 = vld1q_f32(x + j + 4);
      vst1q_f32(y + j, vmulq_f32(v0, vld1q_f32(scale + j)));
      vst1q_f32(y + j + 4, vmulq_f32(v1, vld1q_f32(scale + j + 4)));
    }
    for (; j + 4 <= width; j += 4)
      vst1q_f32(y + j, vmulq_f32(vld1q_f32(x + j), vld1q_f32(scale + j)));
    for (; j < width; j++) {
      vst1q_lane_f32(y + j, vmulq_f32(vld1q_dup_f32(x + j), vld1q_dup_f32(scale + j)), 0);
    }
  }
}
