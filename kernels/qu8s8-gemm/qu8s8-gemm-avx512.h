/* The AVX-512 (F/BW/DQ/VL, no VNNI) qu8s8 GEMM, one template for every MRxNRc2 tile: a tile
 * file defines QEQ_GEMM_MR and QEQ_GEMM_NV (NR = 16 * NV int32 columns, one zmm each) and
 * includes this.
 *
 * Exact widening technique: per pair of k, NV weight vectors are sign-extended to int16
 * (vpmovsxbw, 16 columns x 2 bytes each), each row's two activation bytes are zero-extended
 * into both halves of every int32 lane (one vpshufb of a vpbroadcastd that serves two pairs),
 * and vpmaddwd adds the two u8 x s8 products into an int32 without saturation (at most
 * 2 * 255 * 128).
 *
 * Fast path on the same packing, per panel of each call: where the row tile's largest
 * activation byte x_max and the panel's pair bounds give x_max * bound <= 32767
 * (qu8s8-gemm-pairs-x86.h, docs/numerics.md#the-avx2-fast-path), vpmaddubsw cannot saturate,
 * and it runs instead: per group of 4 k, the group's two pair vectors (32 columns x 2 bytes
 * each) are interleaved by vpunpcklwd / vpunpckhwd into two vectors of 16 columns x 4 bytes
 * (the c4 form: columns 8l .. 8l + 3, and 8l + 4 .. 8l + 7, of each 128-bit lane l), once for
 * all rows; per row the 4 activation bytes are broadcast once, vpmaddubsw adds each column's
 * two pairs of products in int16 and vpmaddwd by ones adds the two pairs into int32. The
 * accumulators hold the columns lane-interleaved, put in order once per panel (vpermt2q).
 *
 * The body is instantiated once per row count 1..MR, so a short last row block does no work
 * for rows it does not own and never reads them. The epilogue is
 * kernels/common/gemm-epilogue-avx512.h. A GEMM's fast path is the indirect GEMM's of one tap
 * whose row pointers are the matrix rows, so both kernels share it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/gemm-epilogue-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-pairs-x86.h"
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

/* acc += p (int32 lanes) in place: one vpaddd with the accumulator tied as destination. With
 * the intrinsic GCC 12 adds into the product's register in the indirect GEMM's tap loop, then
 * copies it back to the accumulator's (or spills it), for every accumulator and step. Under
 * SIMDe (vectors that are not register operands) the intrinsic. */
#if defined(QEQ_X86_VIA_SIMDE)
#define QEQ_GEMM_AVX512_ADD(acc, p) ((acc) = _mm512_add_epi32((acc), (p)))
#else
#define QEQ_GEMM_AVX512_ADD(acc, p) __asm__("vpaddd %1, %0, %0" : "+v"(acc) : "v"(p))
#endif

/* One group of 4 k on the fast path: acc[i][v] (+)= the products of a4[i] (4 bytes: k, k + 1
 * from the pair vector at w0p, k + 2, k + 3 from the one at w1p), = when first, with acc in
 * the lane-interleaved column order qeq_gemm_avx512_fast_order undoes. */
static inline __attribute__((always_inline)) void qeq_gemm_avx512_fast_step(
    const size_t rows, const int first, __m512i acc[QEQ_GEMM_MR][QEQ_GEMM_NV], const int32_t* a4,
    const int8_t* w0p, const int8_t* w1p) {
  enum { NV = QEQ_GEMM_NV };
  _Static_assert(QEQ_GEMM_NV % 2 == 0, "the fast path takes columns 32 at a time");
  const __m512i ones = _mm512_set1_epi16(1);
  __m512i w4[NV];
#pragma GCC unroll 4
  for (size_t b = 0; b < NV / 2; b++) {
    __builtin_prefetch((const void*)((uintptr_t)w0p + QEQ_GEMM_W_PREFETCH + 64 * b));
    const __m512i p0 = _mm512_loadu_si512((const void*)(w0p + 64 * b));
    const __m512i p1 = _mm512_loadu_si512((const void*)(w1p + 64 * b));
    w4[2 * b] = _mm512_unpacklo_epi16(p0, p1);
    w4[2 * b + 1] = _mm512_unpackhi_epi16(p0, p1);
  }
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
    const __m512i ab = _mm512_set1_epi32(a4[i]);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      const __m512i p = _mm512_madd_epi16(_mm512_maddubs_epi16(ab, w4[v]), ones);
      if (first) {
        acc[i][v] = p;
      } else {
        QEQ_GEMM_AVX512_ADD(acc[i][v], p);
      }
    }
  }
}

/* acc[i][2b] holds columns 32b + 8l + 0..3 and acc[i][2b + 1] columns 32b + 8l + 4..7 in 128-bit
 * lane l: one vpermt2q per output vector of 16 columns puts them in order. */
static inline __attribute__((always_inline)) void qeq_gemm_avx512_fast_order(
    const size_t rows, __m512i acc[QEQ_GEMM_MR][QEQ_GEMM_NV]) {
  const __m512i first_half = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
  const __m512i second_half = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) {
#pragma GCC unroll 4
    for (size_t b = 0; b < QEQ_GEMM_NV / 2; b++) {
      const __m512i lo = acc[i][2 * b], hi = acc[i][2 * b + 1];
      acc[i][2 * b] = _mm512_permutex2var_epi64(lo, first_half, hi);
      acc[i][2 * b + 1] = _mm512_permutex2var_epi64(lo, second_half, hi);
    }
  }
}

