#include "kernels/common/minmax-avx512.h"
#include "kernels/common/prefetch.h"
#include "kernels/common/sum-squares-avx512.h"
#include "kernels/common/sum-squares.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* Columns j .. j + n - 1 (n < 16) of a group of four rows, masked; squares one by one. */
static inline void masked_columns(const float* const rows[4], size_t count, size_t j, size_t n,
                                  float* acc_min, float* acc_max, double* acc_sum_squares) {
  const __mmask16 mask = qeq_tail_mask_avx512(n);
  const __m512 v0 = _mm512_maskz_loadu_ps(mask, rows[0] + j);
  const __m512 v1 = _mm512_maskz_loadu_ps(mask, rows[1] + j);
  const __m512 v2 = _mm512_maskz_loadu_ps(mask, rows[2] + j);
  const __m512 v3 = _mm512_maskz_loadu_ps(mask, rows[3] + j);
  const __m512 mn = qeq_min_ps_avx512(qeq_min_ps_avx512(v0, v1), qeq_min_ps_avx512(v2, v3));
  const __m512 mx = qeq_max_ps_avx512(qeq_max_ps_avx512(v0, v1), qeq_max_ps_avx512(v2, v3));
  _mm512_mask_storeu_ps(acc_min + j, mask,
                        qeq_min_ps_avx512(_mm512_maskz_loadu_ps(mask, acc_min + j), mn));
  _mm512_mask_storeu_ps(acc_max + j, mask,
                        qeq_max_ps_avx512(_mm512_maskz_loadu_ps(mask, acc_max + j), mx));
  if (acc_sum_squares != NULL) {
    const float* const shifted[4] = {rows[0] + j, rows[1] + j, rows[2] + j, rows[3] + j};
    qeq_sum_squares_rows_add(acc_sum_squares + j, shifted, count, n);
  }
}

/* Four rows per pass over the accumulators; a final group of fewer rows repeats its last row
 * (min and max are idempotent), so one loop body serves every row count. Each row is
 * prefetched ahead (kernels/common/prefetch.h). The columns before the first row reaches a
 * cache line are done first, masked, so that the main loop's row loads do not straddle
 * lines when the row stride is a whole number of lines. */
void QEQ_X86_KERNEL(qeq_f32_vminmax_ukernel__avx512)(size_t rows, size_t width, size_t stride,
                                                     const float* x, float* acc_min, float* acc_max,
                                                     double* acc_sum_squares) {
  for (size_t r = 0; r < rows; r += 4) {
    const float* x0 = x + r * stride;
    const float* x1 = r + 1 < rows ? x0 + stride : x0;
    const float* x2 = r + 2 < rows ? x1 + stride : x1;
    const float* x3 = r + 3 < rows ? x2 + stride : x2;
    const float* const group[4] = {x0, x1, x2, x3};
    const size_t count = rows - r < 4 ? rows - r : 4; /* rows that exist */
    size_t j = qeq_head_to_line_avx512(x0, width);
    if (j != 0) masked_columns(group, count, 0, j, acc_min, acc_max, acc_sum_squares);
    for (; j + 16 <= width; j += 16) {
      qeq_prefetch_row_ahead(x0 + j);
      qeq_prefetch_row_ahead(x1 + j);
      qeq_prefetch_row_ahead(x2 + j);
      qeq_prefetch_row_ahead(x3 + j);
      const __m512 v0 = _mm512_loadu_ps(x0 + j), v1 = _mm512_loadu_ps(x1 + j);
      const __m512 v2 = _mm512_loadu_ps(x2 + j), v3 = _mm512_loadu_ps(x3 + j);
      const __m512 mn = qeq_min_ps_avx512(qeq_min_ps_avx512(v0, v1), qeq_min_ps_avx512(v2, v3));
      const __m512 mx = qeq_max_ps_avx512(qeq_max_ps_avx512(v0, v1), qeq_max_ps_avx512(v2, v3));
      _mm512_storeu_ps(acc_min + j, qeq_min_ps_avx512(_mm512_loadu_ps(acc_min + j), mn));
      _mm512_storeu_ps(acc_max + j, qeq_max_ps_avx512(_mm512_loadu_ps(acc_max + j), mx));
      if (acc_sum_squares != NULL) {
        const __m512 v[4] = {v0, v1, v2, v3};
        qeq_add_row_squares16_avx512(acc_sum_squares + j, v, count);
      }
    }
    if (j < width) masked_columns(group, count, j, width - j, acc_min, acc_max, acc_sum_squares);
  }
}
