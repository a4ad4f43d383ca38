/* The AVX-512 VNNI qu8s8 GEMM, one template for every MRxNRc4 tile: a tile file defines
 * QEQ_GEMM_MR and QEQ_GEMM_NV (NR = 16 * NV int32 columns, one zmm each) and includes this.
 *
 * Per group of 4 k: NV weight vectors (NR columns x 4 bytes) are loaded once, each row's 4
 * activation bytes are broadcast to all lanes (vpbroadcastd), and vpdpbusd adds the four
 * u8 x s8 products of every lane into its int32 accumulator without saturation, which is
 * the exact wrapping sum the contract asks for. The body is instantiated once per row count
 * 1..MR, so a short last row block (mr < MR) does no work for rows it does not own and never
 * reads them. The epilogue is kernels/common/gemm-epilogue-avx512.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/gemm-epilogue-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/ukernels.h"

#define QEQ_GEMM_NR (16 * QEQ_GEMM_NV)

/* Weight prefetch distance: at M = 1 the weights stream from L3 or DRAM and one row of work
 * per 64-byte line is too little to keep the hardware prefetcher ahead. */
#ifndef QEQ_GEMM_W_PREFETCH
#define QEQ_GEMM_W_PREFETCH 1024
#endif

/* One group of 4 k: acc[i][v] += a4[i] . w[v][16 columns x 4 bytes], or = when first,
 * with a4[i] row i's 4 activation bytes. Accumulators start as a dot product, not as zeros:
 * a loop on zero-initialised accumulators, or a dot product or branch after it, makes GCC 12
 * copy every accumulator twice per k step (0.65 of the vpdpbusd peak instead of 0.95). */
static inline __attribute__((always_inline)) void qeq_gemm_vnni512_step(
    const size_t rows, const int first, __m512i acc[QEQ_GEMM_MR][QEQ_GEMM_NV], const int32_t* a4,
    const int8_t* wk) {
  enum { NV = QEQ_GEMM_NV };
  __m512i wv[NV];
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; v++) {
    __builtin_prefetch((const void*)((uintptr_t)wk + QEQ_GEMM_W_PREFETCH + 64 * v));
    wv[v] = _mm512_loadu_si512((const void*)(wk + 64 * v));
  }
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
    const __m512i ab = _mm512_set1_epi32(a4[i]);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      acc[i][v] = _mm512_dpbusd_epi32(first ? _mm512_setzero_si512() : acc[i][v], ab, wv[v]);
    }
  }
}

/* The step on rows a + i * a_stride. */
static inline __attribute__((always_inline)) void qeq_gemm_vnni512_step_strided(
    const size_t rows, const int first, __m512i acc[QEQ_GEMM_MR][QEQ_GEMM_NV], const uint8_t* a,
    size_t a_stride, const int8_t* wk) {
  int32_t a4[QEQ_GEMM_MR];
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) a4[i] = qeq_gemm_load_a4(a + i * a_stride);
  qeq_gemm_vnni512_step(rows, first, acc, a4, wk);
}

/* The dot products of one panel into acc_out. */
static inline __attribute__((always_inline)) void qeq_gemm_vnni512_dot(
    const size_t rows, size_t k_groups, const uint8_t* a, size_t a_stride, const int32_t* a_tail,
    const int8_t* wk, const int8_t* wt, const int8_t* wt_zero,
    __m512i acc_out[QEQ_GEMM_MR][QEQ_GEMM_NV]) {
  enum { MR = QEQ_GEMM_MR, NV = QEQ_GEMM_NV, NR = QEQ_GEMM_NR };
  /* The K tail (0..3 bytes) first and branch-free (see wt in the caller; why: the step). */
  __m512i acc[MR][NV];
  qeq_gemm_vnni512_step(rows, 1, acc, a_tail, wt);
  if (rows * NV <= 4) {
    /* One or two rows: too few accumulators to cover vpdpbusd's latency, so even and odd
     * groups go to separate sets, summed at the end (wrapping adds, exact). */
    __m512i acc2[MR][NV];
    /* An odd group first, branch-free like the tail: with an even count it multiplies
     * zeros (a static row read with stride 0) by the panel header. */
    static const uint8_t zeros[4] = {0};
    const size_t odd = k_groups % 2;
    qeq_gemm_vnni512_step_strided(rows, 1, acc2, odd ? a : zeros, odd ? a_stride : 0,
                                  odd ? wk : wt_zero);
    a += 4 * odd;
    wk += NR * 4 * odd;
    for (size_t g = k_groups % 2; g < k_groups; g += 2, a += 8, wk += NR * 8) {
      qeq_gemm_vnni512_step_strided(rows, 0, acc, a, a_stride, wk);
      qeq_gemm_vnni512_step_strided(rows, 0, acc2, a + 4, a_stride, wk + NR * 4);
    }
#pragma GCC unroll 16
    for (size_t i = 0; i < rows; i++) {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) acc[i][v] = _mm512_add_epi32(acc[i][v], acc2[i][v]);
    }
  } else {
    for (size_t g = 0; g < k_groups; g++, a += 4, wk += NR * 4) {
      qeq_gemm_vnni512_step_strided(rows, 0, acc, a, a_stride, wk);
    }
  }
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) acc_out[i][v] = acc[i][v];
  }
}

static inline __attribute__((always_inline)) void qeq_gemm_vnni512_rows(
    const size_t rows, size_t nc, size_t k, const uint8_t* a, size_t a_stride,
    const int32_t* row_sums, const uint8_t* panel, uint8_t* c, size_t c_stride,
    const qeq_gemm_ukernel_params* params) {
  enum { MR = QEQ_GEMM_MR, NV = QEQ_GEMM_NV, NR = QEQ_GEMM_NR };
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, 4);
  const size_t k_groups = k / 4;
  const size_t k_tail = k % 4;
  const __m512i za = _mm512_set1_epi32(params->a_zero_point);
  /* The K tail's activation bytes are the same for every panel: gather them once. */
  int32_t a_tail[MR];
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
    a_tail[i] = qeq_gemm_load_a_tail(a + i * a_stride + 4 * k_groups, k_tail);
  }
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    /* With no K tail, the tail step multiplies zero activations by the panel header, memory
     * that exists, instead of reading past the panel. */
    const int8_t* wt = k_tail != 0 ? wk + k_groups * NR * 4 : (const int8_t*)panel;
    __m512i acc[MR][NV];
    qeq_gemm_vnni512_dot(rows, k_groups, a, a_stride, a_tail, wk, wt, (const int8_t*)panel, acc);

    qeq_gemm_epilogue_avx512(rows, acc, panel, j0, nc, row_sums, za, c, c_stride, params);
  }
}

/* One instantiation per row count, each with the row count a constant. */
#define QEQ_GEMM_ROWS_CASE(n)                                                              \
  case n:                                                                                  \
    qeq_gemm_vnni512_rows(n, nc, k, a, a_stride, row_sums, (const uint8_t*)w, (uint8_t*)c, \
                          c_stride, params);                                               \
    break;

static inline __attribute__((always_inline)) void qeq_gemm_vnni512_tile(
    size_t mr, size_t nc, size_t k, const uint8_t* a, size_t a_stride, const int32_t* row_sums,
    const void* w, void* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  switch (mr) {
#include "kernels/qu8s8-gemm/qu8s8-gemm-rows.h"
    default: break;
  }
}
