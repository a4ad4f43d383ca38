/* The GEMM epilogue of kernels/ukernels.h for NEON variants: zero-point correction of the raw
 * dot products of one row and the fused store, for panels of NR = 4 * nvec columns (nvec even,
 * so a row of bytes is whole 8-byte halves). The same operations, in the same order, as
 * kernels/common/gemm-epilogue-scalar.h, four columns at a time. */
#ifndef QEQ_KERNELS_COMMON_GEMM_EPILOGUE_NEON_H
#define QEQ_KERNELS_COMMON_GEMM_EPILOGUE_NEON_H

#include <stdint.h>
#include <string.h>

#include "kernels/common/neon.h"
#include "kernels/ukernels.h"

enum { QEQ_GEMM_NEON_MAX_VECS = 4 }; /* NR <= 16 */

/* Per-column values of one panel, loaded once and used for every row of the tile. */
typedef struct qeq_gemm_cols_neon {
  int32x4_t col_term[QEQ_GEMM_NEON_MAX_VECS]; /* acc_init - za * w_sum, wrapping */
  int32x4_t w_zero_point[QEQ_GEMM_NEON_MAX_VECS];
  int32x4_t bias_q[QEQ_GEMM_NEON_MAX_VECS];
  float32x4_t bias_f[QEQ_GEMM_NEON_MAX_VECS];
  float32x4_t multiplier[QEQ_GEMM_NEON_MAX_VECS]; /* Q8 */
  float32x4_t scale[QEQ_GEMM_NEON_MAX_VECS];      /* F32: a_scale * multiplier, as the scalar */
} qeq_gemm_cols_neon;

static inline void qeq_gemm_load_cols_neon(const void* panel, size_t nvec,
                                           const qeq_gemm_ukernel_params* params,
                                           qeq_gemm_cols_neon* cols) {
  const size_t nr = 4 * nvec;
  const int32_t* h = (const int32_t*)panel;
  const float* hf = (const float*)panel;
  const int32x4_t za = vdupq_n_s32(params->a_zero_point);
  const float32x4_t a_scale = vdupq_n_f32(params->a_scale);
  for (size_t v = 0; v < nvec; v++) {
    const int32x4_t acc_init = vld1q_s32(h + QEQ_GEMM_HEADER_ACC_INIT * nr + 4 * v);
    const int32x4_t w_sum = vld1q_s32(h + QEQ_GEMM_HEADER_W_SUM * nr + 4 * v);
    cols->col_term[v] = vmlsq_s32(acc_init, za, w_sum); /* integer: wraps, never fused-rounds */
    cols->w_zero_point[v] = vld1q_s32(h + QEQ_GEMM_HEADER_W_ZERO_POINT * nr + 4 * v);
    cols->bias_q[v] = vld1q_s32(h + QEQ_GEMM_HEADER_BIAS_Q * nr + 4 * v);
    cols->bias_f[v] = vld1q_f32(hf + QEQ_GEMM_HEADER_BIAS_F * nr + 4 * v);
    cols->multiplier[v] = vld1q_f32(hf + QEQ_GEMM_HEADER_MULTIPLIER * nr + 4 * v);
    cols->scale[v] = vmulq_f32(a_scale, cols->multiplier[v]);
  }
}

/* Corrects dot[0..nvec) of one row (row_sum 0 when the kernel has no row sums: zw * 0 = 0)
 * and stores its first nc columns (nc <= 4 * nvec) at c_row in params->store's format. */
static inline void qeq_gemm_store_row_neon(int32x4_t* dot, size_t nvec, int32_t row_sum,
                                           const qeq_gemm_cols_neon* cols,
                                           const qeq_gemm_ukernel_params* params, size_t nc,
                                           void* c_row) {
  const int32x4_t rs = vdupq_n_s32(row_sum);
  for (size_t v = 0; v < nvec; v++) {
    dot[v] = vmlsq_s32(vaddq_s32(dot[v], cols->col_term[v]), cols->w_zero_point[v], rs);
  }
  const int full = nc == 4 * nvec;
  if (params->store == QEQ_GEMM_STORE_S32) {
    int32_t tmp[4 * QEQ_GEMM_NEON_MAX_VECS];
    int32_t* out = full ? (int32_t*)c_row : tmp;
    for (size_t v = 0; v < nvec; v++) vst1q_s32(out + 4 * v, dot[v]);
    if (!full) memcpy(c_row, tmp, nc * sizeof(int32_t));
  } else if (params->store == QEQ_GEMM_STORE_F32) {
    const float32x4_t lo = vdupq_n_f32(params->out_lo);
    const float32x4_t hi = vdupq_n_f32(params->out_hi);
    float tmp[4 * QEQ_GEMM_NEON_MAX_VECS];
    float* out = full ? (float*)c_row : tmp;
    for (size_t v = 0; v < nvec; v++) {
      /* Multiply, then add: never a fused multiply-add, so every ISA rounds twice. */
      const float32x4_t product = vmulq_f32(vcvtq_f32_s32(dot[v]), cols->scale[v]);
      float32x4_t x = vaddq_f32(product, cols->bias_f[v]);
      /* Compare and select, not FMAX/FMIN (max(-0.0, +0.0) is +0.0 there, and NaN handling
       * differs): NaN and -0.0 pass, as the scalar comparisons let them. */
      x = vbslq_f32(vcltq_f32(x, lo), lo, x);
      x = vbslq_f32(vcgtq_f32(x, hi), hi, x);
      vst1q_f32(out + 4 * v, x);
    }
    if (!full) memcpy(c_row, tmp, nc * sizeof(float));
  } else {
    const float32x4_t lo = vdupq_n_f32(params->out_lo);
    const float32x4_t hi = vdupq_n_f32(params->out_hi);
    const float32x4_t offset = vdupq_n_f32(params->out_offset);
    const int32x4_t zp = vdupq_n_s32(params->out_zero_point);
    uint8_t tmp[4 * QEQ_GEMM_NEON_MAX_VECS];
    uint8_t* out = full ? (uint8_t*)c_row : tmp;
    for (size_t v = 0; v < nvec; v += 2) {
      int32x4_t q[2];
      for (size_t h = 0; h < 2; h++) {
        const int32x4_t with_bias = vaddq_s32(dot[v + h], cols->bias_q[v + h]);
        const float32x4_t sum = vaddq_f32(vcvtq_f32_s32(with_bias), cols->bias_f[v + h]);
        float32x4_t x = vaddq_f32(vmulq_f32(sum, cols->multiplier[v + h]), offset);
        x = vminq_f32(vmaxq_f32(x, lo), hi);
        /* FRINTN always rounds half to even whatever FPCR says; the scalar reference uses the
         * current mode, nearest even by default. Converting the integral result is exact. */
        q[h] = vaddq_s32(vcvtq_s32_f32(vrndnq_f32(x)), zp);
      }
      /* Low byte of each int32, as the contract stores it. */
      const int16x8_t q16 = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
      vst1_u8(out + 4 * v, vreinterpret_u8_s8(vmovn_s16(q16)));
    }
    if (!full) memcpy(c_row, tmp, nc);
  }
}

#endif /* QEQ_KERNELS_COMMON_GEMM_EPILOGUE_NEON_H */
