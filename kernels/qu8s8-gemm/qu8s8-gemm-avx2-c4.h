/* The AVX2 qu8s8 GEMM and indirect GEMM on the 4x16c4 layout: two paths over one packing,
 * chosen per panel of each call, with the same bits on both.
 *   - fast: vpmaddubsw adds each channel's two adjacent u8 x s8 products in a saturating
 *     int16, vpmaddwd(ones) widens the two pair sums of a group of 4 k into one int32. It is
 *     taken only where x_max * bound <= 32767, with x_max the largest activation byte the
 *     call reads and bound the panel's largest |w[2p]| + |w[2p+1]| (packed header array
 *     QEQ_GEMM_HEADER_PAIR_BOUND): then no pair sum can leave int16 and nothing saturates.
 *   - exact: the 4 weight bytes of a channel sign-extended to int16 and vpmaddwd against the
 *     row's 4 activation bytes zero-extended and broadcast, leaving two int32 partial sums
 *     per channel (k0+k1, k2+k3) that vphaddd and vpermq combine once per panel. Two rows
 *     per pass: 4 rows x 16 channels x 2 partial sums would need every ymm register.
 * A GEMM is the indirect GEMM of one tap whose row pointers are the matrix rows, so both
 * kernels share this code. */
#ifndef QEQ_KERNELS_QU8S8_GEMM_AVX2_C4_H
#define QEQ_KERNELS_QU8S8_GEMM_AVX2_C4_H

#include <stddef.h>
#include <stdint.h>

#define QEQ_GEMM_MR 4
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx256.h"
#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/ukernels.h"

enum { QEQ_AVX2C4_MR = 4, QEQ_AVX2C4_NR = 16, QEQ_AVX2C4_KR = 4 };

/* The largest byte of every row's kc bytes over every tap (row pointers a[t * rows + i]). */
static inline __attribute__((always_inline)) uint32_t qeq_avx2c4_rows_max(const size_t rows,
                                                                          size_t kc, size_t taps,
                                                                          const uint8_t* const* a,
                                                                          size_t a_offset) {
  __m256i vmax = _mm256_setzero_si256();
  uint32_t smax = 0;
  for (size_t t = 0; t < taps * rows; t++) {
    const uint8_t* p = a[t] + a_offset;
    size_t kk = 0;
    for (; kk + 32 <= kc; kk += 32) {
      vmax = _mm256_max_epu8(vmax, _mm256_loadu_si256((const __m256i*)(p + kk)));
    }
    for (; kk < kc; kk++) smax = p[kk] > smax ? p[kk] : smax;
  }
  __m128i m = _mm_max_epu8(_mm256_castsi256_si128(vmax), _mm256_extracti128_si256(vmax, 1));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 8));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 4));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 2));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 1));
  const uint32_t vm = (uint32_t)_mm_cvtsi128_si32(m) & 0xFF;
  return vm > smax ? vm : smax;
}

/* Whether the fast path is exact on this panel: every column's pair bound <= limit, with
 * limit = floor(32767 / x_max). */
static inline int qeq_avx2c4_panel_fast(const uint8_t* panel, __m256i limit) {
  const int32_t* bound = (const int32_t*)panel + (size_t)QEQ_GEMM_HEADER_PAIR_BOUND * QEQ_AVX2C4_NR;
  const __m256i b = _mm256_max_epi32(_mm256_loadu_si256((const __m256i*)bound),
                                     _mm256_loadu_si256((const __m256i*)(bound + 8)));
  return _mm256_movemask_epi8(_mm256_cmpgt_epi32(b, limit)) == 0;
}

/* One group of 4 k on the fast path: acc[i][v] += pair sums of a4[i] . w[v], = when first. */
static inline __attribute__((always_inline)) void qeq_avx2c4_fast_step(
    const size_t rows, const int first, __m256i acc[QEQ_AVX2C4_MR][2], const int32_t* a4,
    const int8_t* wk) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i w0 = _mm256_loadu_si256((const __m256i*)wk);
  const __m256i w1 = _mm256_loadu_si256((const __m256i*)(wk + 32));
#pragma GCC unroll 4
  for (size_t i = 0; i < rows; i++) {
    const __m256i ab = _mm256_set1_epi32(a4[i]);
    const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(ab, w0), ones);
    const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(ab, w1), ones);
    acc[i][0] = first ? p0 : _mm256_add_epi32(acc[i][0], p0);
    acc[i][1] = first ? p1 : _mm256_add_epi32(acc[i][1], p1);
  }
}

