/* The GEMM epilogue of kernels/ukernels.h for the 256-bit templates without AVX-512
 * (qu8s8-gemm-avxvnni.h, qu8s8-gemm-avx2-c4.h): zero-point correction of one panel's
 * MR x NV ymm accumulators and the fused Q8 / F32 / S32 store. gemm-epilogue-scalar.h
 * operation for operation, but for the wrapping int32 adds, regrouped (the same sums in any
 * order). AVX2 has no masked store, so a partial vector is stored through a small buffer. The
 * includer defines QEQ_GEMM_MR and QEQ_GEMM_NV (NR = 8 * NV columns), as the accumulator array's
 * type depends on them. */
#ifndef QEQ_KERNELS_COMMON_GEMM_EPILOGUE_AVX256_H
#define QEQ_KERNELS_COMMON_GEMM_EPILOGUE_AVX256_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/partial-bytes.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

#if !defined(QEQ_GEMM_MR) || !defined(QEQ_GEMM_NV)
#error "define QEQ_GEMM_MR and QEQ_GEMM_NV before including gemm-epilogue-avx256.h"
#endif

/* The low byte of each int32 lane (as AVX-512's vpmovdb), in the low 8 bytes. */
static inline __m128i qeq_gemm_avx256_low_bytes(__m256i q) {
  const __m256i pick =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i b = _mm256_shuffle_epi8(q, pick);
  return _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
}

/* Two rows' 16 quantized outputs each (q0v for columns 0-7, q1v for 8-15, int32 lanes in
 * [-128, 255]) as bytes at out0 and out1. vpackssdw keeps every value; the mask leaves each
 * int16 its low byte, which vpackuswb then keeps whether the output is signed or not;
 * vpermd puts the dwords of the two rows in column order. */
static inline void qeq_gemm_avx256_store_rows16(__m256i q00, __m256i q01, __m256i q10, __m256i q11,
                                                uint8_t* out0, uint8_t* out1) {
  const __m256i low_byte = _mm256_set1_epi16(0xFF);
  const __m256i a = _mm256_and_si256(_mm256_packs_epi32(q00, q01), low_byte);
  const __m256i b = _mm256_and_si256(_mm256_packs_epi32(q10, q11), low_byte);
  const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a, b),
                                                    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm_storeu_si128((__m128i*)out0, _mm256_castsi256_si128(bytes));
  if (out1 != NULL) _mm_storeu_si128((__m128i*)out1, _mm256_extracti128_si256(bytes, 1));
}

/* Panel columns j0 .. j0 + min(nc - j0, NR) of rows 0 .. rows - 1; za is a_zero_point
 * broadcast. Always inlined so acc stays in registers: an out-of-line call would pass it
 * through memory. */
