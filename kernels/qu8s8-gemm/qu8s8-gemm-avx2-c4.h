/* The AVX2 qu8s8 GEMM and indirect GEMM on the 6x16c4 layout: two paths over one packing,
 * chosen per panel of each call, with the same bits on both.
 *   - fast: vpmaddubsw adds each channel's two adjacent u8 x s8 products in a saturating
 *     int16, vpmaddwd(ones) widens the two pair sums of a group of 4 k into one int32. It is
 *     taken only where x_max * bound <= 32767, with x_max the largest activation byte the
 *     call reads and bound the panel's largest |w[2p]| + |w[2p+1]| (packed header array
 *     QEQ_GEMM_HEADER_PAIR_BOUND): then no pair sum can leave int16 and nothing saturates.
 *   - exact: the 4 weight bytes of a channel sign-extended to int16 and vpmaddwd against the
 *     row's 4 activation bytes as int16, leaving two int32 partial sums per channel (k0+k1,
 *     k2+k3) that vphaddd and vpermq join once per panel. The rows are widened once per call
 *     into a stack tile (every tap, each zero-padded to 4 bytes as the weights are), so each
 *     row's group is one vpbroadcastq from memory, and all rows go together over half a panel
 *     (8 columns) at a time: 6 rows x 2 vectors of partial sums, two weight vectors, a
 *     broadcast and a product fill the 16 ymm registers, each weight vector widened once for
 *     6 rows. Rows longer than QEQ_AVX2C4_WIDE_K widen in the loop, two at a time.
 * The fast path takes the rows in passes of 3 (to keep its weights, the ones vector and a
 * broadcast in registers beside 6 accumulators). A last panel of at most 8 columns runs on
 * its first half (exact) or its first vector (fast, all rows in one pass) alone. A GEMM is
 * the indirect GEMM of one tap whose row pointers are the matrix rows, so both kernels share
 * this code. */
#ifndef QEQ_KERNELS_QU8S8_GEMM_AVX2_C4_H
#define QEQ_KERNELS_QU8S8_GEMM_AVX2_C4_H

#include <stddef.h>
#include <stdint.h>

#define QEQ_GEMM_MR 6
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx256.h"
#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-pairs-x86.h"
#include "kernels/ukernels.h"

/* acc += p (int32 lanes, wrapping) in place. GCC 12 writes _mm256_add_epi32 into the
 * product's register and copies it back to the accumulator's, a vmovdqa per accumulator and
 * step, and spills accumulators once 12 are live; one vpaddd with the accumulator tied as
 * destination does not. Under SIMDe (vectors that are not register operands) the intrinsic. */
#if defined(QEQ_X86_VIA_SIMDE)
#define QEQ_AVX2C4_ADD(acc, p) ((acc) = _mm256_add_epi32((acc), (p)))
#else
#define QEQ_AVX2C4_ADD(acc, p) __asm__("vpaddd %1, %0, %0" : "+x"(acc) : "x"(p))
#endif

enum { QEQ_AVX2C4_MR = 6, QEQ_AVX2C4_NR = 16, QEQ_AVX2C4_KR = 4, QEQ_AVX2C4_PASS = 3 };
/* 6 rows x 4608 k x 2 bytes: a 54 KiB stack tile, streamed once per panel half from L1/L2.
 * 4608 is 3 x 3 taps of 512 channels, the longest rows of ResNet's and VGG's convolutions. */
enum { QEQ_AVX2C4_WIDE_K = 4608 };

/* Every row's taps widened to uint16 at a16 + i * k16, each tap's kc bytes followed by zeros
 * up to a multiple of 4 (k16 = taps * that); a row's end by one more vector overlapping the
 * last, as in qeq_gemm_x86_rows_max. */
