/* AVX2 indirect qu8s8 GEMM, the 4x16c2 tile of qu8s8-gemm-4x16c2-avx2.c with its rows read
 * tap by tap through pointers, on the GEMM's step (qu8s8-gemm-avx2.h): the GEMM widens its
 * rows once per call, which rows that change every tap cannot share, so each group is
 * widened in the loop. */
#include <stdint.h>

#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/ukernels.h"

#define QEQ_GEMM_MR 4
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx256.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-avx2.h"

enum { MR = QEQ_GEMM_MR, NR = 16, KR = 2 };

static inline __attribute__((always_inline)) void igemm_rows(
    const size_t rows, size_t nc, size_t kc, size_t taps, const uint8_t* const* a, size_t a_offset,
    const void* w, void* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps * qeq_igemm_tap_bytes(kc, KR), NR, KR);
  const __m256i za = _mm256_set1_epi32(params->a_zero_point);
  const size_t k_groups = kc / 4;
  /* The tail's pairs (0..2); a missing second pair reads the panel header against zero
   * activations. */
  const size_t tail_pairs = (kc % 4 + 1) / 2;
  const uint8_t* panel = w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    __m256i acc[MR][2];
    for (size_t i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    const uint8_t* const* at = a;
    for (size_t t = 0; t < taps; t++, at += rows) {
      const uint8_t* row[MR];
      qeq_gemm_tap_rows(rows, at, a_offset, row);
      for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
        int32_t a4[MR];
        qeq_gemm_load_rows_a4(rows, row, 4 * g, a4);
        qeq_gemm_avx2_step(rows, acc, a4, wk, wk + 2 * NR);
      }
      if (tail_pairs != 0) {
        int32_t a4[MR];
        qeq_gemm_load_rows_tail(rows, row, 4 * k_groups, kc % 4, a4);
        qeq_gemm_avx2_step(rows, acc, a4, wk, tail_pairs == 2 ? wk + 2 * NR : (const int8_t*)panel);
        wk += tail_pairs * 2 * NR;
      }
    }
    qeq_gemm_epilogue_avx256(rows, acc, panel, j0, nc, NULL, za, (uint8_t*)c, c_stride, params);
  }
}

void QEQ_X86_KERNEL(qeq_qu8s8_igemm_ukernel_4x16c2__avx2)(size_t mr, size_t nc, size_t kc,
                                                          size_t taps, const uint8_t* const* a,
                                                          size_t a_offset, const void* w, void* c,
                                                          size_t c_stride,
                                                          const qeq_gemm_ukernel_params* params) {
  switch (mr) {
    case 1: igemm_rows(1, nc, kc, taps, a, a_offset, w, c, c_stride, params); break;
    case 2: igemm_rows(2, nc, kc, taps, a, a_offset, w, c, c_stride, params); break;
    case 3: igemm_rows(3, nc, kc, taps, a, a_offset, w, c, c_stride, params); break;
    case 4: igemm_rows(4, nc, kc, taps, a, a_offset, w, c, c_stride, params); break;
    default: break;
  }
}