static inline __attribute__((always_inline)) void qeq_gemm_epilogue_avx256(
    const size_t rows, __m256i acc[QEQ_GEMM_MR][QEQ_GEMM_NV], const uint8_t* panel, size_t j0,
    size_t nc, const int32_t* row_sums, __m256i za, uint8_t* c, size_t c_stride,
    const qeq_gemm_ukernel_params* params) {
  enum { NV = QEQ_GEMM_NV, NR = 8 * QEQ_GEMM_NV };
  /* acc += acc_init - za * w_sum [- w_zero_point * row_sum] [+ bias_q, Q8], then the store.
   * The int32 adds wrap, so the Q8 bias joins the correction with every sum unchanged. */
  const int32_t* header = (const int32_t*)panel;
  const size_t nr = nc - j0 < NR ? nc - j0 : NR;
  const int q8 = params->store == QEQ_GEMM_STORE_Q8;
  size_t count[NV]; /* columns of this panel in vector v: 0..8 */
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; v++) {
    count[v] = nr > 8 * v ? (nr - 8 * v < 8 ? nr - 8 * v : 8) : 0;
    const __m256i init =
        _mm256_loadu_si256((const __m256i*)(header + QEQ_GEMM_HEADER_ACC_INIT * NR + 8 * v));
    const __m256i w_sum =
        _mm256_loadu_si256((const __m256i*)(header + QEQ_GEMM_HEADER_W_SUM * NR + 8 * v));
    __m256i corr = _mm256_sub_epi32(init, _mm256_mullo_epi32(za, w_sum));
    if (q8) {
      corr = _mm256_add_epi32(
          corr, _mm256_loadu_si256((const __m256i*)(header + QEQ_GEMM_HEADER_BIAS_Q * NR + 8 * v)));
    }
#pragma GCC unroll 16
    for (size_t i = 0; i < rows; i++) acc[i][v] = _mm256_add_epi32(acc[i][v], corr);
    if (row_sums != NULL) {
      const __m256i w_zp =
          _mm256_loadu_si256((const __m256i*)(header + QEQ_GEMM_HEADER_W_ZERO_POINT * NR + 8 * v));
#pragma GCC unroll 16
      for (size_t i = 0; i < rows; i++) {
        acc[i][v] =
            _mm256_sub_epi32(acc[i][v], _mm256_mullo_epi32(w_zp, _mm256_set1_epi32(row_sums[i])));
      }
    }
  }

  if (q8) {
    const __m256 lo = _mm256_set1_ps(params->out_lo);
    const __m256 hi = _mm256_set1_ps(params->out_hi);
    const __m256i zp = _mm256_set1_epi32(params->out_zero_point);
    const __m256 offset = _mm256_set1_ps(params->out_offset);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      if (count[v] == 0) break;
      const __m256 bias_f =
          _mm256_loadu_ps((const float*)header + QEQ_GEMM_HEADER_BIAS_F * NR + 8 * v);
      const __m256 mult =
          _mm256_loadu_ps((const float*)header + QEQ_GEMM_HEADER_MULTIPLIER * NR + 8 * v);
#pragma GCC unroll 16
      for (size_t i = 0; i < rows; i++) {
        const __m256 sum = _mm256_add_ps(_mm256_cvtepi32_ps(acc[i][v]), bias_f);
        __m256 x = _mm256_add_ps(_mm256_mul_ps(sum, mult), offset);
        /* max(lo, x) and min(hi, x) in this operand order are the scalar comparisons. */
        x = _mm256_max_ps(lo, x);
        x = _mm256_min_ps(hi, x);
        acc[i][v] = _mm256_add_epi32(_mm256_cvtps_epi32(x), zp); /* in [qmin, qmax] */
      }
    }
    if (NV == 2 && nr == NR) {
      /* A whole panel of 16 columns: two rows per store step. */
#pragma GCC unroll 8
      for (size_t i = 0; i < rows; i += 2) {
        qeq_gemm_avx256_store_rows16(acc[i][0], acc[i][NV - 1], acc[i + 1 < rows ? i + 1 : i][0],
                                     acc[i + 1 < rows ? i + 1 : i][NV - 1], c + i * c_stride + j0,
                                     i + 1 < rows ? c + (i + 1) * c_stride + j0 : NULL);
      }
    } else {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; v++) {
        if (count[v] == 0) break;
#pragma GCC unroll 16
        for (size_t i = 0; i < rows; i++) {
          uint8_t* out = c + i * c_stride + j0 + 8 * v;
          const __m128i bytes = qeq_gemm_avx256_low_bytes(acc[i][v]);
          qeq_store_partial8(out, (uint64_t)_mm_cvtsi128_si64(bytes), count[v]);
        }
      }
    }
  } else if (params->store == QEQ_GEMM_STORE_F32) {
    const __m256 lo = _mm256_set1_ps(params->out_lo);
    const __m256 hi = _mm256_set1_ps(params->out_hi);
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
        __m256 x = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][v]), scale), bias_f);
        /* In this operand order NaN and -0.0 pass, as the scalar comparisons let them. */
        x = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
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

#endif /* QEQ_KERNELS_COMMON_GEMM_EPILOGUE_AVX256_H */
