/* qu8s8 GEMM, NEON, 8x8c1, QNNPACK style: activations widened u8 -> u16 (0..255, read as s16),
 * weights s8 -> s16, and vmlal_laneq_s16 multiply-accumulates into int32: every product and
 * sum is exact. 16 accumulators + 8 activation rows + the weights fit the 32 q registers. */
#include <stdint.h>
#include <string.h>

#include "kernels/common/gemm-epilogue-neon.h"
#include "kernels/common/neon.h"
#include "kernels/ukernels.h"

enum { MR = 8, NR = 8, KR = 1 };

/* Row i of one k step: the widened weights w[k][0..8) (vb) times lane `lane` of row i's
 * activations. Named accumulators rather than arrays keep them in registers at any
 * optimisation level; lanes must be constants, hence macros. */
#define QEQ_ROW(i, lane)                                                     \
  vacc##i##lo = vmlal_laneq_s16(vacc##i##lo, vget_low_s16(vb), va##i, lane); \
  vacc##i##hi = vmlal_high_laneq_s16(vacc##i##hi, vb, va##i, lane)
#define QEQ_MUL(w16, lane)    \
  do {                        \
    const int16x8_t vb = w16; \
    QEQ_ROW(0, lane);         \
    QEQ_ROW(1, lane);         \
    QEQ_ROW(2, lane);         \
    QEQ_ROW(3, lane);         \
    QEQ_ROW(4, lane);         \
    QEQ_ROW(5, lane);         \
    QEQ_ROW(6, lane);         \
    QEQ_ROW(7, lane);         \
  } while (0)
/* One k step of the tail: one 8-byte weight row. */
#define QEQ_STEP(lane)                    \
  do {                                    \
    QEQ_MUL(vmovl_s8(vld1_s8(wk)), lane); \
    wk += NR;                             \
  } while (0)
/* Activations of row i: 8 bytes from p, widened; 0..255 reads the same as s16. */
#define QEQ_LOAD_A(i, p) va##i = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(p)))

void qeq_qu8s8_gemm_ukernel_8x8c1__neon(size_t mr, size_t nc, size_t k, const uint8_t* a,
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
  const uint8_t* a4 = a_row[4];
  const uint8_t* a5 = a_row[5];
  const uint8_t* a6 = a_row[6];
  const uint8_t* a7 = a_row[7];
  /* The K tail of every row, copied once for all panels: only the bytes that exist. */
  const size_t k_main = k / 8 * 8;
  uint8_t buf[MR][8] = {{0}};
  for (size_t i = 0; i < MR; i++) memcpy(buf[i], a_row[i] + k_main, k - k_main);
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, KR);
  const size_t elem = params->store == QEQ_GEMM_STORE_Q8 ? 1 : 4;
  const uint8_t* panel = (const uint8_t*)w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    int32x4_t vacc0lo = vdupq_n_s32(0), vacc0hi = vacc0lo, vacc1lo = vacc0lo, vacc1hi = vacc0lo;
    int32x4_t vacc2lo = vacc0lo, vacc2hi = vacc0lo, vacc3lo = vacc0lo, vacc3hi = vacc0lo;
    int32x4_t vacc4lo = vacc0lo, vacc4hi = vacc0lo, vacc5lo = vacc0lo, vacc5hi = vacc0lo;
    int32x4_t vacc6lo = vacc0lo, vacc6hi = vacc0lo, vacc7lo = vacc0lo, vacc7hi = vacc0lo;
    int16x8_t va0, va1, va2, va3, va4, va5, va6, va7;
    for (size_t kk = 0; kk < k_main; kk += 8) {
      QEQ_LOAD_A(0, a0 + kk);
      QEQ_LOAD_A(1, a1 + kk);
      QEQ_LOAD_A(2, a2 + kk);
      QEQ_LOAD_A(3, a3 + kk);
      QEQ_LOAD_A(4, a4 + kk);
      QEQ_LOAD_A(5, a5 + kk);
      QEQ_LOAD_A(6, a6 + kk);
      QEQ_LOAD_A(7, a7 + kk);
      /* The 8 weight rows in 4 registers: GCC 12 otherwise hoists 8 loads and spills them. */
      const int8x16_t vw01 = vld1q_s8(wk), vw23 = vld1q_s8(wk + 16);
      const int8x16_t vw45 = vld1q_s8(wk + 32), vw67 = vld1q_s8(wk + 48);
      wk += 64;
      QEQ_MUL(vmovl_s8(vget_low_s8(vw01)), 0);
      QEQ_MUL(vmovl_high_s8(vw01), 1);
      QEQ_MUL(vmovl_s8(vget_low_s8(vw23)), 2);
      QEQ_MUL(vmovl_high_s8(vw23), 3);
      QEQ_MUL(vmovl_s8(vget_low_s8(vw45)), 4);
      QEQ_MUL(vmovl_high_s8(vw45), 5);
      QEQ_MUL(vmovl_s8(vget_low_s8(vw67)), 6);
      QEQ_MUL(vmovl_high_s8(vw67), 7);
    }
    const size_t k_rem = k - k_main;
    if (k_rem != 0) {
      /* Only k_rem weight rows: with KR = 1 the packed weights have no padding in k. */
      QEQ_LOAD_A(0, buf[0]);
      QEQ_LOAD_A(1, buf[1]);
      QEQ_LOAD_A(2, buf[2]);
      QEQ_LOAD_A(3, buf[3]);
      QEQ_LOAD_A(4, buf[4]);
      QEQ_LOAD_A(5, buf[5]);
      QEQ_LOAD_A(6, buf[6]);
      QEQ_LOAD_A(7, buf[7]);
      QEQ_STEP(0);
      if (k_rem > 1) QEQ_STEP(1);
      if (k_rem > 2) QEQ_STEP(2);
      if (k_rem > 3) QEQ_STEP(3);
      if (k_rem > 4) QEQ_STEP(4);
      if (k_rem > 5) QEQ_STEP(5);
      if (k_rem > 6) QEQ_STEP(6);
    }

    int32x4_t acc[MR][2] = {{vacc0lo, vacc0hi}, {vacc1lo, vacc1hi}, {vacc2lo, vacc2hi},
                            {vacc3lo, vacc3hi}, {vacc4lo, vacc4hi}, {vacc5lo, vacc5hi},
                            {vacc6lo, vacc6hi}, {vacc7lo, vacc7hi}};
    qeq_gemm_cols_neon cols;
    qeq_gemm_load_cols_neon(panel, NR / 4, params, &cols);
    const size_t ncols = nc - j0 < NR ? nc - j0 : NR;
    for (size_t i = 0; i < mr; i++) {
      qeq_gemm_store_row_neon(acc[i], NR / 4, row_sum[i], &cols, params, ncols,
                              (uint8_t*)c + i * c_stride + j0 * elem);
    }
  }
}
