/* The NEON qu8s8 GEMM, 8x8c1, QNNPACK style, shared by the GEMM (qu8s8-gemm-8x8c1-neon.c) and
 * the indirect GEMM (kernels/qu8s8-igemm/qu8s8-igemm-8x8c1-neon.c): activations widened
 * u8 -> u16 (0..255, read as s16), weights s8 -> s16, and vmlal_laneq_s16 multiply-accumulates
 * into int32: every product and sum is exact. 16 accumulators + 8 activation rows + the
 * weights fit the 32 q registers.
 *
 * The accumulators are named variables, not arrays, which keeps them in registers at any
 * optimisation level, and lanes must be constants: hence macros, over the names
 *   vacc<i>lo, vacc<i>hi (int32x4_t, i < 8)  row i's columns 0..3 and 4..7;
 *   va<i> (int16x8_t)                         row i's 8 widened activations;
 *   wk (const int8_t*)                        the panel's next weights, advanced as read;
 * which QEQ_NEON8X8_ACCUMULATORS declares. A kernel runs QEQ_NEON8X8_BLOCK per 8 k of
 * every row, then, for a K tail of k_rem (1..7) bytes, loads them with QEQ_NEON8X8_LOAD_A
 * (zero above) and runs QEQ_NEON8X8_TAIL(k_rem); QEQ_NEON8X8_STORE stores the tile. */
#ifndef QEQ_KERNELS_QU8S8_GEMM_NEON_H
#define QEQ_KERNELS_QU8S8_GEMM_NEON_H

#include <stdint.h>

#include "kernels/common/gemm-epilogue-neon.h"
#include "kernels/common/neon.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads-neon.h"
#include "kernels/ukernels.h"

enum { QEQ_NEON8X8_MR = 8, QEQ_NEON8X8_NR = 8, QEQ_NEON8X8_KR = 1 };

#define QEQ_NEON8X8_ACCUMULATORS                                                               \
  int32x4_t vacc0lo = vdupq_n_s32(0), vacc0hi = vacc0lo, vacc1lo = vacc0lo, vacc1hi = vacc0lo; \
  int32x4_t vacc2lo = vacc0lo, vacc2hi = vacc0lo, vacc3lo = vacc0lo, vacc3hi = vacc0lo;        \
  int32x4_t vacc4lo = vacc0lo, vacc4hi = vacc0lo, vacc5lo = vacc0lo, vacc5hi = vacc0lo;        \
  int32x4_t vacc6lo = vacc0lo, vacc6hi = vacc0lo, vacc7lo = vacc0lo, vacc7hi = vacc0lo;        \
  int16x8_t va0, va1, va2, va3, va4, va5, va6, va7

/* Row i of one k step: the widened weights w[k][0..8) (vb) times lane `lane` of row i's
 * activations. */
#define QEQ_NEON8X8_ROW(i, lane)                                             \
  vacc##i##lo = vmlal_laneq_s16(vacc##i##lo, vget_low_s16(vb), va##i, lane); \
  vacc##i##hi = vmlal_high_laneq_s16(vacc##i##hi, vb, va##i, lane)
#define QEQ_NEON8X8_MUL(w16, lane) \
  do {                             \
    const int16x8_t vb = w16;      \
    QEQ_NEON8X8_ROW(0, lane);      \
    QEQ_NEON8X8_ROW(1, lane);      \
    QEQ_NEON8X8_ROW(2, lane);      \
    QEQ_NEON8X8_ROW(3, lane);      \
    QEQ_NEON8X8_ROW(4, lane);      \
    QEQ_NEON8X8_ROW(5, lane);      \
    QEQ_NEON8X8_ROW(6, lane);      \
    QEQ_NEON8X8_ROW(7, lane);      \
  } while (0)
/* One k step of the tail: one 8-byte weight row. */
#define QEQ_NEON8X8_STEP(lane)                    \
  do {                                            \
    QEQ_NEON8X8_MUL(vmovl_s8(vld1_s8(wk)), lane); \
    wk += QEQ_NEON8X8_NR;                         \
  } while (0)
/* Row i's activations from the 8 bytes v; 0..255 reads the same as s16. */
#define QEQ_NEON8X8_LOAD_A(i, v) va##i = vreinterpretq_s16_u16(vmovl_u8(v))

