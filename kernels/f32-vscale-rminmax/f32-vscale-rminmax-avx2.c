#include "kernels/common/minmax-avx2.h"
#include "kernels/common/prefetch.h"
#include "kernels/common/sum-squares-avx2.h"
#include "kernels/common/sum-squares.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* x times the row's scale, then times the column scales: the scalar variant's two roundings. */
static inline __m256 scaled_avx2(__m256 x, __m256 row_scale, __m256 scale) {
  return _mm256_mul_ps(_mm256_mul_ps(x, row_scale), scale);
}

/* The kernel for one choice of sums of squares: exact (sum_squares), rough (rough_squares) or
 * none (both NULL), each with its own loop (QEQ_VSCALE_RMINMAX_BY_SUMS). */
static inline __attribute__((always_inline)) void vscale_rminmax(
    size_t rows, size_t width, const float* x, const float* row_scale, const float* scale, float* y,
    float* min, float* max, double* sum_squares, float* rough_squares) {
  for (size_t r = 0; r < rows; r++, x += width, y += width) {
    const __m256 rs = _mm256_set1_ps(row_scale[r]);
    /* The row's first product fills masked-off lanes: it is already in the set. */
    const __m256 first = _mm256_set1_ps((x[0] * row_scale[r]) * scale[0]);
    __m256 mn0 = first, mn1 = first, mx0 = first, mx1 = first;
    /* lanes 0-3, 4-7, ..., 28-31 of kernels/common/sum-squares.h */
    __m256d q0 = _mm256_setzero_pd(), q1 = q0, q2 = q0, q3 = q0, q4 = q0, q5 = q0, q6 = q0, q7 = q0;
    /* Rough sums: any order will do (ukernels.h), so each vector is squared where it falls. */
    __m256 rough0 = _mm256_setzero_ps(), rough1 = rough0;
    size_t j = 0;
    for (; j + 32 <= width; j += 32) {
      qeq_prefetch_l2_ahead(x + j);
      qeq_prefetch_l2_ahead(x + j + 16);
      __m256 v[4];
      for (size_t k = 0; k < 4; k++) {
        v[k] = scaled_avx2(_mm256_loadu_ps(x + j + 8 * k), rs, _mm256_loadu_ps(scale + j + 8 * k));
        _mm256_storeu_ps(y + j + 8 * k, v[k]);
      }
      mn0 = qeq_min_ps_avx2(mn0, qeq_min_ps_avx2(v[0], v[2]));
      mx0 = qeq_max_ps_avx2(mx0, qeq_max_ps_avx2(v[0], v[2]));
      mn1 = qeq_min_ps_avx2(mn1, qeq_min_ps_avx2(v[1], v[3]));
      mx1 = qeq_max_ps_avx2(mx1, qeq_max_ps_avx2(v[1], v[3]));
      if (sum_squares != NULL) {
        qeq_add_squares8_avx2(v[0], &q0, &q1);
        qeq_add_squares8_avx2(v[1], &q2, &q3);
        qeq_add_squares8_avx2(v[2], &q4, &q5);
        qeq_add_squares8_avx2(v[3], &q6, &q7);
      }
      if (rough_squares != NULL) {
        rough0 = _mm256_fmadd_ps(v[0], v[0], rough0);
        rough1 = _mm256_fmadd_ps(v[1], v[1], rough1);
        rough0 = _mm256_fmadd_ps(v[2], v[2], rough0);
        rough1 = _mm256_fmadd_ps(v[3], v[3], rough1);
      }
    }
    /* The rest (under 32 elements, starting at lane 0) is squared one by one below. */
    const size_t rest = j;
    for (; j + 8 <= width; j += 8) {
      const __m256 v = scaled_avx2(_mm256_loadu_ps(x + j), rs, _mm256_loadu_ps(scale + j));
      _mm256_storeu_ps(y + j, v);
      mn0 = qeq_min_ps_avx2(mn0, v);
      mx0 = qeq_max_ps_avx2(mx0, v);
      if (rough_squares != NULL) rough0 = _mm256_fmadd_ps(v, v, rough0);
    }
    if (j < width) {
      const __m256i mask = qeq_tail_mask_avx2(width - j);
      const __m256 v =
          scaled_avx2(_mm256_maskload_ps(x + j, mask), rs, _mm256_maskload_ps(scale + j, mask));
      _mm256_maskstore_ps(y + j, mask, v);
      const __m256 filled = _mm256_blendv_ps(first, v, _mm256_castsi256_ps(mask));
      mn1 = qeq_min_ps_avx2(mn1, filled);
      mx1 = qeq_max_ps_avx2(mx1, filled);
      /* Masked-off lanes are 0 * 0. */
      if (rough_squares != NULL) rough1 = _mm256_fmadd_ps(v, v, rough1);
    }
    _mm_store_ss(min + r, qeq_hmin_avx2(qeq_min_ps_avx2(mn0, mn1)));
    _mm_store_ss(max + r, qeq_hmax_avx2(qeq_max_ps_avx2(mx0, mx1)));
    if (rough_squares != NULL)
      rough_squares[r] = qeq_add_lanes8_avx2(_mm256_add_ps(rough0, rough1));
    if (sum_squares == NULL) continue;
    double lanes[QEQ_SUM_SQUARES_LANES];
    _mm256_storeu_pd(lanes, q0);
    _mm256_storeu_pd(lanes + 4, q1);
    _mm256_storeu_pd(lanes + 8, q2);
    _mm256_storeu_pd(lanes + 12, q3);
    _mm256_storeu_pd(lanes + 16, q4);
    _mm256_storeu_pd(lanes + 20, q5);
    _mm256_storeu_pd(lanes + 24, q6);
    _mm256_storeu_pd(lanes + 28, q7);
    qeq_sum_squares_lanes_add(lanes, 0, y + rest, width - rest);
    sum_squares[r] = qeq_sum_squares_lanes_fold(lanes);
  }
}

void QEQ_X86_KERNEL(qeq_f32_vscale_rminmax_ukernel__avx2)(size_t rows, size_t width, const float* x,
                                                          const float* row_scale,
                                                          const float* scale, float* y, float* min,
                                                          float* max, double* sum_squares,
                                                          float* rough_squares) {
  QEQ_VSCALE_RMINMAX_BY_SUMS(vscale_rminmax, rows, width, x, row_scale, scale, y, min, max,
                             sum_squares, rough_squares);
}
