/* The AVX-VNNI qu8s8 GEMM (VEX vpdpbusd on ymm, AVX2 around it, no AVX-512), one template
 * for every MRxNRc4 tile: a tile file defines QEQ_GEMM_MR and QEQ_GEMM_NV (NR = 8 * NV int32
 * columns, one ymm each) and includes this. Same scheme as qu8s8-gemm-avx512vnni.h: per group
 * of 4 k, NV weight vectors, one 32-bit activation broadcast per row, vpdpbusd (exact,
 * non-saturating); one instantiation per row count 1..MR; the epilogue of
 * gemm-epilogue-scalar.h operation for operation. With 16 ymm registers MR * NV + NV + 1 must
 * stay <= 16. AVX2 has no masked byte store, so a partial last panel is stored through a
 * small buffer, element by element. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

#define QEQ_GEMM_NR (8 * QEQ_GEMM_NV)

/* Weight prefetch distance: at M = 1 the weights stream from L3 or DRAM and one row of work
 * per 64-byte line is too little to keep the hardware prefetcher ahead. */
#ifndef QEQ_GEMM_W_PREFETCH
#define QEQ_GEMM_W_PREFETCH 1024
#endif

/* 4 activation bytes as one int32 (the broadcast operand); fewer when the K tail is short,
 * zero above, so nothing past row end is read. The weights there are zero anyway. */
static inline int32_t qeq_gemm_vnni256_load_a4(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline int32_t qeq_gemm_vnni256_load_a_tail(const uint8_t* p, size_t n) {
  uint32_t v = 0;
  for (size_t b = 0; b < n; b++) v |= (uint32_t)p[b] << (8 * b);
  return (int32_t)v;
}

/* The low byte of each int32 lane (as AVX-512's vpmovdb), in the low 8 bytes. */
static inline __m128i qeq_gemm_vnni256_low_bytes(__m256i q) {
  const __m256i pick =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i b = _mm256_shuffle_epi8(q, pick);
  return _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
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
  {
    __m256i wv[NV];
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) wv[v] = _mm256_loadu_si256((const __m256i*)(wt + 32 * v));
#pragma GCC unroll 16
    for (size_t i = 0; i < rows; i++) {
      const __m256i ab = _mm256_set1_epi32(a_tail[i]);
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) {
        acc[i][v] = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ab, wv[v]);
      }
    }
  }
  const uint8_t* ak = a;
  for (size_t g = 0; g < k_groups; g++, ak += 4, wk += NR * 4) {
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
      const __m256i ab = _mm256_set1_epi32(qeq_gemm_vnni256_load_a4(ak + i * a_stride));
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) acc[i][v] = _mm256_dpbusd_avx_epi32(acc[i][v], ab, wv[v]);
    }
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
    a_tail[i] = qeq_gemm_vnni256_load_a_tail(a + i * a_stride + 4 * k_groups, k_tail);
  }
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    /* With no K tail, the tail step multiplies zero activations by the panel header, memory
     * that exists, instead of reading past the panel. */
    const int8_t* wt = k_tail != 0 ? wk + k_groups * NR * 4 : (const int8_t*)panel;
    __m256i acc[MR][NV];
    qeq_gemm_vnni256_dot(rows, k_groups, a, a_stride, a_tail, wk, wt, acc);

    /* Epilogue: acc += acc_init - za * w_sum [- w_zero_point * row_sum], then the store. */
    const int32_t* header = (const int32_t*)panel;
    const size_t nr = nc - j0 < NR ? nc - j0 : NR;
    size_t count[NV]; /* columns of this panel in vector v: 0..8 */
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      count[v] = nr > 8 * v ? (nr - 8 * v < 8 ? nr - 8 * v : 8) : 0;
      const __m256i init =
          _mm256_loadu_si256((const __m256i*)(header + QEQ_GEMM_HEADER_ACC_INIT * NR + 8 * v));
      const __m256i w_sum =
          _mm256_loadu_si256((const __m256i*)(header + QEQ_GEMM_HEADER_W_SUM * NR + 8 * v));
      const __m256i corr = _mm256_sub_epi32(init, _mm256_mullo_epi32(za, w_sum));
