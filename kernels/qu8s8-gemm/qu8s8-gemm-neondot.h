/* The NEON dot-product qu8s8 GEMM, 4x16c4, shared by the GEMM (qu8s8-gemm-4x16c4-neondot.c)
 * and the indirect GEMM (kernels/qu8s8-igemm/qu8s8-igemm-4x16c4-neondot.c). SDOT multiplies
 * signed bytes, so activations become int8 as a ^ 0x80 = a - 128 and packing adds
 * 128 * sum_k w[j][k] to acc_init (the activation offset of qeq_gemm_activation_offset). Each
 * SDOT lane adds four exact products. A block is 8 k: 16 accumulators + 4 activation halves
 * + 8 weight registers fit the 32 q registers (with 16 k per block GCC 12 hoists all 16 weight
 * loads and spills accumulators).
 *
 * The accumulators are named variables, not arrays, which keeps them in registers at any
 * optimisation level, and lanes must be constants: hence macros, over the names
 *   vacc<i>x<q> (int32x4_t, i < 4, q < 4)  row i's columns 4q .. 4q + 3;
 *   va<i> (int8x8_t)                        row i's 8 activations, as a - 128;
 *   vsign (uint8x8_t)                       0x80 in every lane;
 *   wk (const int8_t*)                      the panel's next weights, advanced as read;
 * which QEQ_NEONDOT4X16_ACCUMULATORS declares. A kernel runs QEQ_NEONDOT4X16_BLOCK per 8 k of
 * every row, then, for a K tail of k_rem (1..7) bytes, loads them with
 * QEQ_NEONDOT4X16_LOAD_A (zero above: it becomes -128 but meets the packing's zero weights)
 * and runs QEQ_NEONDOT4X16_TAIL(k_rem), which runs only the groups the packed weights hold;
 * QEQ_NEONDOT4X16_STORE stores the tile. */
#ifndef QEQ_KERNELS_QU8S8_GEMM_NEONDOT_H
#define QEQ_KERNELS_QU8S8_GEMM_NEONDOT_H

#include <stdint.h>

#include "kernels/common/gemm-epilogue-neon.h"
#include "kernels/common/neon.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads-neon.h"
#include "kernels/ukernels.h"

enum { QEQ_NEONDOT4X16_MR = 4, QEQ_NEONDOT4X16_NR = 16, QEQ_NEONDOT4X16_KR = 4 };

#define QEQ_NEONDOT4X16_ACCUMULATORS                                                           \
  int32x4_t vacc0x0 = vdupq_n_s32(0), vacc0x1 = vacc0x0, vacc0x2 = vacc0x0, vacc0x3 = vacc0x0; \
  int32x4_t vacc1x0 = vacc0x0, vacc1x1 = vacc0x0, vacc1x2 = vacc0x0, vacc1x3 = vacc0x0;        \
  int32x4_t vacc2x0 = vacc0x0, vacc2x1 = vacc0x0, vacc2x2 = vacc0x0, vacc2x3 = vacc0x0;        \
  int32x4_t vacc3x0 = vacc0x0, vacc3x1 = vacc0x0, vacc3x2 = vacc0x0, vacc3x3 = vacc0x0;        \
  int8x8_t va0, va1, va2, va3

/* Row i of one group of 4 k: the packed weights of columns 4q..4q+3 (vw<q>) dotted with
 * group `g` of row i's 8 activation bytes. */
#define QEQ_NEONDOT4X16_ROW(i, g)                           \
  vacc##i##x0 = vdotq_lane_s32(vacc##i##x0, vw0, va##i, g); \
  vacc##i##x1 = vdotq_lane_s32(vacc##i##x1, vw1, va##i, g); \
  vacc##i##x2 = vdotq_lane_s32(vacc##i##x2, vw2, va##i, g); \
  vacc##i##x3 = vdotq_lane_s32(vacc##i##x3, vw3, va##i, g)
