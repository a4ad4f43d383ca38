/* The AVX-VNNI qu8s8 GEMM (VEX vpdpbusd on ymm, AVX2 around it, no AVX-512), one template
 * for every MRxNRc4 tile: a tile file defines QEQ_GEMM_MR and QEQ_GEMM_NV (NR = 8 * NV int32
 * columns, one ymm each) and includes this. Same scheme as qu8s8-gemm-avx512vnni.h: per group
 * of 4 k, NV weight vectors, one 32-bit activation broadcast per row, vpdpbusd (exact,
 * non-saturating); one instantiation per row count 1..MR; the epilogue of
 * kernels/common/gemm-epilogue-avx256.h. With 16 ymm registers MR * NV + NV + 1 must stay
 * <= 16. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/gemm-epilogue-avx256.h"
#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/ukernels.h"

#define QEQ_GEMM_NR (8 * QEQ_GEMM_NV)

/* Weight prefetch distance: at M = 1 the weights stream from L3 or DRAM and one row of work
 * per 64-byte line is too little to keep the hardware prefetcher ahead. */
#ifndef QEQ_GEMM_W_PREFETCH
#define QEQ_GEMM_W_PREFETCH 1024
#endif

/* One group of 4 k: acc[i][v] += a4[i] . w[v][8 columns x 4 bytes], or = when first. */
static inline __attribute__((always_inline)) void qeq_gemm_vnni256_step(
    const size_t rows, const int first, __m256i acc[QEQ_GEMM_MR][QEQ_GEMM_NV], const int32_t* a4,
    const int8_t* wk) {
  enum { NV = QEQ_GEMM_NV };
  __m256i wv[NV];
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; v++) {
    if (v % 2 == 0) { /* once per 64-byte line */
      __builtin_prefetch((const void*)((uintptr_t)wk + QEQ_GEMM_W_PREFETCH + 32 * v));
    }
    wv[v] = _mm256_loadu_si256((const __m256i*)(wk + 32 * v));
  }
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
    const __m256i ab = _mm256_set1_epi32(a4[i]);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      acc[i][v] = _mm256_dpbusd_avx_epi32(first ? _mm256_setzero_si256() : acc[i][v], ab, wv[v]);
    }
  }
}

/* The dot products of one panel into acc_out. */
static inline __attribute__((always_inline)) void qeq_gemm_vnni256_dot(
    const size_t rows, size_t k_groups, const uint8_t* a, size_t a_stride, const int32_t* a_tail,
    const int8_t* wk, const int8_t* wt, __m256i acc_out[QEQ_GEMM_MR][QEQ_GEMM_NV]) {
  enum { MR = QEQ_GEMM_MR, NV = QEQ_GEMM_NV, NR = QEQ_GEMM_NR };
  /* The K tail (0..3 bytes) first and branch-free (see wt in the caller): with a dot product
   * after the main loop, or a branch around one, GCC 12 copies every accumulator twice per
   * k step (0.65 of the vpdpbusd peak instead of 0.95). */
  __m256i acc[MR][NV];
  qeq_gemm_vnni256_step(rows, 1, acc, a_tail, wt);
  const uint8_t* ak = a;
  for (size_t g = 0; g < k_groups; g++, ak += 4, wk += NR * 4) {
    int32_t a4[MR];
#pragma GCC unroll 16
    for (size_t i = 0; i < rows; i++) a4[i] = qeq_gemm_load_a4(ak + i * a_stride);
    qeq_gemm_vnni256_step(rows, 0, acc, a4, wk);
  }
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) acc_out[i][v] = acc[i][v];
  }
}

static inline __attribute__((always_inline)) void qeq_gemm_vnni256_rows(
    const size_t rows, size_t nc, size_t k, const uint8_t* a, size_t a_stride,
    const int32_t* row_sums, const uint8_t* panel, uint8_t* c, size_t c_stride,
    const qeq_gemm_ukernel_params* params) {
  enum { MR = QEQ_GEMM_MR, NV = QEQ_GEMM_NV, NR = QEQ_GEMM_NR };
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, 4);
  const size_t k_groups = k / 4;
  const size_t k_tail = k % 4;
  const __m256i za = _mm256_set1_epi32(params->a_zero_point);
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
    __m256i acc[MR][NV];
    qeq_gemm_vnni256_dot(rows, k_groups, a, a_stride, a_tail, wk, wt, acc);

    qeq_gemm_epilogue_avx256(rows, acc, panel, j0, nc, row_sums, za, c, c_stride, params);
  }
}

/* One instantiation per row count, each with the row count a constant. */
#define QEQ_GEMM_ROWS_CASE(n)                                                              \
  case n:                                                                                  \
    qeq_gemm_vnni256_rows(n, nc, k, a, a_stride, row_sums, (const uint8_t*)w, (uint8_t*)c, \
                          c_stride, params);                                               \
    break;

static inline __attribute__((always_inline)) void qeq_gemm_vnni256_tile(
    size_t mr, size_t nc, size_t k, const uint8_t* a, size_t a_stride, const int32_t* row_sums,
    const void* w, void* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  _Static_assert(QEQ_GEMM_MR * QEQ_GEMM_NV + QEQ_GEMM_NV + 1 <= 16, "16 ymm registers");
  switch (mr) {
#include "kernels/qu8s8-gemm/qu8s8-gemm-rows.h"
    default: break;
  }
}
