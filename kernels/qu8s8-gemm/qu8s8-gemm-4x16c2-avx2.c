/* AVX2 qu8s8 GEMM, 4 rows x 16 columns, k in pairs (c2). Both operands are widened to int16
 * and multiplied with vpmaddwd, whose pair sums of u8 x s8 products (at most 2 * 255 * 128)
 * cannot saturate, unlike vpmaddubsw's int16 sums. */
#include <stdint.h>
#include <string.h>

#include "kernels/common/prefetch.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

enum { MR = 4, NR = 16, KR = 2 };

static inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline __m256i load_header(const uint8_t* panel, int array, size_t half) {
  return _mm256_loadu_si256((const __m256i*)(panel + (array * NR + half * 8) * sizeof(int32_t)));
}

/* Stores 8 int32 lanes as their low bytes (the Q8 value is in range, so no saturation). */
static inline __m128i low_bytes(__m256i lo, __m256i hi) {
  const __m256i mask = _mm256_set1_epi32(0xFF);
  const __m256i words = _mm256_packus_epi32(_mm256_and_si256(lo, mask), _mm256_and_si256(hi, mask));
  const __m256i bytes = _mm256_packus_epi16(words, words);
  /* Lane 0 holds lo[0..3] hi[0..3], lane 1 lo[4..7] hi[4..7]: gather lo then hi. */
  return _mm256_castsi256_si128(
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5)));
}

/* The tile for a constant row count: instantiated once per count 1..MR below, so a short
 * last row block does no work for rows it does not own and never reads them. */
