/* AVX-512 body of f32_rscale_vminmax and f32_vscale_vminmax (per_column a compile-time
 * constant): rows scaled, stored (unless ys[0] is NULL), and added to the column min/max (and
 * sums of squares). */
#ifndef QEQ_KERNELS_COMMON_SCALE_VMINMAX_AVX512_H
#define QEQ_KERNELS_COMMON_SCALE_VMINMAX_AVX512_H

#include "kernels/common/minmax-avx512.h"
#include "kernels/common/sum-squares-avx512.h"
#include "kernels/common/sum-squares.h"

/* The four rows' scaled values at columns j .. j + 15 (masked: n of them), stored, and their
 * minimum and maximum. */
static inline __attribute__((always_inline)) void scale_group(
    const float* const xs[4], float* const ys[4], const __m512 s[4], const float* scale, size_t j,
    __mmask16 mask, __m512 v[4], __m512* mn, __m512* mx, const int per_column) {
  const __m512 column_scale = per_column ? _mm512_maskz_loadu_ps(mask, scale + j) : s[0];
  for (size_t k = 0; k < 4; k++) {
    v[k] = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, xs[k] + j), per_column ? column_scale : s[k]);
  }
  if (ys[0] != NULL) {
    for (size_t k = 0; k < 4; k++) _mm512_mask_storeu_ps(ys[k] + j, mask, v[k]);
  }
  *mn = qeq_min_ps_no_nan_avx512(qeq_min_ps_no_nan_avx512(v[0], v[1]),
                                 qeq_min_ps_no_nan_avx512(v[2], v[3]));
  *mx = qeq_max_ps_no_nan_avx512(qeq_max_ps_no_nan_avx512(v[0], v[1]),
                                 qeq_max_ps_no_nan_avx512(v[2], v[3]));
}

/* Columns j .. j + n - 1 (n < 16), masked; squares one by one from a copy of the products. */
static inline __attribute__((always_inline)) void masked_columns(
    const float* const xs[4], float* const ys[4], const __m512 s[4], const float* scale,
    size_t count, size_t j, size_t n, float* acc_min, float* acc_max, double* acc_sum_squares,
    const int per_column) {
  const __mmask16 mask = qeq_tail_mask_avx512(n);
  __m512 v[4], mn, mx;
  scale_group(xs, ys, s, scale, j, mask, v, &mn, &mx, per_column);
  const __m512 old_min = _mm512_maskz_loadu_ps(mask, acc_min + j);
  const __m512 old_max = _mm512_maskz_loadu_ps(mask, acc_max + j);
  _mm512_mask_storeu_ps(acc_min + j, mask, qeq_min_ps_no_nan_avx512(old_min, mn));
  _mm512_mask_storeu_ps(acc_max + j, mask, qeq_max_ps_no_nan_avx512(old_max, mx));
  if (acc_sum_squares != NULL) {
    float products[4][16];
    for (size_t k = 0; k < 4; k++) _mm512_storeu_ps(products[k], v[k]);
    const float* const rows_of[4] = {products[0], products[1], products[2], products[3]};
    qeq_sum_squares_rows_add(acc_sum_squares + j, rows_of, count, n);
  }
}

/* Four rows per pass over the accumulators, each row times its own scale or, per_column,
 * times the scale vector. A final group of fewer rows repeats its last row and scale: min and max
 * are idempotent, and the repeat stores the value just stored (every load of a column block comes
 * before its stores, so this holds in place too). The columns before the first row reaches a cache
 * line are done first, masked, so that the main loop's loads and stores do not straddle lines when
 * the row length is a whole number of lines. No product is NaN (the contract), so min/max take one
 * VRANGEPS each. */
static inline __attribute__((always_inline)) void scale_vminmax(
    size_t rows, size_t width, const float* x, const float* scale, float* y, float* acc_min,
    float* acc_max, double* acc_sum_squares, const int per_column) {
  for (size_t r = 0; r < rows; r += 4) {
    const size_t count = rows - r < 4 ? rows - r : 4; /* rows that exist */
    const float* xs[4];
    float* ys[4] = {NULL, NULL, NULL, NULL};
    __m512 s[4];
    for (size_t k = 0; k < 4; k++) {
      const size_t row = r + (k < count ? k : count - 1);
      xs[k] = x + row * width;
      if (y != NULL) ys[k] = y + row * width;
      s[k] = _mm512_set1_ps(per_column ? 1.0f : scale[row]);
    }
    /* Lines of the stores, or of the loads when nothing is stored. */
    size_t j = qeq_head_to_line_avx512(y != NULL ? (const void*)ys[0] : (const void*)xs[0], width);
    if (j != 0)
      masked_columns(xs, ys, s, scale, count, 0, j, acc_min, acc_max, acc_sum_squares, per_column);
    for (; j + 16 <= width; j += 16) {
      __m512 v[4], mn, mx;
      scale_group(xs, ys, s, scale, j, (__mmask16)0xffff, v, &mn, &mx, per_column);
      _mm512_storeu_ps(acc_min + j, qeq_min_ps_no_nan_avx512(_mm512_loadu_ps(acc_min + j), mn));
      _mm512_storeu_ps(acc_max + j, qeq_max_ps_no_nan_avx512(_mm512_loadu_ps(acc_max + j), mx));
      if (acc_sum_squares != NULL) qeq_add_row_squares16_avx512(acc_sum_squares + j, v, count);
    }
    if (j < width) {
      masked_columns(xs, ys, s, scale, count, j, width - j, acc_min, acc_max, acc_sum_squares,
                     per_column);
    }
  }
}

#endif /* QEQ_KERNELS_COMMON_SCALE_VMINMAX_AVX512_H */
