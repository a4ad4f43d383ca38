/* The fixed-point add, sixteen bytes a step in four int32x4 groups; VSHL by a negative count
 * is the arithmetic right shift. int8 bytes are read as uint8 after flipping the top bit
 * (q ^ 0x80 = q + 128) and 128 is taken off again after widening. */
#include "kernels/common/neon.h"
#include "kernels/common/qops-scalar.h"
#include "kernels/ukernels.h"

typedef struct vadd_fixed_constants {
  int32x4_t bias, a_mul, b_mul, mask, threshold, neg_shift, y_zp, y_min, y_max, offset;
  uint8x16_t flip;
} vadd_fixed_constants;

static inline int32x4_t add4(uint16x4_t a, uint16x4_t b, const vadd_fixed_constants* k) {
  const int32x4_t va = vsubq_s32(vreinterpretq_s32_u32(vmovl_u16(a)), k->offset);
  const int32x4_t vb = vsubq_s32(vreinterpretq_s32_u32(vmovl_u16(b)), k->offset);
  const int32x4_t acc =
      vaddq_s32(k->bias, vaddq_s32(vmulq_s32(va, k->a_mul), vmulq_s32(vb, k->b_mul)));
  /* rem = (acc & mask) - (acc < 0): the comparison is -1 where acc < 0 */
  const int32x4_t negative = vreinterpretq_s32_u32(vcltq_s32(acc, vdupq_n_s32(0)));
  const int32x4_t rem = vaddq_s32(vandq_s32(acc, k->mask), negative);
  const int32x4_t up = vreinterpretq_s32_u32(vcgtq_s32(rem, k->threshold));
  int32x4_t q = vsubq_s32(vshlq_s32(acc, k->neg_shift), up);
  q = vaddq_s32(q, k->y_zp);
  return vminq_s32(vmaxq_s32(q, k->y_min), k->y_max);
}

static inline uint8x16_t add16(uint8x16_t qa, uint8x16_t qb, const vadd_fixed_constants* k) {
  qa = veorq_u8(qa, k->flip);
  qb = veorq_u8(qb, k->flip);
  const uint16x8_t a_lo = vmovl_u8(vget_low_u8(qa)), a_hi = vmovl_u8(vget_high_u8(qa));
  const uint16x8_t b_lo = vmovl_u8(vget_low_u8(qb)), b_hi = vmovl_u8(vget_high_u8(qb));
  const int32x4_t q0 = add4(vget_low_u16(a_lo), vget_low_u16(b_lo), k);
  const int32x4_t q1 = add4(vget_high_u16(a_lo), vget_high_u16(b_lo), k);
  const int32x4_t q2 = add4(vget_low_u16(a_hi), vget_low_u16(b_hi), k);
  const int32x4_t q3 = add4(vget_high_u16(a_hi), vget_high_u16(b_hi), k);
  /* every lane is inside the dtype: the narrowing moves keep its low byte */
  const uint16x8_t lo =
      vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(q0)), vmovn_u32(vreinterpretq_u32_s32(q1)));
  const uint16x8_t hi =
      vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(q2)), vmovn_u32(vreinterpretq_u32_s32(q3)));
  return vcombine_u8(vmovn_u16(lo), vmovn_u16(hi));
}

void qeq_q8_vadd_fixed_ukernel__neon(size_t n, const uint8_t* a, const uint8_t* b, int is_signed,
                                     const qeq_q8_vadd_fixed_params* params, uint8_t* y) {
  vadd_fixed_constants k;
  k.bias = vdupq_n_s32(params->bias);
  k.a_mul = vdupq_n_s32(params->a_multiplier);
  k.b_mul = vdupq_n_s32(params->b_multiplier);
  k.mask = vdupq_n_s32(params->remainder_mask);
  k.threshold = vdupq_n_s32(params->remainder_threshold);
  k.neg_shift = vdupq_n_s32(-(int32_t)params->right_shift);
  k.y_zp = vdupq_n_s32(params->y_zero_point);
  k.y_min = vdupq_n_s32(params->y_min);
  k.y_max = vdupq_n_s32(params->y_max);
  k.offset = vdupq_n_s32(is_signed ? 128 : 0);
  k.flip = vdupq_n_u8(is_signed ? 0x80 : 0);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    vst1q_u8(y + i, add16(vld1q_u8(a + i), vld1q_u8(b + i), &k));
  }
  for (; i < n; i++) y[i] = qeq_q8_vadd_fixed_one(a[i], b[i], is_signed, params);
}