/* One group of 4 k: 64 bytes of weights (16 columns x 4 k). */
#define QEQ_NEONDOT4X16_GROUP(g)                   \
  do {                                             \
    const int8x16_t vw0 = vld1q_s8(wk);            \
    const int8x16_t vw1 = vld1q_s8(wk + 16);       \
    const int8x16_t vw2 = vld1q_s8(wk + 32);       \
    const int8x16_t vw3 = vld1q_s8(wk + 48);       \
    wk += QEQ_NEONDOT4X16_NR * QEQ_NEONDOT4X16_KR; \
    QEQ_NEONDOT4X16_ROW(0, g);                     \
    QEQ_NEONDOT4X16_ROW(1, g);                     \
    QEQ_NEONDOT4X16_ROW(2, g);                     \
    QEQ_NEONDOT4X16_ROW(3, g);                     \
  } while (0)
/* Row i's activations from the 8 bytes v, as int8 a - 128. */
#define QEQ_NEONDOT4X16_LOAD_A(i, v) va##i = vreinterpret_s8_u8(veor_u8(v, vsign))

/* 8 k of every row, the activations of row i at p<i>. */
#define QEQ_NEONDOT4X16_BLOCK(p0, p1, p2, p3) \
  do {                                        \
    QEQ_NEONDOT4X16_LOAD_A(0, vld1_u8(p0));   \
    QEQ_NEONDOT4X16_LOAD_A(1, vld1_u8(p1));   \
    QEQ_NEONDOT4X16_LOAD_A(2, vld1_u8(p2));   \
    QEQ_NEONDOT4X16_LOAD_A(3, vld1_u8(p3));   \
    QEQ_NEONDOT4X16_GROUP(0);                 \
    QEQ_NEONDOT4X16_GROUP(1);                 \
  } while (0)

/* A K tail of k_rem (1..7) bytes on the loaded activations: the groups the weights hold. */
#define QEQ_NEONDOT4X16_TAIL(k_rem)            \
  do {                                         \
    QEQ_NEONDOT4X16_GROUP(0);                  \
    if ((k_rem) > 4) QEQ_NEONDOT4X16_GROUP(1); \
  } while (0)

/* The epilogue of rows i < mr, columns j0 .. j0 + 15 (those below nc) of the panel; row_sum[i]
 * the rows' sums (0 without weight zero points). */
#define QEQ_NEONDOT4X16_STORE(panel, j0, nc, mr, row_sum, c, c_stride, params)                    \
  do {                                                                                            \
    int32x4_t acc[QEQ_NEONDOT4X16_MR][4] = {{vacc0x0, vacc0x1, vacc0x2, vacc0x3},                 \
                                            {vacc1x0, vacc1x1, vacc1x2, vacc1x3},                 \
                                            {vacc2x0, vacc2x1, vacc2x2, vacc2x3},                 \
                                            {vacc3x0, vacc3x1, vacc3x2, vacc3x3}};                \
    qeq_gemm_cols_neon cols;                                                                      \
    qeq_gemm_load_cols_neon(panel, QEQ_NEONDOT4X16_NR / 4, params, &cols);                        \
    const size_t ncols = (nc) - (j0) < QEQ_NEONDOT4X16_NR ? (nc) - (j0) : QEQ_NEONDOT4X16_NR;     \
    const size_t elem = (params)->store == QEQ_GEMM_STORE_Q8 ? 1 : 4;                             \
    for (size_t i = 0; i < (mr); i++) {                                                           \
      qeq_gemm_store_row_neon(acc[i], QEQ_NEONDOT4X16_NR / 4, (row_sum)[i], &cols, params, ncols, \
                              (uint8_t*)(c) + i * (c_stride) + (j0)*elem);                        \
    }                                                                                             \
  } while (0)

#endif /* QEQ_KERNELS_QU8S8_GEMM_NEONDOT_H */