/* The fast path's dot products of one panel into acc_out. Accumulators are local and the K
 * tail comes first (one_tap: a GEMM, whose only tap holds the whole row) or at the end of
 * each tap with has_tail a constant: GCC 12 otherwise copies every accumulator each step. */
static inline __attribute__((always_inline)) void qeq_avx2c4_fast_dot(
    const size_t rows, const int one_tap, const int has_tail, size_t kc, size_t taps,
    const uint8_t* const* a, size_t a_offset, const uint8_t* panel,
    __m256i acc_out[QEQ_AVX2C4_MR][2]) {
  enum { NR = QEQ_AVX2C4_NR };
  const size_t k_groups = kc / 4;
  const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
  __m256i acc[QEQ_AVX2C4_MR][2];
  if (one_tap) {
    const uint8_t* row[QEQ_AVX2C4_MR];
    qeq_gemm_tap_rows(rows, a, a_offset, row);
    /* Without a tail, zero activations times the panel header (readable memory). */
    int32_t a4[QEQ_AVX2C4_MR] = {0};
    if (has_tail) qeq_gemm_load_rows_tail(rows, row, 4 * k_groups, kc % 4, a4);
    qeq_avx2c4_fast_step(rows, 1, acc, a4,
                         has_tail ? wk + k_groups * 4 * NR : (const int8_t*)panel);
    for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
      int32_t a4[QEQ_AVX2C4_MR];
      qeq_gemm_load_rows_a4(rows, row, 4 * g, a4);
      qeq_avx2c4_fast_step(rows, 0, acc, a4, wk);
    }
  } else {
    static const int32_t zeros[QEQ_AVX2C4_MR] = {0};
    qeq_avx2c4_fast_step(rows, 1, acc, zeros, (const int8_t*)panel);
    for (size_t t = 0; t < taps; t++, a += rows) {
      const uint8_t* row[QEQ_AVX2C4_MR];
      qeq_gemm_tap_rows(rows, a, a_offset, row);
      for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
        int32_t a4[QEQ_AVX2C4_MR];
        qeq_gemm_load_rows_a4(rows, row, 4 * g, a4);
        qeq_avx2c4_fast_step(rows, 0, acc, a4, wk);
      }
      if (has_tail) {
        int32_t a4[QEQ_AVX2C4_MR];
        qeq_gemm_load_rows_tail(rows, row, 4 * k_groups, kc % 4, a4);
        qeq_avx2c4_fast_step(rows, 0, acc, a4, wk);
        wk += 4 * NR;
      }
    }
  }
#pragma GCC unroll 4
  for (size_t i = 0; i < rows; i++) acc_out[i][0] = acc[i][0], acc_out[i][1] = acc[i][1];
}

/* One group of 4 k on the exact path for rows r0 .. r0 + rows2 - 1: acc[i][v] (4 channels
 * 4v .. 4v + 3, two partial sums each) += a4 widened . w widened, = when first. */
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
      acc[i][v] = first ? p : _mm256_add_epi32(acc[i][v], p);
    }
  }
}

/* The exact dot products of rows r0 .. r0 + rows2 - 1 (rows2 <= 2) into out[r0 ..], with the
 * K tail placed as in qeq_avx2c4_fast_dot. */
static inline __attribute__((always_inline)) void qeq_avx2c4_exact_dot(
    const size_t rows, const size_t r0, const size_t rows2, const int one_tap, const int has_tail,
    size_t kc, size_t taps, const uint8_t* const* a, size_t a_offset, const uint8_t* panel,
    __m256i out[QEQ_AVX2C4_MR][2]) {
  enum { NR = QEQ_AVX2C4_NR };
  const size_t k_groups = kc / 4;
  const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
  __m256i acc[2][4];
  if (one_tap) {
    const uint8_t* row[2];
    qeq_gemm_tap_rows(rows2, a + r0, a_offset, row);
    int32_t a4[2] = {0};
    if (has_tail) qeq_gemm_load_rows_tail(rows2, row, 4 * k_groups, kc % 4, a4);
    qeq_avx2c4_exact_step(rows2, 1, acc, a4,
                          has_tail ? wk + k_groups * 4 * NR : (const int8_t*)panel);
    for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
      qeq_gemm_load_rows_a4(rows2, row, 4 * g, a4);
      qeq_avx2c4_exact_step(rows2, 0, acc, a4, wk);
    }
  } else {
    static const int32_t zeros[2] = {0};
    qeq_avx2c4_exact_step(rows2, 1, acc, zeros, (const int8_t*)panel);
    for (size_t t = 0; t < taps; t++, a += rows) {
      const uint8_t* row[2];
      qeq_gemm_tap_rows(rows2, a + r0, a_offset, row);
      for (size_t g = 0; g < k_groups; g++, wk += 4 * NR) {
        int32_t a4[2];
        qeq_gemm_load_rows_a4(rows2, row, 4 * g, a4);
        qeq_avx2c4_exact_step(rows2, 0, acc, a4, wk);
      }
      if (has_tail) {
        int32_t a4[2];
        qeq_gemm_load_rows_tail(rows2, row, 4 * k_groups, kc % 4, a4);
        qeq_avx2c4_exact_step(rows2, 0, acc, a4, wk);
        wk += 4 * NR;
      }
    }
  }
  /* vphaddd leaves channels 0 1 4 5 | 2 3 6 7; vpermq puts them in order. */