static inline __attribute__((always_inline)) void qeq_avx2c4_widen_rows(const size_t rows,
                                                                        size_t kc, size_t taps,
                                                                        const uint8_t* const* a,
                                                                        size_t a_offset,
                                                                        uint16_t* a16, size_t k16) {
  const size_t kcp = qeq_igemm_tap_bytes(kc, QEQ_AVX2C4_KR);
  for (size_t t = 0; t < taps; t++) {
    for (size_t i = 0; i < rows; i++) {
      const uint8_t* src = a[t * rows + i] + a_offset;
      uint16_t* dst = a16 + i * k16 + t * kcp;
      if (kc >= 16) {
        size_t kk = 0;
        for (; kk + 16 <= kc; kk += 16) {
          _mm256_storeu_si256((__m256i*)(dst + kk),
                              _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)(src + kk))));
        }
        if (kk < kc) { /* the last 16, overlapping what is already there with the same values */
          _mm256_storeu_si256(
              (__m256i*)(dst + kc - 16),
              _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)(src + kc - 16))));
        }
      } else if (kc >= 8) {
        _mm_storeu_si128((__m128i*)dst,
                         _mm_cvtepu8_epi16(_mm_cvtsi64_si128(qeq_gemm_load_a8(src))));
        _mm_storeu_si128((__m128i*)(dst + kc - 8),
                         _mm_cvtepu8_epi16(_mm_cvtsi64_si128(qeq_gemm_load_a8(src + kc - 8))));
      } else {
        for (size_t kk = 0; kk < kc; kk++) dst[kk] = src[kk];
      }
      for (size_t kk = kc; kk < kcp; kk++) dst[kk] = 0;
    }
  }
}

/* One group of 4 k on the fast path: acc[i][v] += pair sums of a4[i] . w[v] for v < nv (1 or
 * 2, a constant), = when first. */
static inline __attribute__((always_inline)) void qeq_avx2c4_fast_step(
    const size_t rows, const size_t nv, const int first, __m256i acc[QEQ_AVX2C4_MR][2],
    const int32_t* a4, const int8_t* wk) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i w0 = _mm256_loadu_si256((const __m256i*)wk);
  const __m256i w1 = nv > 1 ? _mm256_loadu_si256((const __m256i*)(wk + 32)) : w0;
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    const __m256i ab = _mm256_set1_epi32(a4[i]);
    const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(ab, w0), ones);
    if (first) {
      acc[i][0] = p0;
    } else {
      QEQ_AVX2C4_ADD(acc[i][0], p0);
    }
    if (nv > 1) {
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(ab, w1), ones);
      if (first) {
        acc[i][1] = p1;
      } else {
        QEQ_AVX2C4_ADD(acc[i][1], p1);
      }
    }
  }
}

/* The fast path's dot products of rows r0 .. r0 + rows3 - 1 into out[r0 ..], for the first nv
 * (1 or 2, a constant) of the panel's two vectors of 8 columns; out[..][1] is zero when nv is
 * 1 (a last panel of at most 8 columns, which then takes all its rows in one pass). Accumulators
 * are local and start as a product: the K tail first (one_tap: a GEMM, whose one tap holds
 * the whole row; zero activations times the panel header without a tail), or at the end of
 * each tap with has_tail a constant. A branch around a tail after the loop makes GCC 12 copy
 * every accumulator each step. */
static inline __attribute__((always_inline)) void qeq_avx2c4_fast_dot(
    const size_t rows, const size_t r0, const size_t rows3, const size_t nv, const int one_tap,
    const int has_tail, size_t kc, size_t taps, const uint8_t* const* a, size_t a_offset,
    const uint8_t* panel, __m256i out[QEQ_AVX2C4_MR][2]) {
  enum { NR = QEQ_AVX2C4_NR };
  const size_t k_groups = kc / 4;
  const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
  __m256i acc[QEQ_AVX2C4_MR][2];
  int32_t a4[QEQ_AVX2C4_MR] = {0};
  if (one_tap) {
    const uint8_t* row[QEQ_AVX2C4_MR];
    qeq_gemm_tap_rows(rows3, a + r0, a_offset, row);
    if (has_tail) qeq_gemm_load_rows_tail(rows3, row, 4 * k_groups, kc % 4, a4);
    qeq_avx2c4_fast_step(rows3, nv, 1, acc, a4,
                         has_tail ? wk + k_groups * 4 * NR : (const int8_t*)panel);
    for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
      qeq_gemm_load_rows_a4(rows3, row, 4 * g, a4);
      qeq_avx2c4_fast_step(rows3, nv, 0, acc, a4, wk);
    }
  } else {
    qeq_avx2c4_fast_step(rows3, nv, 1, acc, a4, (const int8_t*)panel);
    for (size_t t = 0; t < taps; t++, a += rows) {
      const uint8_t* row[QEQ_AVX2C4_MR];
      qeq_gemm_tap_rows(rows3, a + r0, a_offset, row);
      for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
        qeq_gemm_load_rows_a4(rows3, row, 4 * g, a4);
        qeq_avx2c4_fast_step(rows3, nv, 0, acc, a4, wk);
      }
      if (has_tail) {
        qeq_gemm_load_rows_tail(rows3, row, 4 * k_groups, kc % 4, a4);
        qeq_avx2c4_fast_step(rows3, nv, 0, acc, a4, wk);
        wk += 4 * NR;
      }
    }
  }
