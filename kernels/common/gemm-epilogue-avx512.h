/* The GEMM epilogue of kernels/ukernels.h for the AVX-512 templates (qu8s8-gemm-avx512.h,
 * qu8s8-gemm-avx512vnni.h): zero-point correction of one panel's MR x NV zmm accumulators and
 * the fused Q8 / F32 / S32 store, masked for a partial panel. gemm-epilogue-scalar.h
 * operation for operation. The includer defines QEQ_GEMM_MR and QEQ_GEMM_NV (NR = 16 * NV
 * columns), as the accumulator array's type depends on them. */
#ifndef QEQ_KERNELS_COMMON_GEMM_EPILOGUE_AVX512_H
#define QEQ_KERNELS_COMMON_GEMM_EPILOGUE_AVX512_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

#if !defined(QEQ_GEMM_MR) || !defined(QEQ_GEMM_NV)
#error "define QEQ_GEMM_MR and QEQ_GEMM_NV before including gemm-epilogue-avx512.h"
#endif

/* Panel columns j0 .. j0 + min(nc - j0, NR) of rows 0 .. rows - 1; za is a_zero_point
 * broadcast. Always inlined so acc stays in registers: an out-of-line call would pass it
 * through memory. */
static inline __attribute__((always_inline)) void qeq_gemm_epilogue_avx512(
    const size_t rows, __m512i acc[QEQ_GEMM_MR][QEQ_GEMM_NV], const uint8_t* panel, size_t j0,
    size_t nc, const int32_t* row_sums, __m512i za, uint8_t* c, size_t c_stride,
    const qeq_gemm_ukernel_params* params) {
  enum { NV = QEQ_GEMM_NV, NR = 16 * QEQ_GEMM_NV };
  /* acc += acc_init - za * w_sum [- w_zero_point * row_sum], then the store. */
  const int32_t* header = (const int32_t*)panel;
  const size_t nr = nc - j0 < NR ? nc - j0 : NR;
  uint16_t mask[NV]; /* __mmask16, which SIMDe does not alias */
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; v++) {
    const size_t n = nr > 16 * v ? nr - 16 * v : 0;
    mask[v] = n >= 16 ? (uint16_t)0xFFFF : (uint16_t)((1u << n) - 1u);
    const __m512i init =
        _mm512_loadu_si512((const void*)(header + QEQ_GEMM_HEADER_ACC_INIT * NR + 16 * v));
    const __m512i w_sum =
        _mm512_loadu_si512((const void*)(header + QEQ_GEMM_HEADER_W_SUM * NR + 16 * v));
    const __m512i corr = _mm512_sub_epi32(init, _mm512_mullo_epi32(za, w_sum));
#pragma GCC unroll 16
    for (size_t i = 0; i < rows; i++) acc[i][v] = _mm512_add_epi32(acc[i][v], corr);
    if (row_sums != NULL) {
      const __m512i w_zp =
          _mm512_loadu_si512((const void*)(header + QEQ_GEMM_HEADER_W_ZERO_POINT * NR + 16 * v));
#pragma GCC unroll 16
      for (size_t i = 0; i < rows; i++) {
        acc[i][v] =
            _mm512_sub_epi32(acc[i][v], _mm512_mullo_epi32(w_zp, _mm512_set1_epi32(row_sums[i])));
      }
    }
  }

  if (params->store == QEQ_GEMM_STORE_Q8) {
    const __m512 lo = _mm512_set1_ps(params->out_lo);
    const __m512 hi = _mm512_set1_ps(params->out_hi);
    const __m512i zp = _mm512_set1_epi32(params->out_zero_point);
    const __m512 offset = _mm512_set1_ps(params->out_offset);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      if (mask[v] == 0) break;
      const __m512i bias_q =
          _mm512_loadu_si512((const void*)(header + QEQ_GEMM_HEADER_BIAS_Q * NR + 16 * v));
      const __m512 bias_f =
          _mm512_loadu_ps((const float*)header + QEQ_GEMM_HEADER_BIAS_F * NR + 16 * v);
      const __m512 mult =
          _mm512_loadu_ps((const float*)header + QEQ_GEMM_HEADER_MULTIPLIER * NR + 16 * v);
#pragma GCC unroll 16
      for (size_t i = 0; i < rows; i++) {
        const __m512 sum =
            _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[i][v], bias_q)), bias_f);
        __m512 x = _mm512_add_ps(_mm512_mul_ps(sum, mult), offset);
        /* max(lo, x) and min(hi, x) in this operand order are the scalar comparisons. */
        x = _mm512_max_ps(lo, x);
        x = _mm512_min_ps(hi, x);
        const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(x), zp);
        uint8_t* out = c + i * c_stride + j0 + 16 * v;
        if (mask[v] == 0xFFFF) {
          _mm_storeu_si128((__m128i*)out, _mm512_cvtepi32_epi8(q));
        } else {
          _mm512_mask_cvtepi32_storeu_epi8(out, mask[v], q);
        }
      }
    }
  } else if (params->store == QEQ_GEMM_STORE_F32) {
    const __m512 lo = _mm512_set1_ps(params->out_lo);
    const __m512 hi = _mm512_set1_ps(params->out_hi);
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      if (mask[v] == 0) break;
      const __m512 bias_f =
          _mm512_loadu_ps((const float*)header + QEQ_GEMM_HEADER_BIAS_F * NR + 16 * v);
      const __m512 scale = _mm512_mul_ps(
          _mm512_set1_ps(params->a_scale),
          _mm512_loadu_ps((const float*)header + QEQ_GEMM_HEADER_MULTIPLIER * NR + 16 * v));
#pragma GCC unroll 16
      for (size_t i = 0; i < rows; i++) {
        __m512 x = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[i][v]), scale), bias_f);
        /* In this operand order NaN and -0.0 pass, as the scalar comparisons let them. */
        x = _mm512_min_ps(hi, _mm512_max_ps(lo, x));
        float* out = (float*)(c + i * c_stride) + j0 + 16 * v;
        if (mask[v] == 0xFFFF) {
          _mm512_storeu_ps(out, x);
        } else {
          _mm512_mask_storeu_ps(out, mask[v], x);
        }
      }
    }
  } else {
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; v++) {
      if (mask[v] == 0) break;
#pragma GCC unroll 16
      for (size_t i = 0; i < rows; i++) {
        int32_t* out = (int32_t*)(c + i * c_stride) + j0 + 16 * v;
        if (mask[v] == 0xFFFF) {
          _mm512_storeu_si512((void*)out, acc[i][v]);
        } else {
          _mm512_mask_storeu_epi32(out, mask[v], acc[i][v]);
        }
      }
    }
  }
}

#endif /* QEQ_KERNELS_COMMON_GEMM_EPILOGUE_AVX512_H */
