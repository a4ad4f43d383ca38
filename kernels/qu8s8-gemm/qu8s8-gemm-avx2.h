/* The AVX2 qu8s8 step shared by the GEMM (its path for rows too long to widen once) and the
 * indirect GEMM: both operands widened to int16 and multiplied with vpmaddwd, whose pair sums
 * of u8 x s8 products (at most 2 * 255 * 128) cannot saturate, unlike vpmaddubsw's int16 sums.
 * The includer defines QEQ_GEMM_MR (NR is 16: two ymm of 8 int32 columns). */
#ifndef QEQ_KERNELS_QU8S8_GEMM_AVX2_H
#define QEQ_KERNELS_QU8S8_GEMM_AVX2_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/common/prefetch.h"
#include "kernels/common/x86.h"

#if !defined(QEQ_GEMM_MR)
#error "define QEQ_GEMM_MR before including qu8s8-gemm-avx2.h"
#endif

/* 8 columns x one k pair of packed weights (16 bytes), sign-extended to int16. */
static inline __m256i qeq_gemm_avx2_load_w8(const int8_t* wk) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)wk));
}

/* Two k pairs: acc[i][0..1] += a4[i] bytes 0,1 . w0p + bytes 2,3 . w1p (16 columns x 2 bytes
 * each), with a4[i] row i's 4 activation bytes, zero-extended into each int32 by vpshufb. */
static inline __attribute__((always_inline)) void qeq_gemm_avx2_step(const size_t rows,
                                                                     __m256i acc[QEQ_GEMM_MR][2],
                                                                     const int32_t* a4,
                                                                     const int8_t* w0p,
                                                                     const int8_t* w1p) {
  const __m256i pair0 = _mm256_set1_epi32((int32_t)0x80018000u);
  const __m256i pair1 = _mm256_set1_epi32((int32_t)0x80038002u);
  qeq_prefetch_row_ahead(w0p);
  const __m256i w00 = qeq_gemm_avx2_load_w8(w0p), w01 = qeq_gemm_avx2_load_w8(w0p + 16);
  const __m256i w10 = qeq_gemm_avx2_load_w8(w1p), w11 = qeq_gemm_avx2_load_w8(w1p + 16);
  for (size_t i = 0; i < rows; i++) {
    const __m256i av = _mm256_set1_epi32(a4[i]);
    const __m256i a0 = _mm256_shuffle_epi8(av, pair0);
    const __m256i a1 = _mm256_shuffle_epi8(av, pair1);
    acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a0, w00));
    acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a0, w01));
    acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a1, w10));
    acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a1, w11));
  }
}

#endif /* QEQ_KERNELS_QU8S8_GEMM_AVX2_H */
