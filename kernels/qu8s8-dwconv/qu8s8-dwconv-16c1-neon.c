/* NEON qu8s8 depthwise convolution, 16 channels per panel, one tap per k group (c1): the
 * tap's channel bytes widened u8 -> u16 (0..255, read as s16), the weights s8 -> s16, and
 * vmlal_s16 multiply-accumulates into int32, so every product and sum is exact. Panels
 * outside, pixels inside: the panel's columns for the epilogue are loaded once per call. */
#include <stdint.h>
#include <string.h>

#include "kernels/common/gemm-epilogue-neon.h"
#include "kernels/common/neon.h"
#include "kernels/common/partial-bytes.h"
#include "kernels/ukernels.h"

enum { NR = 16, KR = 1, NVEC = NR / 4 };

/* count (1..16) channel bytes, zero-filled; nothing past the pixel's channels is read. */
static inline uint8x16_t load_channels(const uint8_t* p, size_t count) {
  if (count == NR) return vld1q_u8(p);
  uint64_t lo, hi;
  qeq_load_partial16(p, count, &lo, &hi);
  return vcombine_u8(vcreate_u8(lo), vcreate_u8(hi));
}

void qeq_qu8s8_dwconv_ukernel_16c1__neon(size_t pixels, size_t channels, size_t taps,
                                         const uint8_t* const* input, size_t input_step,
                                         uint32_t input_xor, const void* w, int has_w_zero_points,
                                         void* output, size_t output_stride,
                                         const qeq_gemm_ukernel_params* params) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps, NR, KR);
  const size_t elem = params->store == QEQ_GEMM_STORE_Q8 ? 1 : 4;
  const uint8x16_t xor_mask = vdupq_n_u8((uint8_t)input_xor);
  const uint8_t* panel = w;
  for (size_t c0 = 0; c0 < channels; c0 += NR, panel += panel_bytes) {
    const size_t count = channels - c0 < NR ? channels - c0 : NR;
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    qeq_gemm_cols_neon cols;
    qeq_gemm_load_cols_neon(panel, NVEC, params, &cols);
    for (size_t p = 0; p < pixels; p++) {
      const uint8_t* const* in = input + p * input_step;
      int32x4_t acc[NVEC] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
      uint32x4_t x_sum[NVEC] = {vdupq_n_u32(0), vdupq_n_u32(0), vdupq_n_u32(0), vdupq_n_u32(0)};
      for (size_t t = 0; t < taps; t++) {
        const uint8x16_t x = veorq_u8(load_channels(in[t] + c0, count), xor_mask);
        const uint16x8_t x_lo = vmovl_u8(vget_low_u8(x));
        const uint16x8_t x_hi = vmovl_high_u8(x);
        const int8x16_t wt = vld1q_s8(wk + t * NR);
        const int16x8_t w_lo = vmovl_s8(vget_low_s8(wt));
        const int16x8_t w_hi = vmovl_high_s8(wt);
        const int16x8_t xs_lo = vreinterpretq_s16_u16(x_lo);
        const int16x8_t xs_hi = vreinterpretq_s16_u16(x_hi);
        acc[0] = vmlal_s16(acc[0], vget_low_s16(xs_lo), vget_low_s16(w_lo));
        acc[1] = vmlal_high_s16(acc[1], xs_lo, w_lo);
        acc[2] = vmlal_s16(acc[2], vget_low_s16(xs_hi), vget_low_s16(w_hi));
        acc[3] = vmlal_high_s16(acc[3], xs_hi, w_hi);
        if (has_w_zero_points) {
          x_sum[0] = vaddw_u16(x_sum[0], vget_low_u16(x_lo));
          x_sum[1] = vaddw_high_u16(x_sum[1], x_lo);
          x_sum[2] = vaddw_u16(x_sum[2], vget_low_u16(x_hi));
          x_sum[3] = vaddw_high_u16(x_sum[3], x_hi);
        }
      }
      if (has_w_zero_points) {
        /* the per-channel part of the correction (wrapping); the epilogue does the rest
         * with a row sum of 0 */
        for (size_t v = 0; v < NVEC; v++) {
          acc[v] = vmlsq_s32(acc[v], cols.w_zero_point[v], vreinterpretq_s32_u32(x_sum[v]));
        }
      }
      qeq_gemm_store_row_neon(acc, NVEC, 0, &cols, params, count,
                              (uint8_t*)output + p * output_stride + c0 * elem);
    }
  }
}
