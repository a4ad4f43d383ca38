/* qu8s8 GEMM, NEON dot product, 4x16c4: SDOT multiplies signed bytes, so activations become
 * int8 as a ^ 0x80 = a - 128 and packing adds 128 * sum_k w[j][k] to acc_init (the activation
 * offset of qeq_gemm_activation_offset). Each SDOT lane adds four exact products. A step
 * is 8 k: 16 accumulators + 4 activation halves + 8 weight registers fit the 32 q registers
 * (with 16 k per step GCC 12 hoists all 16 weight loads and spills accumulators). */
#include <stdint.h>
#include <string.h>

#include "kernels/common/gemm-epilogue-neon.h"
#include "kernels/common/neon.h"
#include "kernels/ukernels.h"

enum { MR = 4, NR = 16, KR = 4 };

/* Row i of one group of 4 k: the packed weights of columns 4q..4q+3 (vw<q>) dotted with
 * group `g` of row i's 8 activation bytes. Named accumulators keep them in registers at any
 * optimisation level; lanes must be constants, hence macros. */
#define QEQ_ROW(i, g)                                       \
  vacc##i##x0 = vdotq_lane_s32(vacc##i##x0, vw0, va##i, g); \
  vacc##i##x1 = vdotq_lane_s32(vacc##i##x1, vw1, va##i, g); \
  vacc##i##x2 = vdotq_lane_s32(vacc##i##x2, vw2, va##i, g); \
  vacc##i##x3 = vdotq_lane_s32(vacc##i##x3, vw3, va##i, g)
/* One group of 4 k: 64 bytes of weights (16 columns x 4 k). */
#define QEQ_GROUP(g)                         \
  do {                                       \
    const int8x16_t vw0 = vld1q_s8(wk);      \
    const int8x16_t vw1 = vld1q_s8(wk + 16); \
    const int8x16_t vw2 = vld1q_s8(wk + 32); \
    const int8x16_t vw3 = vld1q_s8(wk + 48); \
    wk += NR * KR;                           \
    QEQ_ROW(0, g);                           \
    QEQ_ROW(1, g);                           \
    QEQ_ROW(2, g);                           \
    QEQ_ROW(3, g);                           \
  } while (0)
/* 8 activations of row i from p, as int8 a - 128. */
#define QEQ_LOAD_A(i, p) va##i = vreinterpret_s8_u8(veor_u8(vld1_u8(p), vsign))

void qeq_qu8s8_gemm_ukernel_4x16c4__neondot(size_t mr, size_t nc, size_t k, const uint8_t* a,
                                            size_t a_stride, const int32_t* row_sums, const void* w,
                                            void* c, size_t c_stride,
                                            const qeq_gemm_ukernel_params* params) {
  /* Rows past mr repeat row mr - 1: nothing outside the tile is read, and their results,
   * identical to row mr - 1's, are never stored. */
  const uint8_t* a_row[MR];
  int32_t row_sum[MR];
  for (size_t i = 0; i < MR; i++) {
    const size_t r = i < mr ? i : mr - 1;
    a_row[i] = a + r * a_stride;
    row_sum[i] = row_sums != NULL ? row_sums[r] : 0;
  }
  const uint8_t* a0 = a_row[0];
  const uint8_t* a1 = a_row[1];
  const uint8_t* a2 = a_row[2];
  const uint8_t* a3 = a_row[3];
  const uint8x8_t vsign = vdup_n_u8(0x80);
  /* The K tail of every row, copied once for all panels: only the bytes that exist. */
  const size_t k_main = k / 8 * 8;
  uint8_t buf[MR][8] = {{0}};
  for (size_t i = 0; i < MR; i++) memcpy(buf[i], a_row[i] + k_main, k - k_main);
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, KR);
  const size_t elem = params->store == QEQ_GEMM_STORE_Q8 ? 1 : 4;
  const uint8_t* panel = (const uint8_t*)w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    int32x4_t vacc0x0 = vdupq_n_s32(0), vacc0x1 = vacc0x0, vacc0x2 = vacc0x0, vacc0x3 = vacc0x0;
    int32x4_t vacc1x0 = vacc0x0, vacc1x1 = vacc0x0, vacc1x2 = vacc0x0, vacc1x3 = vacc0x0;
    int32x4_t vacc2x0 = vacc0x0, vacc2x1 = vacc0x0, vacc2x2 = vacc0x0, vacc2x3 = vacc0x0;
    int32x4_t vacc3x0 = vacc0x0, vacc3x1 = vacc0x0, vacc3x2 = vacc0x0, vacc3x3 = vacc0x0;
    int8x8_t va0, va1, va2, va3;
    for (size_t kk = 0; kk < k_main; kk += 8) {
      QEQ_LOAD_A(0, a0 + kk);
      QEQ_LOAD_A(1, a1 + kk);
      QEQ_LOAD_A(2, a2 + kk);
      QEQ_LOAD_A(3, a3 + kk);
      QEQ_GROUP(0);
      QEQ_GROUP(1);
    }
    const size_t k_rem = k - k_main;
    if (k_rem != 0) {
      /* The zero fill becomes -128 but meets the packing's zero weights; only the groups
       * the packed weights hold are run. */
      QEQ_LOAD_A(0, buf[0]);
      QEQ_LOAD_A(1, buf[1]);
      QEQ_LOAD_A(2, buf[2]);
      QEQ_LOAD_A(3, buf[3]);
      QEQ_GROUP(0);
      if (k_rem > 4) QEQ_GROUP(1);
    }

    int32x4_t acc[MR][4] = {{vacc0x0, vacc0x1, vacc0x2, vacc0x3},
                            {vacc1x0, vacc1x1, vacc1x2, vacc1x3},
                            {vacc2x0, vacc2x1, vacc2x2, vacc2x3},
                            {vacc3x0, vacc3x1, vacc3x2, vacc3x3}};
    qeq_gemm_cols_neon cols;
    qeq_gemm_load_cols_neon(panel, NR / 4, params, &cols);
    const size_t ncols = nc - j0 < NR ? nc - j0 : NR;
    for (size_t i = 0; i < mr; i++) {
      qeq_gemm_store_row_neon(acc[i], NR / 4, row_sum[i], &cols, params, ncols,
                              (uint8_t*)c + i * c_stride + j0 * elem);
    }
  }
}
