/* Indirect qu8s8 GEMM, NEON, 8x8c1: the tile of qu8s8-gemm-8x8c1-neon.c and its template
 * (qu8s8-gemm-neon.h), its rows read tap by tap through pointers (zero-point rows for padding
 * taps included). With KR = 1 a tap's weights are its kc rows, unpadded; a tap's last kc % 8
 * bytes are read in place (qeq_neon_load_tail), as each tap has its own. */
#include <stdint.h>

#include "kernels/qu8s8-gemm/qu8s8-gemm-neon.h"

enum { MR = QEQ_NEON8X8_MR, NR = QEQ_NEON8X8_NR, KR = QEQ_NEON8X8_KR };

/* One instantiation for full tiles, whose rows are the tap's 8 pointers in order (loaded in
 * pairs), one for the rest, where rows past mr repeat row mr - 1 (their results are never
 * stored). The channels are read at a_offset + k from each pointer, so a tap costs its
 * pointer loads only. */
static inline __attribute__((always_inline)) void igemm_8x8c1(
    const int full, size_t mr, size_t nc, size_t kc, size_t taps, const uint8_t* const* a,
    size_t a_offset, const void* w, void* c, size_t c_stride,
    const qeq_gemm_ukernel_params* params) {
  const size_t r1 = full || mr > 1 ? 1 : mr - 1, r2 = full || mr > 2 ? 2 : mr - 1;
  const size_t r3 = full || mr > 3 ? 3 : mr - 1, r4 = full || mr > 4 ? 4 : mr - 1;
  const size_t r5 = full || mr > 5 ? 5 : mr - 1, r6 = full || mr > 6 ? 6 : mr - 1;
  const size_t r7 = full || mr > 7 ? 7 : mr - 1;
  const size_t tap_stride = full ? MR : mr;
  static const int32_t no_row_sums[MR] = {0};
  const size_t k_end = a_offset + kc / 8 * 8;
  const size_t k_rem = kc % 8;
  const uint8x8_t tail_index = qeq_neon_tail_index(kc);
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps * kc, NR, KR);
  const uint8_t* panel = (const uint8_t*)w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    QEQ_NEON8X8_ACCUMULATORS;
    const uint8_t* const* tap = a;
    for (size_t t = 0; t < taps; t++, tap += tap_stride) {
      const uint8_t* a0 = tap[0];
      const uint8_t* a1 = tap[r1];
      const uint8_t* a2 = tap[r2];
      const uint8_t* a3 = tap[r3];
      const uint8_t* a4 = tap[r4];
      const uint8_t* a5 = tap[r5];
      const uint8_t* a6 = tap[r6];
      const uint8_t* a7 = tap[r7];
      for (size_t kk = a_offset; kk < k_end; kk += 8) {
        QEQ_NEON8X8_BLOCK(a0 + kk, a1 + kk, a2 + kk, a3 + kk, a4 + kk, a5 + kk, a6 + kk, a7 + kk);
      }
      if (k_rem != 0) {
        QEQ_NEON8X8_LOAD_A(0, qeq_neon_load_tail(a0 + a_offset, kc, tail_index));
        QEQ_NEON8X8_LOAD_A(1, qeq_neon_load_tail(a1 + a_offset, kc, tail_index));
        QEQ_NEON8X8_LOAD_A(2, qeq_neon_load_tail(a2 + a_offset, kc, tail_index));
        QEQ_NEON8X8_LOAD_A(3, qeq_neon_load_tail(a3 + a_offset, kc, tail_index));
        QEQ_NEON8X8_LOAD_A(4, qeq_neon_load_tail(a4 + a_offset, kc, tail_index));
        QEQ_NEON8X8_LOAD_A(5, qeq_neon_load_tail(a5 + a_offset, kc, tail_index));
        QEQ_NEON8X8_LOAD_A(6, qeq_neon_load_tail(a6 + a_offset, kc, tail_index));
        QEQ_NEON8X8_LOAD_A(7, qeq_neon_load_tail(a7 + a_offset, kc, tail_index));
        QEQ_NEON8X8_TAIL(k_rem);
      }
    }
    QEQ_NEON8X8_STORE(panel, j0, nc, mr, no_row_sums, c, c_stride, params);
  }
}

void qeq_qu8s8_igemm_ukernel_8x8c1__neon(size_t mr, size_t nc, size_t kc, size_t taps,
                                         const uint8_t* const* a, size_t a_offset, const void* w,
                                         void* c, size_t c_stride,
                                         const qeq_gemm_ukernel_params* params) {
  if (mr == MR) {
    igemm_8x8c1(1, mr, nc, kc, taps, a, a_offset, w, c, c_stride, params);
  } else {
    igemm_8x8c1(0, mr, nc, kc, taps, a, a_offset, w, c, c_stride, params);
  }
}