/* 8 k of every row, the activations of row i at p<i>. */
#define QEQ_NEON8X8_BLOCK(p0, p1, p2, p3, p4, p5, p6, p7)                                    \
  do {                                                                                       \
    QEQ_NEON8X8_LOAD_A(0, vld1_u8(p0));                                                      \
    QEQ_NEON8X8_LOAD_A(1, vld1_u8(p1));                                                      \
    QEQ_NEON8X8_LOAD_A(2, vld1_u8(p2));                                                      \
    QEQ_NEON8X8_LOAD_A(3, vld1_u8(p3));                                                      \
    QEQ_NEON8X8_LOAD_A(4, vld1_u8(p4));                                                      \
    QEQ_NEON8X8_LOAD_A(5, vld1_u8(p5));                                                      \
    QEQ_NEON8X8_LOAD_A(6, vld1_u8(p6));                                                      \
    QEQ_NEON8X8_LOAD_A(7, vld1_u8(p7));                                                      \
    /* The 8 weight rows in 4 registers: GCC 12 otherwise hoists 8 loads and spills them. */ \
    const int8x16_t vw01 = vld1q_s8(wk), vw23 = vld1q_s8(wk + 16);                           \
    const int8x16_t vw45 = vld1q_s8(wk + 32), vw67 = vld1q_s8(wk + 48);                      \
    wk += 64;                                                                                \
    QEQ_NEON8X8_MUL(vmovl_s8(vget_low_s8(vw01)), 0);                                         \
    QEQ_NEON8X8_MUL(vmovl_high_s8(vw01), 1);                                                 \
    QEQ_NEON8X8_MUL(vmovl_s8(vget_low_s8(vw23)), 2);                                         \
    QEQ_NEON8X8_MUL(vmovl_high_s8(vw23), 3);                                                 \
    QEQ_NEON8X8_MUL(vmovl_s8(vget_low_s8(vw45)), 4);                                         \
    QEQ_NEON8X8_MUL(vmovl_high_s8(vw45), 5);                                                 \
    QEQ_NEON8X8_MUL(vmovl_s8(vget_low_s8(vw67)), 6);                                         \
    QEQ_NEON8X8_MUL(vmovl_high_s8(vw67), 7);                                                 \
  } while (0)

/* The k_rem (1..7) steps of a K tail on the loaded activations: only k_rem weight rows, as
 * with KR = 1 the packed weights have no padding in k. */
#define QEQ_NEON8X8_TAIL(k_rem)           \
  do {                                    \
    QEQ_NEON8X8_STEP(0);                  \
    if ((k_rem) > 1) QEQ_NEON8X8_STEP(1); \
    if ((k_rem) > 2) QEQ_NEON8X8_STEP(2); \
    if ((k_rem) > 3) QEQ_NEON8X8_STEP(3); \
    if ((k_rem) > 4) QEQ_NEON8X8_STEP(4); \
    if ((k_rem) > 5) QEQ_NEON8X8_STEP(5); \
    if ((k_rem) > 6) QEQ_NEON8X8_STEP(6); \
  } while (0)

/* The epilogue of rows i < mr, columns j0 .. j0 + 7 (those below nc) of the panel; row_sum[i]
 * the rows' sums (0 without weight zero points). */
#define QEQ_NEON8X8_STORE(panel, j0, nc, mr, row_sum, c, c_stride, params)                    \
  do {                                                                                        \
    int32x4_t acc[QEQ_NEON8X8_MR][2] = {                                                      \
        {vacc0lo, vacc0hi}, {vacc1lo, vacc1hi}, {vacc2lo, vacc2hi}, {vacc3lo, vacc3hi},       \
        {vacc4lo, vacc4hi}, {vacc5lo, vacc5hi}, {vacc6lo, vacc6hi}, {vacc7lo, vacc7hi}};      \
    qeq_gemm_cols_neon cols;                                                                  \
    qeq_gemm_load_cols_neon(panel, QEQ_NEON8X8_NR / 4, params, &cols);                        \
    const size_t ncols = (nc) - (j0) < QEQ_NEON8X8_NR ? (nc) - (j0) : QEQ_NEON8X8_NR;         \
    const size_t elem = (params)->store == QEQ_GEMM_STORE_Q8 ? 1 : 4;                         \
    for (size_t i = 0; i < (mr); i++) {                                                       \
      qeq_gemm_store_row_neon(acc[i], QEQ_NEON8X8_NR / 4, (row_sum)[i], &cols, params, ncols, \
                              (uint8_t*)(c) + i * (c_stride) + (j0)*elem);                    \
    }                                                                                         \
  } while (0)

#endif /* QEQ_KERNELS_QU8S8_GEMM_NEON_H */
