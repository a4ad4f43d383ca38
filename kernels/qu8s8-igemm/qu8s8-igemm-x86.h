/* The x86 indirect qu8s8 GEMM (kernels/ukernels.h, qu8s8_igemm), one template over the GEMM
 * templates' steps: a tile file includes its ISA's GEMM template (which defines QEQ_GEMM_MR,
 * QEQ_GEMM_NV and the step), then defines
 *   QEQ_IGEMM_NR, QEQ_IGEMM_KR   the tile's columns and k group of the packed layout;
 *   QEQ_IGEMM_ACC                 the accumulator vector type (acc[MR][NV]);
 *   QEQ_IGEMM_STEP(rows, first, acc, a4, w0, w1)
 *                                 one group of 4 k: acc (+)= a4[i] . weights, = when first,
 *                                 with w0 the group's weights and, for KR = 2, w1 those of its
 *                                 second pair (a readable stand-in when that pair is absent:
 *                                 its activations are zero);
 *   QEQ_IGEMM_EPILOGUE, QEQ_IGEMM_SET1   the GEMM's epilogue and a broadcast of int32;
 * and includes this, then defines its kernel with qeq_igemm_x86_tile. Each tap's kc / 4
 * groups are steps on the 4 bytes each row pointer holds there, then, when has_tail, its last
 * kc % 4 bytes are one more (a constant: neither instantiation branches in the tap loop,
 * which would make GCC 12 copy accumulators; see the VNNI template). */
#include <stddef.h>
#include <stdint.h>

#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/ukernels.h"

#if !defined(QEQ_IGEMM_NR) || !defined(QEQ_IGEMM_KR) || !defined(QEQ_IGEMM_ACC) || \
    !defined(QEQ_IGEMM_STEP) || !defined(QEQ_IGEMM_EPILOGUE) || !defined(QEQ_IGEMM_SET1)
#error "define the QEQ_IGEMM_ parameters before including qu8s8-igemm-x86.h"
#endif

static inline __attribute__((always_inline)) void qeq_igemm_x86_dot(
    const size_t rows, const int has_tail, size_t kc, size_t taps, const uint8_t* const* a,
    size_t a_offset, const int8_t* panel, QEQ_IGEMM_ACC acc[QEQ_GEMM_MR][QEQ_GEMM_NV]) {
  enum { MR = QEQ_GEMM_MR, NR = QEQ_IGEMM_NR };
  static const int32_t zeros[MR] = {0};
  const size_t k_groups = kc / 4;
  /* The weight bytes of a tap's tail: 4 k for KR = 4, one or two pairs for KR = 2. */
  const size_t tail_k = qeq_igemm_tap_bytes(kc, QEQ_IGEMM_KR) - 4 * k_groups;
  const int8_t* wk = panel + qeq_gemm_panel_header_bytes(NR);
  /* Accumulators start as a product: zero activations times the panel header. */
  QEQ_IGEMM_STEP(rows, 1, acc, zeros, panel, panel);
  for (size_t t = 0; t < taps; t++, a += rows) {
    const uint8_t* row[MR];
    qeq_gemm_tap_rows(rows, a, a_offset, row);
    for (size_t g = 0; g < k_groups; g++, wk += NR * 4) {
      int32_t a4[MR];
      qeq_gemm_load_rows_a4(rows, row, 4 * g, a4);
      QEQ_IGEMM_STEP(rows, 0, acc, a4, wk, wk + 2 * NR);
    }
    if (has_tail) {
      int32_t a4[MR];
      qeq_gemm_load_rows_tail(rows, row, 4 * k_groups, kc % 4, a4);
      QEQ_IGEMM_STEP(rows, 0, acc, a4, wk, tail_k == 4 ? wk + 2 * NR : panel);
      wk += tail_k * NR;
    }
  }
}

static inline __attribute__((always_inline)) void qeq_igemm_x86_rows(
    const size_t rows, size_t nc, size_t kc, size_t taps, const uint8_t* const* a, size_t a_offset,
    const uint8_t* panel, uint8_t* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  enum { MR = QEQ_GEMM_MR, NV = QEQ_GEMM_NV, NR = QEQ_IGEMM_NR, KR = QEQ_IGEMM_KR };
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps * qeq_igemm_tap_bytes(kc, KR), NR, KR);
  const QEQ_IGEMM_ACC za = QEQ_IGEMM_SET1(params->a_zero_point);
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    QEQ_IGEMM_ACC acc[MR][NV];
    if (kc % 4 != 0) {
      qeq_igemm_x86_dot(rows, 1, kc, taps, a, a_offset, (const int8_t*)panel, acc);
    } else {
      qeq_igemm_x86_dot(rows, 0, kc, taps, a, a_offset, (const int8_t*)panel, acc);
    }
    QEQ_IGEMM_EPILOGUE(rows, acc, panel, j0, nc, NULL, za, c, c_stride, params);
  }
}

/* One instantiation per row count, each with the row count a constant. */
#undef QEQ_GEMM_ROWS_CASE
#define QEQ_GEMM_ROWS_CASE(n)                                                                  \
  case n:                                                                                      \
    qeq_igemm_x86_rows(n, nc, kc, taps, a, a_offset, (const uint8_t*)w, (uint8_t*)c, c_stride, \
                       params);                                                                \
    break;

static inline __attribute__((always_inline)) void qeq_igemm_x86_tile(
    size_t mr, size_t nc, size_t kc, size_t taps, const uint8_t* const* a, size_t a_offset,
    const void* w, void* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  switch (mr) {
#include "kernels/qu8s8-gemm/qu8s8-gemm-rows.h"
    default: break;
  }
}