#pragma GCC unroll 16
      for (size_t i = 0; i < rows; i++) acc[i][v] = _mm256_add_epi32(acc[i][v], corr);
      if (row_sums != NULL) {
        const __m256i w_zp = _mm256_loadu_si256(
            (const __m256i*)(header + QEQ_GEMM_HEADER_W_ZERO_POINT * NR + 8 * v));
#pragma GCC unroll 16
        for (size_t i = 0; i < rows; i++) {
          acc[i][v] =
              _mm256_sub_epi32(acc[i][v], _mm256_mullo_epi32(w_zp, _mm256_set1_epi32(row_sums[i])));
        }
      }
    }

    if (params->store == QEQ_GEMM_STORE_Q8) {
      const __m256 lo = _mm256_set1_ps(params->out_lo);
      const __m256 hi = _mm256_set1_ps(params->out_hi);
      const __m256i zp = _mm256_set1_epi32(params->out_zero_point);
      const __m256 offset = _mm256_set1_ps(params->out_offset);
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) {
        if (count[v] == 0) break;
        const __m256i bias_q =
            _mm256_loadu_si256((const __m256i*)(header + QEQ_GEMM_HEADER_BIAS_Q * NR + 8 * v));
        const __m256 bias_f =
            _mm256_loadu_ps((const float*)header + QEQ_GEMM_HEADER_BIAS_F * NR + 8 * v);
        const __m256 mult =
            _mm256_loadu_ps((const float*)header + QEQ_GEMM_HEADER_MULTIPLIER * NR + 8 * v);
#pragma GCC unroll 16
        for (size_t i = 0; i < rows; i++) {
          const __m256 sum =
              _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[i][v], bias_q)), bias_f);
          __m256 x = _mm256_add_ps(_mm256_mul_ps(sum, mult), offset);
          /* max(lo, x) and min(hi, x) in this operand order are the scalar comparisons. */
          x = _mm256_max_ps(lo, x);
          x = _mm256_min_ps(hi, x);
          const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(x), zp);
          uint8_t* out = c + i * c_stride + j0 + 8 * v;
          const __m128i bytes = qeq_gemm_vnni256_low_bytes(q);
          if (count[v] == 8) {
            _mm_storel_epi64((__m128i*)out, bytes);
          } else {
            uint8_t buf[16];
            _mm_storeu_si128((__m128i*)buf, bytes);
            memcpy(out, buf, count[v]);
          }
        }
      }
    } else if (params->store == QEQ_GEMM_STORE_F32) {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) {
        if (count[v] == 0) break;
        const __m256 bias_f =
            _mm256_loadu_ps((const float*)header + QEQ_GEMM_HEADER_BIAS_F * NR + 8 * v);
        const __m256 scale = _mm256_mul_ps(
            _mm256_set1_ps(params->a_scale),
            _mm256_loadu_ps((const float*)header + QEQ_GEMM_HEADER_MULTIPLIER * NR + 8 * v));
#pragma GCC unroll 16
        for (size_t i = 0; i < rows; i++) {
          const __m256 x =
              _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][v]), scale), bias_f);
          float* out = (float*)(c + i * c_stride) + j0 + 8 * v;
          if (count[v] == 8) {
            _mm256_storeu_ps(out, x);
          } else {
            float buf[8];
            _mm256_storeu_ps(buf, x);
            memcpy(out, buf, count[v] * sizeof(float));
          }
        }
      }
    } else {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) {
        if (count[v] == 0) break;
#pragma GCC unroll 16
        for (size_t i = 0; i < rows; i++) {
          int32_t* out = (int32_t*)(c + i * c_stride) + j0 + 8 * v;
          if (count[v] == 8) {
            _mm256_storeu_si256((__m256i*)out, acc[i][v]);
          } else {
            int32_t buf[8];
            _mm256_storeu_si256((__m256i*)buf, acc[i][v]);
            memcpy(out, buf, count[v] * sizeof(int32_t));
          }
        }
      }
    }
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
  _Static_assert(QEQ_GEMM_MR >= 1 && QEQ_GEMM_MR <= 12, "tile rows 1..12");
  _Static_assert(QEQ_GEMM_MR * QEQ_GEMM_NV + QEQ_GEMM_NV + 1 <= 16, "16 ymm registers");
  switch (mr) {
    QEQ_GEMM_ROWS_CASE(1)
#if QEQ_GEMM_MR >= 2
    QEQ_GEMM_ROWS_CASE(2)
#endif
#if QEQ_GEMM_MR >= 3
    QEQ_GEMM_ROWS_CASE(3)
#endif
#if QEQ_GEMM_MR >= 4
    QEQ_GEMM_ROWS_CASE(4)
#endif
#if QEQ_GEMM_MR >= 5
    QEQ_GEMM_ROWS_CASE(5)
#endif
#if QEQ_GEMM_MR >= 6
    QEQ_GEMM_ROWS_CASE(6)
#endif
#if QEQ_GEMM_MR >= 7
    QEQ_GEMM_ROWS_CASE(7)
#endif
#if QEQ_GEMM_MR >= 8
    QEQ_GEMM_ROWS_CASE(8)
#endif
#if QEQ_GEMM_MR >= 9
    QEQ_GEMM_ROWS_CASE(9)
#endif
#if QEQ_GEMM_MR >= 10
    QEQ_GEMM_ROWS_CASE(10)
#endif
#if QEQ_GEMM_MR >= 11
    QEQ_GEMM_ROWS_CASE(11)
#endif
#if QEQ_GEMM_MR >= 12
    QEQ_GEMM_ROWS_CASE(12)
#endif
    default: break;
  }
}