static inline __attribute__((always_inline)) void gemm_rows(const size_t rows, size_t nc, size_t k,
                                                            const uint8_t* a, size_t a_stride,
                                                            const int32_t* row_sums, const void* w,
                                                            void* c, size_t c_stride,
                                                            const qeq_gemm_ukernel_params* params) {
  const uint8_t* a_row[MR];
  uint8_t* c_row[MR];
  int32_t row_sum[MR];
  for (size_t i = 0; i < rows; i++) {
    a_row[i] = a + i * a_stride;
    c_row[i] = (uint8_t*)c + i * c_stride;
    row_sum[i] = row_sums != NULL ? row_sums[i] : 0;
  }
  const size_t elem = params->store == QEQ_GEMM_STORE_Q8 ? 1 : sizeof(int32_t);
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, KR);
  const __m256i za = _mm256_set1_epi32(params->a_zero_point);
  /* Activation pair (a[k], a[k+1]) from a broadcast dword, zero-extended into each int32. */
  const __m256i pair0 = _mm256_set1_epi32((int32_t)0x80018000u);
  const __m256i pair1 = _mm256_set1_epi32((int32_t)0x80038002u);

  const uint8_t* panel = w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    __m256i acc[MR][2];
    for (size_t i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();

    size_t kk = 0;
    for (; kk + 4 <= k; kk += 4, wk += 4 * NR) {
      qeq_prefetch_row_ahead(wk);
      const __m256i w00 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)wk));
      const __m256i w01 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(wk + 16)));
      const __m256i w10 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(wk + 32)));
      const __m256i w11 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(wk + 48)));
      for (size_t i = 0; i < rows; i++) {
        const __m256i av = _mm256_set1_epi32((int32_t)load_u32(a_row[i] + kk));
        const __m256i a0 = _mm256_shuffle_epi8(av, pair0);
        const __m256i a1 = _mm256_shuffle_epi8(av, pair1);
        acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a0, w00));
        acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a0, w01));
        acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a1, w10));
        acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a1, w11));
      }
    }
    /* K tail: one or two pairs, reading only the bytes that exist (padded weights are 0). */
    for (; kk < k; kk += 2, wk += 2 * NR) {
      const __m256i w00 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)wk));
      const __m256i w01 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(wk + 16)));
      for (size_t i = 0; i < rows; i++) {
        const uint32_t pair = k - kk >= 2 ? load_u16(a_row[i] + kk) : a_row[i][kk];
        const __m256i a0 = _mm256_shuffle_epi8(_mm256_set1_epi32((int32_t)pair), pair0);
        acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a0, w00));
        acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a0, w01));
      }
    }

    /* Epilogue, per column half, in the contract's order (kernels/ukernels.h). */
    const size_t nr = nc - j0 < NR ? nc - j0 : NR;
    for (size_t h = 0; h < 2; h++) {
      const __m256i base =
          _mm256_sub_epi32(load_header(panel, QEQ_GEMM_HEADER_ACC_INIT, h),
                           _mm256_mullo_epi32(za, load_header(panel, QEQ_GEMM_HEADER_W_SUM, h)));
      const __m256i zw = load_header(panel, QEQ_GEMM_HEADER_W_ZERO_POINT, h);
      for (size_t i = 0; i < rows; i++) {
        __m256i v = _mm256_add_epi32(acc[i][h], base);
        if (row_sums != NULL) {
          v = _mm256_sub_epi32(v, _mm256_mullo_epi32(zw, _mm256_set1_epi32(row_sum[i])));
        }
        acc[i][h] = v;
      }
    }
    const size_t col = j0 * elem;
    if (params->store == QEQ_GEMM_STORE_Q8) {
      __m256i q[MR][2];
      const __m256 lo = _mm256_set1_ps(params->out_lo);
      const __m256 hi = _mm256_set1_ps(params->out_hi);
      const __m256i zp = _mm256_set1_epi32(params->out_zero_point);
      const __m256 offset = _mm256_set1_ps(params->out_offset);
      for (size_t h = 0; h < 2; h++) {
        const __m256i bias_q = load_header(panel, QEQ_GEMM_HEADER_BIAS_Q, h);
        const __m256 bias_f = _mm256_castsi256_ps(load_header(panel, QEQ_GEMM_HEADER_BIAS_F, h));
        const __m256 mult = _mm256_castsi256_ps(load_header(panel, QEQ_GEMM_HEADER_MULTIPLIER, h));
        for (size_t i = 0; i < rows; i++) {
          const __m256 sum =
              _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[i][h], bias_q)), bias_f);
          __m256 v = _mm256_add_ps(_mm256_mul_ps(sum, mult), offset);
          /* max(lo, v) / min(hi, v) return v when v is NaN, like the scalar comparisons. */
          v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
          q[i][h] = _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);
        }
      }
      for (size_t i = 0; i < rows; i++) {
        const __m128i bytes = low_bytes(q[i][0], q[i][1]);
        if (nr == NR) {
          _mm_storeu_si128((__m128i*)(c_row[i] + col), bytes);
        } else {
          uint8_t tmp[NR];
          _mm_storeu_si128((__m128i*)tmp, bytes);
          memcpy(c_row[i] + col, tmp, nr);
        }
      }
    } else {
      if (params->store == QEQ_GEMM_STORE_F32) {
        const __m256 a_scale = _mm256_set1_ps(params->a_scale);
        for (size_t h = 0; h < 2; h++) {
          const __m256 scale = _mm256_mul_ps(
              a_scale, _mm256_castsi256_ps(load_header(panel, QEQ_GEMM_HEADER_MULTIPLIER, h)));
          const __m256 bias_f = _mm256_castsi256_ps(load_header(panel, QEQ_GEMM_HEADER_BIAS_F, h));
          for (size_t i = 0; i < rows; i++) {
            const __m256 v =
                _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][h]), scale), bias_f);
            acc[i][h] = _mm256_castps_si256(v);
          }
        }
      }
      for (size_t i = 0; i < rows; i++) {
        if (nr == NR) {
          _mm256_storeu_si256((__m256i*)(c_row[i] + col), acc[i][0]);
          _mm256_storeu_si256((__m256i*)(c_row[i] + col + 32), acc[i][1]);
        } else {
          int32_t tmp[NR];
          _mm256_storeu_si256((__m256i*)tmp, acc[i][0]);
          _mm256_storeu_si256((__m256i*)(tmp + 8), acc[i][1]);
          memcpy(c_row[i] + col, tmp, nr * sizeof(int32_t));
        }
      }
    }
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