#pragma GCC unroll 6
  for (size_t i = 0; i < rows3; i++) {
    out[r0 + i][0] = acc[i][0];
    out[r0 + i][1] = nv > 1 ? acc[i][1] : _mm256_setzero_si256();
  }
}

/* acc[i][v] holds channels 4v .. 4v + 3, two partial sums each; vphaddd leaves channels
 * 0 1 4 5 | 2 3 6 7 and vpermq puts them in order. */
static inline __attribute__((always_inline)) void qeq_avx2c4_join(const size_t rows,
                                                                  const size_t r0, __m256i acc[][4],
                                                                  __m256i out[QEQ_AVX2C4_MR][2]) {
#pragma GCC unroll 3
  for (size_t i = 0; i < rows; i++) {
    out[r0 + i][0] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][0], acc[i][1]), 0xD8);
    out[r0 + i][1] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][2], acc[i][3]), 0xD8);
  }
}

/* One group of 4 k of the widened rows (row i at a16 + i * k16) against 8 columns' weights
 * at wk: acc[i][v] += the two partial sums of each of the channels 4v .. 4v + 3. */
static inline __attribute__((always_inline)) void qeq_avx2c4_exact_group(
    const size_t rows, __m256i acc[QEQ_AVX2C4_MR][2], const uint16_t* a16, size_t k16,
    const int8_t* wk) {
  const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)wk));
  const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(wk + 16)));
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    const __m256i aq = _mm256_set1_epi64x((long long)qeq_gemm_load_a8(a16 + i * k16));
    QEQ_AVX2C4_ADD(acc[i][0], _mm256_madd_epi16(aq, w0));
    QEQ_AVX2C4_ADD(acc[i][1], _mm256_madd_epi16(aq, w1));
  }
}

/* The exact dot products of rows 0 .. rows - 1 (all of the tile's rows) for the 8 columns of
 * half h of the panel, from the widened tile: per group of 4 k, 2 weight vectors (channels
 * 8h .. 8h + 3 and 8h + 4 .. 8h + 7, 4 k each as int16) widened once and each row's group
 * broadcast once for both, so 6 rows x 2 vectors of partial sums, the two weight vectors,
 * one broadcast and one product fill the 16 ymm registers. */
static inline __attribute__((always_inline)) void qeq_avx2c4_exact_dot_wide(
    const size_t rows, size_t h, const uint16_t* a16, size_t k16, const uint8_t* panel,
    __m256i out[QEQ_AVX2C4_MR][2]) {
  enum { NR = QEQ_AVX2C4_NR };
  const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR)) + 32 * h;
  __m256i acc[QEQ_AVX2C4_MR][2];
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  size_t kk = 0;
  for (; kk + 8 <= k16; kk += 8, wk += 8 * NR) {
    qeq_avx2c4_exact_group(rows, acc, a16 + kk, k16, wk);
    qeq_avx2c4_exact_group(rows, acc, a16 + kk + 4, k16, wk + 4 * NR);
  }
  if (kk < k16) qeq_avx2c4_exact_group(rows, acc, a16 + kk, k16, wk);
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    /* acc[i][v] holds channels 8h + 4v .. + 3, two partial sums each; vphaddd leaves channels
     * 0 1 4 5 | 2 3 6 7 of the half and vpermq puts them in order. */
    out[i][h] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][0], acc[i][1]), 0xD8);
  }
}

/* qeq_avx2c4_exact_dot_wide for each row count as a function of its own: inlined into the
 * indirect GEMM's tile, with its tap state live around it, GCC 12 spills the partial sums
 * every step. */
#define QEQ_AVX2C4_EXACT_WIDE_FN(n)                                         \
  static __attribute__((noinline)) void qeq_avx2c4_exact_wide_##n(          \
      const uint16_t* a16, size_t k16, const uint8_t* panel, size_t halves, \
      __m256i out[QEQ_AVX2C4_MR][2]) {                                      \
    qeq_avx2c4_exact_dot_wide(n, 0, a16, k16, panel, out);                  \
    if (halves > 1) {                                                       \
      qeq_avx2c4_exact_dot_wide(n, 1, a16, k16, panel, out);                \
    } else {                                                                \
      for (size_t i = 0; i < n; i++) out[i][1] = _mm256_setzero_si256();    \
    }                                                                       \
  }
