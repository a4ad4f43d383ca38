#include "kernels/common/qops-scalar.h"
#include "kernels/common/quant-neon.h"
#include "kernels/ukernels.h"

/* Rows summed in uint16 per chunk: 256 * 255 < 2^16. */
enum { CHUNK_ROWS = 256 };

/* int8 is summed as uint8 after flipping the top bit (q ^ 0x80 = q + 128); the bias takes
 * the 128 * rows back out, so the int32 sum is the same. Each chunk of rows is summed with
 * widening 8 -> 16-bit adds and then folded into the 32-bit accumulators. */
void qeq_q8_avgpool_ukernel__neon(size_t rows, size_t channels, const uint8_t* const* x,
                                  int is_signed, const qeq_q8_avgpool_params* params, uint8_t* y) {
  const uint8x16_t flip = vdupq_n_u8(is_signed ? 0x80 : 0);
  const int32_t bias = params->bias - (is_signed ? 128 * (int32_t)rows : 0);
  const float32x4_t m = vdupq_n_f32(params->out.inv_scale);
  const float32x4_t lo = vdupq_n_f32(params->out.lo);
  const float32x4_t hi = vdupq_n_f32(params->out.hi);
  const int32x4_t zp = vdupq_n_s32(params->out.zero_point);
  size_t j = 0;
  for (; j + 16 <= channels; j += 16) {
    /* uint32 lanes wrap like int32, and the contract keeps the true sum in int32 */
    uint32x4_t acc[4];
    for (int k = 0; k < 4; k++) acc[k] = vreinterpretq_u32_s32(vdupq_n_s32(bias));
    for (size_t r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
      const size_t end = rows - r0 < CHUNK_ROWS ? rows : r0 + CHUNK_ROWS;
      uint16x8_t sum_lo = vdupq_n_u16(0), sum_hi = vdupq_n_u16(0);
      for (size_t r = r0; r < end; r++) {
        const uint8x16_t v = veorq_u8(vld1q_u8(x[r] + j), flip);
        sum_lo = vaddw_u8(sum_lo, vget_low_u8(v));
        sum_hi = vaddw_u8(sum_hi, vget_high_u8(v));
      }
      acc[0] = vaddw_u16(acc[0], vget_low_u16(sum_lo));
      acc[1] = vaddw_u16(acc[1], vget_high_u16(sum_lo));
      acc[2] = vaddw_u16(acc[2], vget_low_u16(sum_hi));
      acc[3] = vaddw_u16(acc[3], vget_high_u16(sum_hi));
    }
    int16x4_t q16[4];
    for (int k = 0; k < 4; k++) {
      const float32x4_t mean = vcvtq_f32_s32(vreinterpretq_s32_u32(acc[k]));
      q16[k] = vmovn_s32(qeq_quantize_f32x4(mean, m, lo, hi, zp)); /* keeps the low byte */
    }
    const int8x8_t y_lo = vmovn_s16(vcombine_s16(q16[0], q16[1]));
    const int8x8_t y_hi = vmovn_s16(vcombine_s16(q16[2], q16[3]));
    vst1q_u8(y + j, vreinterpretq_u8_s8(vcombine_s8(y_lo, y_hi)));
  }
  for (; j < channels; j++) y[j] = qeq_q8_avg_column(rows, x, j, is_signed, params);
}
