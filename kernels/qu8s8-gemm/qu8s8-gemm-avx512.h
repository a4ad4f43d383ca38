/* The AVX-512 (F/BW/DQ/VL, no VNNI) qu8s8 GEMM, one template for every MRxNRc2 tile: a tile
 * file defines QEQ_GEMM_MR and QEQ_GEMM_NV (NR = 16 * NV int32 columns, one zmm each) and
 * includes this.
 *
 * Exact widening technique: per pair of k, NV weight vectors are sign-extended to int16
 * (vpmovsxbw, 16 columns x 2 bytes each), each row's two activation bytes are zero-extended
 * into both halves of every int32 lane (one vpshufb of a vpbroadcastd that serves two pairs),
 * and vpmaddwd adds the two u8 x s8 products into an int32 without saturation (at most
 * 2 * 255 * 128). Never vpmaddubsw, whose int16 pair sums saturate. The body is instantiated
 * once per row count 1..MR, so a short last row block does no work for rows it does not own
 * and never reads them. The epilogue is kernels/common/gemm-epilogue-avx512.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/gemm-epilogue-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/ukernels.h"

#define QEQ_GEMM_NR (16 * QEQ_GEMM_NV)

/* Weight prefetch distance: at M = 1 the weights stream from L3 or DRAM and the hardware
 * prefetcher alone falls behind. */
#ifndef QEQ_GEMM_W_PREFETCH
#define QEQ_GEMM_W_PREFETCH 1024
#endif

/* vpshufb controls: bytes 0,1 (or 2,3) of each dword zero-extended to its two int16 halves. */
#define QEQ_GEMM_PAIR0 ((int32_t)0x80018000u)
#define QEQ_GEMM_PAIR1 ((int32_t)0x80038002u)

/* The weights of two k pairs, sign-extended to int16: w0[v], w1[v] for columns 16v..16v+15. */
static inline __attribute__((always_inline)) void qeq_gemm_avx512_load_w(__m512i w0[QEQ_GEMM_NV],
                                                                         __m512i w1[QEQ_GEMM_NV],
                                                                         const int8_t* w0p,
                                                                         const int8_t* w1p) {
#pragma GCC unroll 4
  for (size_t v = 0; v < QEQ_GEMM_NV; v++) {
    __builtin_prefetch((const void*)((uintptr_t)w0p + QEQ_GEMM_W_PREFETCH + 64 * v));
    w0[v] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i*)(w0p + 32 * v)));
    w1[v] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i*)(w1p + 32 * v)));
  }
}

/* Two k pairs: acc[i][v] (+)= a[i][k..k+1] . w0[v] + a[i][k+2..k+3] . w1[v], = when first.
 * Accumulators start as a product, not as zeros: zero-initialised accumulators, or a branch
 * after the K loop, make GCC 12 copy and spill accumulators every step (as in the VNNI
 * template). */
static inline __attribute__((always_inline)) void qeq_gemm_avx512_step(
    const size_t rows, const int first, __m512i acc[QEQ_GEMM_MR][QEQ_GEMM_NV], const int32_t* a4,
    const int8_t* w0p, const int8_t* w1p) {
  enum { NV = QEQ_GEMM_NV };
  const __m512i pair0 = _mm512_set1_epi32(QEQ_GEMM_PAIR0);
  const __m512i pair1 = _mm512_set1_epi32(QEQ_GEMM_PAIR1);
  __m512i w0[NV], w1[NV];
  qeq_gemm_avx512_load_w(w0, w1, w0p, w1p);
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
    const __m512i ab = _mm512_set1_epi32(a4[i]);
    const __m512i a0 = _mm512_shuffle_epi8(ab, pair0);
    const __m512i a1 = _mm512_shuffle_epi8(ab, pair1);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      const __m512i p0 = _mm512_madd_epi16(a0, w0[v]);
      const __m512i p1 = _mm512_madd_epi16(a1, w1[v]);
      acc[i][v] = _mm512_add_epi32(first ? p0 : _mm512_add_epi32(acc[i][v], p0), p1);
    }
  }
}

/* Activations widened once to int16 in a stack block of QEQ_GEMM_KC k per row, so the main
 * loop broadcasts each pair straight from memory (vpbroadcastd, a load) instead of spending a
 * vpshufb per row and pair: 8 instead of 10 vector operations per row and 4 k. */
#ifndef QEQ_GEMM_KC
#define QEQ_GEMM_KC 512
#endif

