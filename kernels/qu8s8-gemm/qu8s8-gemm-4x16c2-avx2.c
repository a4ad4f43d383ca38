/* AVX2 qu8s8 GEMM, 4 rows x 16 columns, k in pairs (c2). Both operands are widened to int16
 * and multiplied with vpmaddwd, whose pair sums of u8 x s8 products (at most 2 * 255 * 128)
 * cannot saturate, unlike vpmaddubsw's int16 sums.
 * The activation rows are widened to uint16 once per call, into a stack tile, so that each
 * k pair of a row is one broadcast load: widening them in the loop (a pshufb per pair and
 * row) took 3 vector uops per vpmaddwd instead of about 2.25, and vpmaddwd shares its pipes
 * with the shuffles. Rows longer than WIDE_K_MAX take the in-loop path. */
#include <stdint.h>
#include <string.h>

#include "kernels/common/prefetch.h"
#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/ukernels.h"

/* 4 rows of two ymm accumulators, as the shared epilogue sees the tile. */
#define QEQ_GEMM_MR 4
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx256.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-avx2.h"

enum { MR = QEQ_GEMM_MR, NR = 8 * QEQ_GEMM_NV, KR = 2 };
/* 4 rows x 4096 k x 2 bytes: a 32 KiB stack tile, which stays in L1 beside the panel. */
enum { WIDE_K_MAX = 4096 };

/* The tile for a constant row count: instantiated once per count 1..MR below, so a short
 * last row block does no work for rows it does not own and never reads them. */
static inline __attribute__((always_inline)) void gemm_rows(const size_t rows, size_t nc, size_t k,
                                                            const uint8_t* a, size_t a_stride,
                                                            const int32_t* row_sums, const void* w,
                                                            void* c, size_t c_stride,
                                                            const qeq_gemm_ukernel_params* params) {
  const uint8_t* a_row[MR];
  for (size_t i = 0; i < rows; i++) a_row[i] = a + i * a_stride;
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, KR);
  const __m256i za = _mm256_set1_epi32(params->a_zero_point);
  /* K tail's activation pair (a[k], a[k+1]) from a broadcast dword, zero-extended into each
   * int32. */
  const __m256i pair0 = _mm256_set1_epi32((int32_t)0x80018000u);

  /* The widened rows; k16 = k rounded up to pairs. The tail below reads a_row, not this. */
  uint16_t a16_tile[MR * WIDE_K_MAX];
  const size_t k16 = (k + 1) & ~(size_t)1;
  const uint16_t* a16 = NULL;
  if (k <= WIDE_K_MAX) {
    for (size_t i = 0; i < rows; i++) {
      uint16_t* dst = a16_tile + i * k16;
      size_t kk = 0;
      for (; kk + 16 <= k; kk += 16) {
        _mm256_storeu_si256((__m256i*)(dst + kk),
                            _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)(a_row[i] + kk))));
      }
      for (; kk < k; kk++) dst[kk] = a_row[i][kk];
      if (k16 != k) dst[k] = 0;
    }
    a16 = a16_tile;
  }

  const uint8_t* panel = w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    __m256i acc[MR][2];
    for (size_t i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();

    size_t kk = 0;
    if (a16 != NULL) {
      /* Two k pairs per step, so each row's accumulators see two independent products. */
      for (; kk + 4 <= k; kk += 4, wk += 4 * NR) {
        qeq_prefetch_row_ahead(wk);
        const __m256i w00 = qeq_gemm_avx2_load_w8(wk), w01 = qeq_gemm_avx2_load_w8(wk + 16);
        const __m256i w10 = qeq_gemm_avx2_load_w8(wk + 32), w11 = qeq_gemm_avx2_load_w8(wk + 48);
        for (size_t i = 0; i < rows; i++) {
          const __m256i a0 = _mm256_set1_epi32(qeq_gemm_load_a4(a16 + i * k16 + kk));
          const __m256i a1 = _mm256_set1_epi32(qeq_gemm_load_a4(a16 + i * k16 + kk + 2));
          acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a0, w00));
          acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a0, w01));
          acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a1, w10));
          acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a1, w11));
        }
      }
    }
    for (; kk + 4 <= k; kk += 4, wk += 4 * NR) {
      int32_t a4[MR];
      qeq_gemm_load_rows_a4(rows, a_row, kk, a4);
      qeq_gemm_avx2_step(rows, acc, a4, wk, wk + 2 * NR);
    }
    /* K tail: one or two pairs, reading only the bytes that exist (padded weights are 0). */
    for (; kk < k; kk += 2, wk += 2 * NR) {
      const __m256i w00 = qeq_gemm_avx2_load_w8(wk), w01 = qeq_gemm_avx2_load_w8(wk + 16);
      for (size_t i = 0; i < rows; i++) {
        const uint32_t pair = k - kk >= 2 ? qeq_gemm_load_a2(a_row[i] + kk) : a_row[i][kk];
        const __m256i a0 = _mm256_shuffle_epi8(_mm256_set1_epi32((int32_t)pair), pair0);
        acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a0, w00));
        acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a0, w01));
      }
    }

    qeq_gemm_epilogue_avx256(rows, acc, panel, j0, nc, row_sums, za, (uint8_t*)c, c_stride, params);
  }
}

void QEQ_X86_KERNEL(qeq_qu8s8_gemm_ukernel_4x16c2__avx2)(size_t mr, size_t nc, size_t k,
                                                         const uint8_t* a, size_t a_stride,
                                                         const int32_t* row_sums, const void* w,
                                                         void* c, size_t c_stride,
                                                         const qeq_gemm_ukernel_params* params) {
  switch (mr) {
    case 1: gemm_rows(1, nc, k, a, a_stride, row_sums, w, c, c_stride, params); break;
    case 2: gemm_rows(2, nc, k, a, a_stride, row_sums, w, c, c_stride, params); break;
    case 3: gemm_rows(3, nc, k, a, a_stride, row_sums, w, c, c_stride, params); break;
    case 4: gemm_rows(4, nc, k, a, a_stride, row_sums, w, c, c_stride, params); break;
    default: break;
  }
}
