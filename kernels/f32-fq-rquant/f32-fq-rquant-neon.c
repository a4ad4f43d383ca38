#include "kernels/common/neon.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

static inline float32x4_t fake_quantize4(float32x4_t x, float32x4_t inv, float32x4_t lo,
                                         float32x4_t hi, float32x4_t scale) {
  float32x4_t v = vmulq_f32(x, inv);
  v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v))); /* NaN -> 0 */
  v = vminq_f32(vmaxq_f32(v, lo), hi);
  /* FRINTN: half to even; -0.0 -> +0.0 by clearing zeros (adding +0.0 keeps -0.0 under
   * round-down) */
  const uint32x4_t r = vreinterpretq_u32_f32(vrndnq_f32(v));
  const uint32x4_t zero = vceqq_f32(vreinterpretq_f32_u32(r), vdupq_n_f32(0.0f));
  return vmulq_f32(vreinterpretq_f32_u32(vbicq_u32(r, zero)), scale);
}

void qeq_f32_fq_rquant_ukernel__neon(size_t outer, size_t channels, size_t inner, const float* x,
                                     const qeq_fq_params* params, int stream, float* y) {
  (void)stream; /* no non-temporal stores in this variant */
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const qeq_fq_params p = params[c];
      const float32x4_t inv = vdupq_n_f32(p.inv_scale);
      const float32x4_t lo = vdupq_n_f32(p.lo);
      const float32x4_t hi = vdupq_n_f32(p.hi);
      const float32x4_t scale = vdupq_n_f32(p.scale);
      size_t i = 0;
      for (; i + 8 <= inner; i += 8) {
        const float32x4_t v0 = vld1q_f32(x + i), v1 = vld1q_f32(x + i + 4);
        vst1q_f32(y + i, fake_quantize4(v0, inv, lo, hi, scale));
        vst1q_f32(y + i + 4, fake_quantize4(v1, inv, lo, hi, scale));
      }
      for (; i < inner; i++) y[i] = qeq_fake_quantize_one(x[i], &p);
    }
  }
}