static inline int32_t qeq_gemm_load_pair(const uint16_t* p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* Two k pairs from the widened block: acc[i][v] += a16[i][0..1] . w0[v] + a16[i][2..3] . w1[v]. */
static inline __attribute__((always_inline)) void qeq_gemm_avx512_step16(
    const size_t rows, __m512i acc[QEQ_GEMM_MR][QEQ_GEMM_NV], const uint16_t* a16,
    const int8_t* w0p, const int8_t* w1p) {
  enum { NV = QEQ_GEMM_NV };
  __m512i w0[NV], w1[NV];
  qeq_gemm_avx512_load_w(w0, w1, w0p, w1p);
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
    const __m512i a0 = _mm512_set1_epi32(qeq_gemm_load_pair(a16 + i * QEQ_GEMM_KC));
    const __m512i a1 = _mm512_set1_epi32(qeq_gemm_load_pair(a16 + i * QEQ_GEMM_KC + 2));
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      const __m512i p0 = _mm512_madd_epi16(a0, w0[v]);
      const __m512i p1 = _mm512_madd_epi16(a1, w1[v]);
      acc[i][v] = _mm512_add_epi32(_mm512_add_epi32(acc[i][v], p0), p1);
    }
  }
}

/* Widens kc (a multiple of 4) bytes of each row into a16[i][0..kc). */
static inline __attribute__((always_inline)) void qeq_gemm_avx512_widen(
    const size_t rows, const uint8_t* a, size_t a_stride, size_t kc,
    uint16_t a16[QEQ_GEMM_MR][QEQ_GEMM_KC]) {
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
    const uint8_t* row = a + i * a_stride;
    size_t kk = 0;
    for (; kk + 16 <= kc; kk += 16) {
      _mm256_storeu_si256((__m256i*)&a16[i][kk],
                          _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)(row + kk))));
    }
    for (; kk < kc; kk++) a16[i][kk] = row[kk];
  }
}

static inline __attribute__((always_inline)) void qeq_gemm_avx512_rows(
    const size_t rows, size_t nc, size_t k, const uint8_t* a, size_t a_stride,
    const int32_t* row_sums, const uint8_t* panel, uint8_t* c, size_t c_stride,
    const qeq_gemm_ukernel_params* params) {
  enum { MR = QEQ_GEMM_MR, NV = QEQ_GEMM_NV, NR = QEQ_GEMM_NR };
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, 2);
  const size_t k4 = k / 4;
  const size_t k_tail = k % 4;
  const __m512i za = _mm512_set1_epi32(params->a_zero_point);
  /* The K tail's activation bytes are the same for every panel: gather them once. */
  int32_t a_tail[MR];
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++)
    a_tail[i] = qeq_gemm_load_a_tail(a + i * a_stride + 4 * k4, k_tail);
  uint16_t a16[MR][QEQ_GEMM_KC];
  const int widened_once = 4 * k4 <= QEQ_GEMM_KC;
  if (widened_once) qeq_gemm_avx512_widen(rows, a, a_stride, 4 * k4, a16);
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    /* The K tail (0..3 bytes) first and branch-free: a missing pair multiplies zero
     * activations by the panel header, memory that exists, instead of reading past it. */
    const int8_t* wt = wk + k4 * 4 * NR;
    const int8_t* wt0 = k_tail != 0 ? wt : (const int8_t*)panel;
    const int8_t* wt1 = k_tail == 3 ? wt + 2 * NR : (const int8_t*)panel;
    __m512i acc[MR][NV];
    qeq_gemm_avx512_step(rows, 1, acc, a_tail, wt0, wt1);
    for (size_t k0 = 0; k0 < 4 * k4; k0 += QEQ_GEMM_KC) {
      const size_t kc = 4 * k4 - k0 < QEQ_GEMM_KC ? 4 * k4 - k0 : QEQ_GEMM_KC;
      /* A K that fits one block is widened once for all panels, above. */
      if (!widened_once) qeq_gemm_avx512_widen(rows, a + k0, a_stride, kc, a16);
      for (size_t g = 0; g < kc; g += 4, wk += 4 * NR) {
        qeq_gemm_avx512_step16(rows, acc, &a16[0][g], wk, wk + 2 * NR);
      }
    }

    qeq_gemm_epilogue_avx512(rows, acc, panel, j0, nc, row_sums, za, c, c_stride, params);
  }
}

/* One instantiation per row count, each with the row count a constant. */
#define QEQ_GEMM_ROWS_CASE(n)                                                             \
  case n:                                                                                 \
    qeq_gemm_avx512_rows(n, nc, k, a, a_stride, row_sums, (const uint8_t*)w, (uint8_t*)c, \
                         c_stride, params);                                               \
    break;

static inline __attribute__((always_inline)) void qeq_gemm_avx512_tile(
    size_t mr, size_t nc, size_t k, const uint8_t* a, size_t a_stride, const int32_t* row_sums,
    const void* w, void* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  switch (mr) {
#include "kernels/qu8s8-gemm/qu8s8-gemm-rows.h"
    default: break;
  }
}
