#include "kernels/common/partial-bytes.h"
#include "kernels/common/quant-neon.h"
#include "kernels/ukernels.h"

typedef struct vmul_constants {
  uint8x16_t flip;
  int32x4_t a_zp, b_zp, y_zp; /* input zero points plus 128 for flipped int8 bytes */
  float32x4_t multiplier, lo, hi;
} vmul_constants;

/* Sixteen outputs. int8 bytes are read as uint8 after flipping the top bit (q ^ 0x80 = q + 128),
 * the zero points moved by 128 to match, so one widening serves both dtypes. */
static inline uint8x16_t mul16(uint8x16_t qa, uint8x16_t qb, const vmul_constants* k) {
  const uint16x8_t a_lo = vmovl_u8(vget_low_u8(veorq_u8(qa, k->flip)));
  const uint16x8_t a_hi = vmovl_u8(vget_high_u8(veorq_u8(qa, k->flip)));
  const uint16x8_t b_lo = vmovl_u8(vget_low_u8(veorq_u8(qb, k->flip)));
  const uint16x8_t b_hi = vmovl_u8(vget_high_u8(veorq_u8(qb, k->flip)));
  const uint16x4_t a4[4] = {vget_low_u16(a_lo), vget_high_u16(a_lo), vget_low_u16(a_hi),
                            vget_high_u16(a_hi)};
  const uint16x4_t b4[4] = {vget_low_u16(b_lo), vget_high_u16(b_lo), vget_low_u16(b_hi),
                            vget_high_u16(b_hi)};
  int16x4_t q16[4];
  for (int i = 0; i < 4; i++) {
    const int32x4_t ca = vsubq_s32(vreinterpretq_s32_u32(vmovl_u16(a4[i])), k->a_zp);
    const int32x4_t cb = vsubq_s32(vreinterpretq_s32_u32(vmovl_u16(b4[i])), k->b_zp);
    const float32x4_t p = vcvtq_f32_s32(vmulq_s32(ca, cb)); /* exact: at most 2^16 */
    /* the low 16 bits keep the low byte */
    q16[i] = vmovn_s32(qeq_quantize_f32x4(p, k->multiplier, k->lo, k->hi, k->y_zp));
  }
  const int8x8_t lo8 = vmovn_s16(vcombine_s16(q16[0], q16[1]));
  const int8x8_t hi8 = vmovn_s16(vcombine_s16(q16[2], q16[3]));
  return vreinterpretq_u8_s8(vcombine_s8(lo8, hi8));
}

void qeq_q8_vmul_ukernel__neon(size_t n, const uint8_t* a, const uint8_t* b, int is_signed,
                               const qeq_q8_mul_params* params, uint8_t* y) {
  const int32_t shift = is_signed ? 128 : 0;
  vmul_constants k;
  k.flip = vdupq_n_u8(is_signed ? 0x80 : 0);
  k.a_zp = vdupq_n_s32(params->a_zero_point + shift);
  k.b_zp = vdupq_n_s32(params->b_zero_point + shift);
  k.y_zp = vdupq_n_s32(params->out.zero_point);
  k.multiplier = vdupq_n_f32(params->out.inv_scale);
  k.lo = vdupq_n_f32(params->out.lo);
  k.hi = vdupq_n_f32(params->out.hi);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) vst1q_u8(y + i, mul16(vld1q_u8(a + i), vld1q_u8(b + i), &k));
  if (i < n) {
    /* The last n - i (< 16) elements go through the same vector steps, read and written in
     * pieces. */
    uint64_t lo, hi;
    qeq_load_partial16(a + i, n - i, &lo, &hi);
    const uint8x16_t ta = vcombine_u8(vcreate_u8(lo), vcreate_u8(hi));
    qeq_load_partial16(b + i, n - i, &lo, &hi);
    const uint8x16_t tb = vcombine_u8(vcreate_u8(lo), vcreate_u8(hi));
    const uint64x2_t ty = vreinterpretq_u64_u8(mul16(ta, tb, &k));
    qeq_store_partial16(y + i, vgetq_lane_u64(ty, 0), vgetq_lane_u64(ty, 1), n - i);
  }
}