#pragma GCC unroll 2
  for (size_t i = 0; i < rows2; i++) {
    out[r0 + i][0] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][0], acc[i][1]), 0xD8);
    out[r0 + i][1] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][2], acc[i][3]), 0xD8);
  }
}

static inline __attribute__((always_inline)) void qeq_avx2c4_dot(
    const size_t rows, const int fast, const int one_tap, const int has_tail, size_t kc,
    size_t taps, const uint8_t* const* a, size_t a_offset, const uint8_t* panel,
    __m256i acc[QEQ_AVX2C4_MR][2]) {
  if (fast) {
    qeq_avx2c4_fast_dot(rows, one_tap, has_tail, kc, taps, a, a_offset, panel, acc);
    return;
  }
  qeq_avx2c4_exact_dot(rows, 0, rows < 2 ? rows : 2, one_tap, has_tail, kc, taps, a, a_offset,
                       panel, acc);
  if (rows > 2) {
    qeq_avx2c4_exact_dot(rows, 2, rows - 2, one_tap, has_tail, kc, taps, a, a_offset, panel, acc);
  }
}

/* The tile for a constant row count: rows i < rows of taps taps (row pointers a[t * rows +
 * i] + a_offset, kc bytes each; one_tap, a constant: a GEMM, taps = 1), panels of the packed
 * weights for columns [0, nc). */
static inline __attribute__((always_inline)) void qeq_avx2c4_rows(
    const size_t rows, const int one_tap, size_t nc, size_t kc, size_t taps,
    const uint8_t* const* a, size_t a_offset, const int32_t* row_sums, const uint8_t* panel,
    uint8_t* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  enum { NR = QEQ_AVX2C4_NR, KR = QEQ_AVX2C4_KR };
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps * qeq_igemm_tap_bytes(kc, KR), NR, KR);
  const __m256i za = _mm256_set1_epi32(params->a_zero_point);
  const uint32_t x_max = qeq_avx2c4_rows_max(rows, kc, taps, a, a_offset);
  const __m256i limit = _mm256_set1_epi32(x_max == 0 ? INT32_MAX : (int32_t)(32767 / x_max));
  const int has_tail = kc % 4 != 0;
  uint64_t fast_panels = 0, panels = 0;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes, panels++) {
    const int fast = qeq_avx2c4_panel_fast(panel, limit);
    fast_panels += (uint64_t)fast;
    /* Constant flags, so no path branches inside its k loop, and an epilogue per path: where
     * the paths' accumulators merge, GCC 12 copies every accumulator each k step. */
#define QEQ_AVX2C4_PANEL(fast_, tail_)                                                     \
  do {                                                                                     \
    __m256i acc[QEQ_AVX2C4_MR][2];                                                         \
    qeq_avx2c4_dot(rows, fast_, one_tap, tail_, kc, taps, a, a_offset, panel, acc);        \
    qeq_gemm_epilogue_avx256(rows, acc, panel, j0, nc, row_sums, za, c, c_stride, params); \
  } while (0)
    if (fast && has_tail) {
      QEQ_AVX2C4_PANEL(1, 1);
    } else if (fast) {
      QEQ_AVX2C4_PANEL(1, 0);
    } else if (has_tail) {
      QEQ_AVX2C4_PANEL(0, 1);
    } else {
      QEQ_AVX2C4_PANEL(0, 0);
    }
#undef QEQ_AVX2C4_PANEL
  }
  qeq_gemm_count_paths(params, fast_panels, panels - fast_panels);
}

#endif /* QEQ_KERNELS_QU8S8_GEMM_AVX2_C4_H */