/* The fast path's dot products of the tile's rows for one panel: row i is the concatenation
 * over taps t of the kc bytes at a[t * rows + i] + a_offset, each tap zero-padded to an even
 * length as packed. one_tap (a constant): a GEMM (taps = 1), whose K tail goes first, as the
 * exact path's does, chosen without a branch (no tail: zero activations), so has_tail is
 * ignored and one instantiation serves every K; otherwise accumulators start as zero
 * activations times the panel header and each tap's tail follows its groups (has_tail a
 * constant: kc % 4 != 0). A missing pair in a tail multiplies zero activations by the panel
 * header, memory that exists. */
static inline __attribute__((always_inline)) void qeq_gemm_avx512_fast_dot(
    const size_t rows, const int one_tap, const int has_tail, size_t kc, size_t taps,
    const uint8_t* const* a, size_t a_offset, const uint8_t* panel,
    __m512i acc[QEQ_GEMM_MR][QEQ_GEMM_NV]) {
  enum { MR = QEQ_GEMM_MR, NR = QEQ_GEMM_NR };
  const size_t k_groups = kc / 4;
  /* The weight bytes of a tap's tail: one pair (kc % 4 of 1 or 2) or two (3). */
  const size_t tail_k = qeq_igemm_tap_bytes(kc, 2) - 4 * k_groups;
  const int8_t* header = (const int8_t*)panel;
  const int8_t* wk = header + qeq_gemm_panel_header_bytes(NR);
  int32_t a4[MR] = {0};
  const uint8_t* row[MR];
  if (one_tap) {
    qeq_gemm_tap_rows(rows, a, a_offset, row);
    const int8_t* wt = wk + k_groups * 4 * NR;
    qeq_gemm_load_rows_tail(rows, row, 4 * k_groups, kc % 4, a4);
    qeq_gemm_avx512_fast_step(rows, 1, acc, a4, tail_k != 0 ? wt : header,
                              tail_k == 4 ? wt + 2 * NR : header);
    for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
      qeq_gemm_load_rows_a4(rows, row, 4 * g, a4);
      qeq_gemm_avx512_fast_step(rows, 0, acc, a4, wk, wk + 2 * NR);
    }
  } else {
    qeq_gemm_avx512_fast_step(rows, 1, acc, a4, header, header);
    for (size_t t = 0; t < taps; t++, a += rows) {
      qeq_gemm_tap_rows(rows, a, a_offset, row);
      for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
        qeq_gemm_load_rows_a4(rows, row, 4 * g, a4);
        qeq_gemm_avx512_fast_step(rows, 0, acc, a4, wk, wk + 2 * NR);
      }
      if (has_tail) {
        qeq_gemm_load_rows_tail(rows, row, 4 * k_groups, kc % 4, a4);
        qeq_gemm_avx512_fast_step(rows, 0, acc, a4, wk, tail_k == 4 ? wk + 2 * NR : header);
        wk += tail_k * NR;
      }
    }
  }
  qeq_gemm_avx512_fast_order(rows, acc);
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
  const uint8_t* row[MR];
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) row[i] = a + i * a_stride;
  const __m256i x_max = _mm256_set1_epi32((int32_t)qeq_gemm_x86_rows_max(rows, k, 1, row, 0));
  uint64_t fast_panels = 0, panels = 0;
  uint16_t a16[MR][QEQ_GEMM_KC];
  const int widened_once = 4 * k4 <= QEQ_GEMM_KC;
  int widened = 0;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes, panels++) {
    __m512i acc[MR][NV];
    if (qeq_gemm_x86_pairs_exact(panel, NR, x_max)) {
      fast_panels++;
      qeq_gemm_avx512_fast_dot(rows, 1, 0, k, 1, row, 0, panel, acc);
    } else {
      /* A K that fits one block is widened once for all exact panels, at the first. */
      if (widened_once && !widened) qeq_gemm_avx512_widen(rows, a, a_stride, 4 * k4, a16);
      widened = 1;
      const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
      /* The K tail (0..3 bytes) first and branch-free: a missing pair multiplies zero
       * activations by the panel header, memory that exists, instead of reading past it. */
      const int8_t* wt = wk + k4 * 4 * NR;
      const int8_t* wt0 = k_tail != 0 ? wt : (const int8_t*)panel;
      const int8_t* wt1 = k_tail == 3 ? wt + 2 * NR : (const int8_t*)panel;
      qeq_gemm_avx512_step(rows, 1, acc, a_tail, wt0, wt1);
      for (size_t k0 = 0; k0 < 4 * k4; k0 += QEQ_GEMM_KC) {
        const size_t kc = 4 * k4 - k0 < QEQ_GEMM_KC ? 4 * k4 - k0 : QEQ_GEMM_KC;
        if (!widened_once) qeq_gemm_avx512_widen(rows, a + k0, a_stride, kc, a16);
        for (size_t g = 0; g < kc; g += 4, wk += 4 * NR) {
          qeq_gemm_avx512_step16(rows, acc, &a16[0][g], wk, wk + 2 * NR);
        }
      }
    }
    qeq_gemm_epilogue_avx512(rows, acc, panel, j0, nc, row_sums, za, c, c_stride, params);
  }
  qeq_gemm_count_paths(params, fast_panels, panels - fast_panels);
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