QEQ_AVX2C4_EXACT_WIDE_FN(1)
QEQ_AVX2C4_EXACT_WIDE_FN(2)
QEQ_AVX2C4_EXACT_WIDE_FN(3)
QEQ_AVX2C4_EXACT_WIDE_FN(4)
QEQ_AVX2C4_EXACT_WIDE_FN(5)
QEQ_AVX2C4_EXACT_WIDE_FN(6)
#undef QEQ_AVX2C4_EXACT_WIDE_FN

/* halves: 2, or 1 on a last panel of at most 8 columns, whose second half is all padding. */
static inline __attribute__((always_inline)) void qeq_avx2c4_exact_wide(
    const size_t rows, const uint16_t* a16, size_t k16, const uint8_t* panel, size_t halves,
    __m256i out[QEQ_AVX2C4_MR][2]) {
  switch (rows) {
    case 1: qeq_avx2c4_exact_wide_1(a16, k16, panel, halves, out); break;
    case 2: qeq_avx2c4_exact_wide_2(a16, k16, panel, halves, out); break;
    case 3: qeq_avx2c4_exact_wide_3(a16, k16, panel, halves, out); break;
    case 4: qeq_avx2c4_exact_wide_4(a16, k16, panel, halves, out); break;
    case 5: qeq_avx2c4_exact_wide_5(a16, k16, panel, halves, out); break;
    default: qeq_avx2c4_exact_wide_6(a16, k16, panel, halves, out); break;
  }
}

/* One group of 4 k on the in-loop exact path for two rows: the 4 bytes of a4[i] widened to
 * int16 by vpshufb. */
static inline __attribute__((always_inline)) void qeq_avx2c4_exact_step(
    const size_t rows2, const int first, __m256i acc[2][4], const int32_t* a4, const int8_t* wk) {
  /* Bytes 0..3 of each 32-bit lane to the four int16 of each 64-bit half, zero above. */
  const __m256i widen = _mm256_setr_epi8(0, -1, 1, -1, 2, -1, 3, -1, 0, -1, 1, -1, 2, -1, 3, -1, 0,
                                         -1, 1, -1, 2, -1, 3, -1, 0, -1, 1, -1, 2, -1, 3, -1);
  __m256i aq[2];
#pragma GCC unroll 2
  for (size_t i = 0; i < rows2; i++) aq[i] = _mm256_shuffle_epi8(_mm256_set1_epi32(a4[i]), widen);
#pragma GCC unroll 4
  for (size_t v = 0; v < 4; v++) {
    const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(wk + 16 * v)));
#pragma GCC unroll 2
    for (size_t i = 0; i < rows2; i++) {
      const __m256i p = _mm256_madd_epi16(aq[i], w);
      if (first) {
        acc[i][v] = p;
      } else {
        QEQ_AVX2C4_ADD(acc[i][v], p);
      }
    }
  }
}

/* The in-loop exact dot products of rows r0 .. r0 + rows2 - 1 (rows2 <= 2), for rows too
 * long to widen; the K tail placed as in qeq_avx2c4_fast_dot. */
static inline __attribute__((always_inline)) void qeq_avx2c4_exact_dot_loop(
    const size_t rows, const size_t r0, const size_t rows2, const int one_tap, const int has_tail,
    size_t kc, size_t taps, const uint8_t* const* a, size_t a_offset, const uint8_t* panel,
    __m256i out[QEQ_AVX2C4_MR][2]) {
  enum { NR = QEQ_AVX2C4_NR };
  const size_t k_groups = kc / 4;
  const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
  __m256i acc[2][4];
  int32_t a4[2] = {0};
  if (one_tap) {
    const uint8_t* row[2];
    qeq_gemm_tap_rows(rows2, a + r0, a_offset, row);
    if (has_tail) qeq_gemm_load_rows_tail(rows2, row, 4 * k_groups, kc % 4, a4);
    qeq_avx2c4_exact_step(rows2, 1, acc, a4,
                          has_tail ? wk + k_groups * 4 * NR : (const int8_t*)panel);
    for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
      qeq_gemm_load_rows_a4(rows2, row, 4 * g, a4);
      qeq_avx2c4_exact_step(rows2, 0, acc, a4, wk);
    }
  } else {
    qeq_avx2c4_exact_step(rows2, 1, acc, a4, (const int8_t*)panel);
    for (size_t t = 0; t < taps; t++, a += rows) {
      const uint8_t* row[2];
      qeq_gemm_tap_rows(rows2, a + r0, a_offset, row);
      for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
        qeq_gemm_load_rows_a4(rows2, row, 4 * g, a4);
        qeq_avx2c4_exact_step(rows2, 0, acc, a4, wk);
      }
      if (has_tail) {
        qeq_gemm_load_rows_tail(rows2, row, 4 * k_groups, kc % 4, a4);
        qeq_avx2c4_exact_step(rows2, 0, acc, a4, wk);
        wk += 4 * NR;
      }
    }
  }
  qeq_avx2c4_join(rows2, r0, acc, out);
}

