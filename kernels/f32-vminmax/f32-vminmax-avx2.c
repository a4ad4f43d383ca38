#include "kernels/common/minmax-avx2.h"
#include "kernels/common/prefetch.h"
#include "kernels/common/sum-squares-avx2.h"
#include "kernels/common/sum-squares.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* Four rows per pass over the accumulators; a final group of fewer rows repeats its last row
 * (min and max are idempotent), so one loop body serves every row count. Each row is
 * prefetched ahead (kernels/common/prefetch.h). */
void QEQ_X86_KERNEL(qeq_f32_vminmax_ukernel__avx2)(size_t rows, size_t width, size_t stride,
                                                   const float* x, float* acc_min, float* acc_max,
                                                   double* acc_sum_squares) {
  for (size_t r = 0; r < rows; r += 4) {
    const float* x0 = x + r * stride;
    const float* x1 = r + 1 < rows ? x0 + stride : x0;
    const float* x2 = r + 2 < rows ? x1 + stride : x1;
    const float* x3 = r + 3 < rows ? x2 + stride : x2;
    const size_t count = rows - r < 4 ? rows - r : 4; /* rows that exist */
    size_t j = 0;
    for (; j + 8 <= width; j += 8) {
      qeq_prefetch_row_ahead(x0 + j);
      qeq_prefetch_row_ahead(x1 + j);
      qeq_prefetch_row_ahead(x2 + j);
      qeq_prefetch_row_ahead(x3 + j);
      const __m256 v0 = _mm256_loadu_ps(x0 + j), v1 = _mm256_loadu_ps(x1 + j);
      const __m256 v2 = _mm256_loadu_ps(x2 + j), v3 = _mm256_loadu_ps(x3 + j);
      const __m256 mn = qeq_min_ps_avx2(qeq_min_ps_avx2(v0, v1), qeq_min_ps_avx2(v2, v3));
      const __m256 mx = qeq_max_ps_avx2(qeq_max_ps_avx2(v0, v1), qeq_max_ps_avx2(v2, v3));
      _mm256_storeu_ps(acc_min + j, qeq_min_ps_avx2(_mm256_loadu_ps(acc_min + j), mn));
      _mm256_storeu_ps(acc_max + j, qeq_max_ps_avx2(_mm256_loadu_ps(acc_max + j), mx));
      if (acc_sum_squares != NULL) {
        const __m256 v[4] = {v0, v1, v2, v3};
        qeq_add_row_squares8_avx2(acc_sum_squares + j, v, count);
      }
    }
    if (j < width) {
      const __m256i mask = qeq_tail_mask_avx2(width - j);
      const __m256 v0 = _mm256_maskload_ps(x0 + j, mask), v1 = _mm256_maskload_ps(x1 + j, mask);
      const __m256 v2 = _mm256_maskload_ps(x2 + j, mask), v3 = _mm256_maskload_ps(x3 + j, mask);
      const __m256 mn = qeq_min_ps_avx2(qeq_min_ps_avx2(v0, v1), qeq_min_ps_avx2(v2, v3));
      const __m256 mx = qeq_max_ps_avx2(qeq_max_ps_avx2(v0, v1), qeq_max_ps_avx2(v2, v3));
      _mm256_maskstore_ps(acc_min + j, mask,
                          qeq_min_ps_avx2(_mm256_maskload_ps(acc_min + j, mask), mn));
      _mm256_maskstore_ps(acc_max + j, mask,
                          qeq_max_ps_avx2(_mm256_maskload_ps(acc_max + j, mask), mx));
    }
    if (acc_sum_squares != NULL && j < width) {
      const float* const tail_rows[4] = {x0 + j, x1 + j, x2 + j, x3 + j};
      qeq_sum_squares_rows_add(acc_sum_squares + j, tail_rows, count, width - j);
    }
  }
}
