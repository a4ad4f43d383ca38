#include "kernels/common/minmax-avx512.h"
#include "kernels/common/prefetch.h"
#include "kernels/common/sum-squares-avx2.h"
#include "kernels/common/sum-squares-avx512.h"
#include "kernels/common/sum-squares.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* x times the row's scale, then times the column scales: the scalar variant's two roundings. */
static inline __m512 scaled_avx512(__m512 x, __m512 row_scale, __m512 scale) {
  return _mm512_mul_ps(_mm512_mul_ps(x, row_scale), scale);
}

/* The kernel for one choice of sums of squares: exact (sum_squares), rough (rough_squares) or
 * none (both NULL), each with its own loop (QEQ_VSCALE_RMINMAX_BY_SUMS). No product is
 * NaN (the contract), so min/max take one VRANGEPS each. */
static inline __attribute__((always_inline)) void vscale_rminmax(
    size_t rows, size_t width, const float* x, const float* row_scale, const float* scale, float* y,
    float* min, float* max, double* sum_squares, float* rough_squares) {
  for (size_t r = 0; r < rows; r++, x += width, y += width) {
    const __m512 rs = _mm512_set1_ps(row_scale[r]);
    /* The row's first product fills masked-off lanes: it is already in the set. */
    const __m512 first = _mm512_set1_ps((x[0] * row_scale[r]) * scale[0]);
    __m512 mn0 = first, mn1 = first, mn2 = first, mn3 = first;
    __m512 mx0 = first, mx1 = first, mx2 = first, mx3 = first;
    /* The elements before y reaches a cache line come first, masked, so that the loop's
     * loads and stores do not straddle lines. After them, accumulator lane k holds
     * sum-squares lane (head + k) % 32: the accumulators run rotated by `head`, starting from
     * the head's squares moved to their rotated places (accumulator lanes 32 - head to 31).
     * sq0-sq3 are accumulator lanes 0-7, 8-15, 16-23, 24-31. */
    const size_t head = qeq_head_to_line_avx512(y, width);
    __m512d sq0 = _mm512_setzero_pd(), sq1 = sq0, sq2 = sq0, sq3 = sq0;
    /* Rough sums: any order will do (ukernels.h), so each vector is squared where it falls. */
    __m512 rough0 = _mm512_setzero_ps(), rough1 = rough0, rough2 = rough0, rough3 = rough0;
    if (head != 0) {
      const __mmask16 mask = qeq_tail_mask_avx512(head);
      const __m512 v =
          scaled_avx512(_mm512_maskz_loadu_ps(mask, x), rs, _mm512_maskz_loadu_ps(mask, scale));
      _mm512_mask_storeu_ps(y, mask, v);
      const __m512 filled = _mm512_mask_blend_ps(mask, first, v);
      mn2 = qeq_min_ps_no_nan_avx512(mn2, filled);
      mx2 = qeq_max_ps_no_nan_avx512(mx2, filled);
      /* rotated[k] = v[(k + head) % 16], accumulator lane 16 + k: sum-squares lane
       * (k + head - 16) for k >= 16 - head, else a lane past the head, +0.0 squared. */
      const __m512i rotate = _mm512_and_si512(
          _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)head)),
          _mm512_set1_epi32(15));
      if (sum_squares != NULL)
        qeq_add_squares16_avx512(_mm512_permutexvar_ps(rotate, v), &sq2, &sq3);
      if (rough_squares != NULL) rough0 = _mm512_fmadd_ps(v, v, rough0);
    }
    size_t j = head;
    for (; j + 64 <= width; j += 64) {
      qeq_prefetch_l2_ahead(x + j);
      qeq_prefetch_l2_ahead(x + j + 16);
      qeq_prefetch_l2_ahead(x + j + 32);
      qeq_prefetch_l2_ahead(x + j + 48);
      const __m512 v0 = scaled_avx512(_mm512_loadu_ps(x + j), rs, _mm512_loadu_ps(scale + j));
      const __m512 v1 =
          scaled_avx512(_mm512_loadu_ps(x + j + 16), rs, _mm512_loadu_ps(scale + j + 16));
      const __m512 v2 =
          scaled_avx512(_mm512_loadu_ps(x + j + 32), rs, _mm512_loadu_ps(scale + j + 32));
      const __m512 v3 =
          scaled_avx512(_mm512_loadu_ps(x + j + 48), rs, _mm512_loadu_ps(scale + j + 48));
      _mm512_storeu_ps(y + j, v0);
      _mm512_storeu_ps(y + j + 16, v1);
      _mm512_storeu_ps(y + j + 32, v2);
      _mm512_storeu_ps(y + j + 48, v3);
      mn0 = qeq_min_ps_no_nan_avx512(mn0, v0);
      mx0 = qeq_max_ps_no_nan_avx512(mx0, v0);
      mn1 = qeq_min_ps_no_nan_avx512(mn1, v1);
      mx1 = qeq_max_ps_no_nan_avx512(mx1, v1);
      mn2 = qeq_min_ps_no_nan_avx512(mn2, v2);
      mx2 = qeq_max_ps_no_nan_avx512(mx2, v2);
      mn3 = qeq_min_ps_no_nan_avx512(mn3, v3);
      mx3 = qeq_max_ps_no_nan_avx512(mx3, v3);
      if (sum_squares != NULL) {
        qeq_add_squares16_avx512(v0, &sq0, &sq1);
        qeq_add_squares16_avx512(v1, &sq2, &sq3);
        qeq_add_squares16_avx512(v2, &sq0, &sq1);
        qeq_add_squares16_avx512(v3, &sq2, &sq3);
      }
      if (rough_squares != NULL) {
        rough0 = _mm512_fmadd_ps(v0, v0, rough0);
        rough1 = _mm512_fmadd_ps(v1, v1, rough1);
        rough2 = _mm512_fmadd_ps(v2, v2, rough2);
        rough3 = _mm512_fmadd_ps(v3, v3, rough3);
      }
    }
    int half = 0; /* whether the next 16 go to accumulator lanes 16-31 */
    for (; j + 16 <= width; j += 16) {
      const __m512 v = scaled_avx512(_mm512_loadu_ps(x + j), rs, _mm512_loadu_ps(scale + j));
      _mm512_storeu_ps(y + j, v);
      mn0 = qeq_min_ps_no_nan_avx512(mn0, v);
      mx0 = qeq_max_ps_no_nan_avx512(mx0, v);
      if (sum_squares != NULL) qeq_add_squares16_half_avx512(v, half, &sq0, &sq1, &sq2, &sq3);
      if (rough_squares != NULL) rough1 = _mm512_fmadd_ps(v, v, rough1);
      half = !half;
    }
    if (j < width) {
      /* Masked-off lanes are 0 * 0: their squares add +0.0, which changes no sum. */
      const __mmask16 mask = qeq_tail_mask_avx512(width - j);
      const __m512 v = scaled_avx512(_mm512_maskz_loadu_ps(mask, x + j), rs,
                                     _mm512_maskz_loadu_ps(mask, scale + j));
      _mm512_mask_storeu_ps(y + j, mask, v);
      const __m512 filled = _mm512_mask_blend_ps(mask, first, v);
      mn1 = qeq_min_ps_no_nan_avx512(mn1, filled);
      mx1 = qeq_max_ps_no_nan_avx512(mx1, filled);
      if (sum_squares != NULL) qeq_add_squares16_half_avx512(v, half, &sq0, &sq1, &sq2, &sq3);
      if (rough_squares != NULL) rough2 = _mm512_fmadd_ps(v, v, rough2);
    }
    mn0 = qeq_min_ps_no_nan_avx512(qeq_min_ps_no_nan_avx512(mn0, mn1),
                                   qeq_min_ps_no_nan_avx512(mn2, mn3));
    mx0 = qeq_max_ps_no_nan_avx512(qeq_max_ps_no_nan_avx512(mx0, mx1),
                                   qeq_max_ps_no_nan_avx512(mx2, mx3));
    _mm_store_ss(min + r, qeq_hmin_avx512(mn0));
    _mm_store_ss(max + r, qeq_hmax_avx512(mx0));
    if (rough_squares != NULL) {
      const __m512 rough =
          _mm512_add_ps(_mm512_add_ps(rough0, rough1), _mm512_add_ps(rough2, rough3));
      rough_squares[r] = qeq_add_lanes8_avx2(
          _mm256_add_ps(_mm512_castps512_ps256(rough), _mm512_extractf32x8_ps(rough, 1)));
    }
    if (sum_squares == NULL) continue;
    /* The fold adds lanes l and l + 16, then 8 apart, 4, 2, 1: a cyclic rotation of the
     * lanes gives the same pairs in each step, so the rotated accumulators fold to the same
     * bits. */
    double lanes[QEQ_SUM_SQUARES_LANES];
    _mm512_storeu_pd(lanes, sq0);
    _mm512_storeu_pd(lanes + 8, sq1);
    _mm512_storeu_pd(lanes + 16, sq2);
    _mm512_storeu_pd(lanes + 24, sq3);
    sum_squares[r] = qeq_sum_squares_lanes_fold(lanes);
  }
}

void QEQ_X86_KERNEL(qeq_f32_vscale_rminmax_ukernel__avx512)(
    size_t rows, size_t width, const float* x, const float* row_scale, const float* scale, float* y,
    float* min, float* max, double* sum_squares, float* rough_squares) {
  QEQ_VSCALE_RMINMAX_BY_SUMS(vscale_rminmax, rows, width, x, row_scale, scale, y, min, max,
                             sum_squares, rough_squares);
}