/* The tile for a constant row count: rows i < rows of taps taps (row pointers a[t * rows +
 * i] + a_offset, kc bytes each; one_tap, a constant: a GEMM, taps = 1), panels of the packed
 * weights for columns [0, nc). */
static inline __attribute__((always_inline)) void qeq_avx2c4_rows(
    const size_t rows, const int one_tap, size_t nc, size_t kc, size_t taps,
    const uint8_t* const* a, size_t a_offset, const int32_t* row_sums, const uint8_t* panel,
    uint8_t* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  enum { NR = QEQ_AVX2C4_NR, KR = QEQ_AVX2C4_KR, PASS = QEQ_AVX2C4_PASS };
  const size_t k16 = taps * qeq_igemm_tap_bytes(kc, KR);
  const size_t panel_bytes = qeq_gemm_panel_bytes(k16, NR, KR);
  const __m256i za = _mm256_set1_epi32(params->a_zero_point);
  const uint32_t x_max = qeq_gemm_x86_rows_max(rows, kc, taps, a, a_offset);
  const __m256i x_max_v = _mm256_set1_epi32((int32_t)x_max);
  const int has_tail = kc % 4 != 0;
  const size_t second = rows > PASS ? rows - PASS : 0; /* rows of the second pass */
  uint16_t a16[QEQ_AVX2C4_MR * QEQ_AVX2C4_WIDE_K];
  int widened = 0;
  uint64_t fast_panels = 0, panels = 0;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes, panels++) {
    __m256i acc[QEQ_AVX2C4_MR][2];
    /* Constant flags, so no path branches inside its k loop. */
#define QEQ_AVX2C4_FAST(tail_)                                                                 \
  if (nc - j0 <= 8) {                                                                          \
    qeq_avx2c4_fast_dot(rows, 0, rows, 1, one_tap, tail_, kc, taps, a, a_offset, panel, acc);  \
  } else {                                                                                     \
    qeq_avx2c4_fast_dot(rows, 0, rows < PASS ? rows : PASS, 2, one_tap, tail_, kc, taps, a,    \
                        a_offset, panel, acc);                                                 \
    if (second > 0) {                                                                          \
      qeq_avx2c4_fast_dot(rows, PASS, second, 2, one_tap, tail_, kc, taps, a, a_offset, panel, \
                          acc);                                                                \
    }                                                                                          \
  }
#define QEQ_AVX2C4_EXACT_LOOP(tail_)                                                             \
  for (size_t r0 = 0; r0 < rows; r0 += 2) {                                                      \
    if (rows - r0 >= 2) {                                                                        \
      qeq_avx2c4_exact_dot_loop(rows, r0, 2, one_tap, tail_, kc, taps, a, a_offset, panel, acc); \
    } else {                                                                                     \
      qeq_avx2c4_exact_dot_loop(rows, r0, 1, one_tap, tail_, kc, taps, a, a_offset, panel, acc); \
    }                                                                                            \
  }
    if (qeq_gemm_x86_pairs_exact(panel, NR, x_max_v)) {
      fast_panels++;
      if (has_tail) {
        QEQ_AVX2C4_FAST(1)
      } else {
        QEQ_AVX2C4_FAST(0)
      }
    } else if (k16 <= QEQ_AVX2C4_WIDE_K) {
      if (!widened) qeq_avx2c4_widen_rows(rows, kc, taps, a, a_offset, a16, k16), widened = 1;
      qeq_avx2c4_exact_wide(rows, a16, k16, panel, nc - j0 > 8 ? 2 : 1, acc);
    } else if (has_tail) {
      QEQ_AVX2C4_EXACT_LOOP(1)
    } else {
      QEQ_AVX2C4_EXACT_LOOP(0)
    }
#undef QEQ_AVX2C4_FAST
#undef QEQ_AVX2C4_EXACT_LOOP
    qeq_gemm_epilogue_avx256(rows, acc, panel, j0, nc, row_sums, za, c, c_stride, params);
  }
  qeq_gemm_count_paths(params, fast_panels, panels - fast_panels);
}

#endif /* QEQ_KERNELS_QU8S8_GEMM_AVX2_C4_H */
