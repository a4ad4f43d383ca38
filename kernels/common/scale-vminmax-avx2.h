/* AVX2 body of f32_rscale_vminmax and f32_vscale_vminmax (per_column a compile-time
 * constant): rows scaled, stored (unless y is NULL), and added to the column min/max (and sums
 * of squares). */
#ifndef QEQ_KERNELS_COMMON_SCALE_VMINMAX_AVX2_H
#define QEQ_KERNELS_COMMON_SCALE_VMINMAX_AVX2_H

#include "kernels/common/minmax-avx2.h"
#include "kernels/common/sum-squares-avx2.h"
#include "kernels/common/sum-squares.h"

/* Four rows per pass over the accumulators, each row times its own scale or, per_column,
 * times the scale vector. A final group of fewer rows repeats its last row and scale: min and max
 * are idempotent, and the repeat stores the value just stored (every load of a column block comes
 * before its stores, so this holds in place too). */
static inline __attribute__((always_inline)) void scale_vminmax(
    size_t rows, size_t width, const float* x, const float* scale, float* y, float* acc_min,
    float* acc_max, double* acc_sum_squares, const int per_column) {
  for (size_t r = 0; r < rows; r += 4) {
    const size_t count = rows - r < 4 ? rows - r : 4; /* rows that exist */
    const float* xs[4];
    float* ys[4] = {NULL, NULL, NULL, NULL};
    __m256 s[4];
    for (size_t k = 0; k < 4; k++) {
      const size_t row = r + (k < count ? k : count - 1);
      xs[k] = x + row * width;
      if (y != NULL) ys[k] = y + row * width;
      s[k] = _mm256_set1_ps(per_column ? 1.0f : scale[row]);
    }
    size_t j = 0;
    for (; j + 8 <= width; j += 8) {
      __m256 v[4];
      const __m256 column_scale = per_column ? _mm256_loadu_ps(scale + j) : s[0];
      for (size_t k = 0; k < 4; k++) {
        v[k] = _mm256_mul_ps(_mm256_loadu_ps(xs[k] + j), per_column ? column_scale : s[k]);
      }
      if (y != NULL) {
        for (size_t k = 0; k < 4; k++) _mm256_storeu_ps(ys[k] + j, v[k]);
      }
      const __m256 mn = qeq_min_ps_avx2(qeq_min_ps_avx2(v[0], v[1]), qeq_min_ps_avx2(v[2], v[3]));
      const __m256 mx = qeq_max_ps_avx2(qeq_max_ps_avx2(v[0], v[1]), qeq_max_ps_avx2(v[2], v[3]));
      _mm256_storeu_ps(acc_min + j, qeq_min_ps_avx2(_mm256_loadu_ps(acc_min + j), mn));
      _mm256_storeu_ps(acc_max + j, qeq_max_ps_avx2(_mm256_loadu_ps(acc_max + j), mx));
      if (acc_sum_squares != NULL) qeq_add_row_squares8_avx2(acc_sum_squares + j, v, count);
    }
    if (j < width) {
      const __m256i mask = qeq_tail_mask_avx2(width - j);
      __m256 v[4];
      const __m256 column_scale = per_column ? _mm256_maskload_ps(scale + j, mask) : s[0];
      for (size_t k = 0; k < 4; k++) {
        v[k] = _mm256_mul_ps(_mm256_maskload_ps(xs[k] + j, mask), per_column ? column_scale : s[k]);
      }
      if (y != NULL) {
        for (size_t k = 0; k < 4; k++) _mm256_maskstore_ps(ys[k] + j, mask, v[k]);
      }
      const __m256 mn = qeq_min_ps_avx2(qeq_min_ps_avx2(v[0], v[1]), qeq_min_ps_avx2(v[2], v[3]));
      const __m256 mx = qeq_max_ps_avx2(qeq_max_ps_avx2(v[0], v[1]), qeq_max_ps_avx2(v[2], v[3]));
      _mm256_maskstore_ps(acc_min + j, mask,
                          qeq_min_ps_avx2(_mm256_maskload_ps(acc_min + j, mask), mn));
      _mm256_maskstore_ps(acc_max + j, mask,
                          qeq_max_ps_avx2(_mm256_maskload_ps(acc_max + j, mask), mx));
      if (acc_sum_squares != NULL) { /* one by one, from a copy of the products */
        float products[4][8];
        for (size_t k = 0; k < 4; k++) _mm256_storeu_ps(products[k], v[k]);
        const float* const rows_of[4] = {products[0], products[1], products[2], products[3]};
        qeq_sum_squares_rows_add(acc_sum_squares + j, rows_of, count, width - j);
      }
    }
  }
}

#endif /* QEQ_KERNELS_COMMON_SCALE_VMINMAX_AVX2_H */
