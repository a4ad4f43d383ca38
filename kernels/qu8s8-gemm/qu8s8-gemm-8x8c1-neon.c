/* qu8s8 GEMM, NEON, 8x8c1: the template of qu8s8-gemm-neon.h on rows of a matrix. */
#include <stdint.h>
#include <string.h>

#include "kernels/qu8s8-gemm/qu8s8-gemm-neon.h"

enum { MR = QEQ_NEON8X8_MR, NR = QEQ_NEON8X8_NR, KR = QEQ_NEON8X8_KR };

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
  const size_t k_rem = k - k_main;
  uint8_t buf[MR][8] = {{0}};
  for (size_t i = 0; i < MR; i++) memcpy(buf[i], a_row[i] + k_main, k_rem);
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, KR);
  const uint8_t* panel = (const uint8_t*)w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    QEQ_NEON8X8_ACCUMULATORS;
    for (size_t kk = 0; kk < k_main; kk += 8) {
      QEQ_NEON8X8_BLOCK(a0 + kk, a1 + kk, a2 + kk, a3 + kk, a4 + kk, a5 + kk, a6 + kk, a7 + kk);
    }
    if (k_rem != 0) {
      QEQ_NEON8X8_LOAD_A(0, vld1_u8(buf[0]));
      QEQ_NEON8X8_LOAD_A(1, vld1_u8(buf[1]));
      QEQ_NEON8X8_LOAD_A(2, vld1_u8(buf[2]));
      QEQ_NEON8X8_LOAD_A(3, vld1_u8(buf[3]));
      QEQ_NEON8X8_LOAD_A(4, vld1_u8(buf[4]));
      QEQ_NEON8X8_LOAD_A(5, vld1_u8(buf[5]));
      QEQ_NEON8X8_LOAD_A(6, vld1_u8(buf[6]));
      QEQ_NEON8X8_LOAD_A(7, vld1_u8(buf[7]));
      QEQ_NEON8X8_TAIL(k_rem);
    }
    QEQ_NEON8X8_STORE(panel, j0, nc, mr, row_sum, c, c_stride, params);
  }
}
