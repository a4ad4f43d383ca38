#include "kernels/common/minmax-neon.h"
#include "kernels/common/sum-squares-neon.h"
#include "kernels/common/sum-squares.h"
#include "kernels/ukernels.h"

/* Four rows per pass over the accumulators; a final group of fewer rows repeats its last row
 * (min and max are idempotent), so one loop body serves every row count. */
void qeq_f32_vminmax_ukernel__neon(size_t rows, size_t width, size_t stride, const float* x,
                                   float* acc_min, float* acc_max, double* acc_sum_squares) {
  for (size_t r = 0; r < rows; r += 4) {
    const float* x0 = x + r * stride;
    const float* x1 = r + 1 < rows ? x0 + stride : x0;
    const float* x2 = r + 2 < rows ? x1 + stride : x1;
    const float* x3 = r + 3 < rows ? x2 + stride : x2;
    const size_t count = rows - r < 4 ? rows - r : 4; /* rows that exist */
    size_t j = 0;
    for (; j + 4 <= width; j += 4) {
      const float32x4_t v0 = vld1q_f32(x0 + j), v1 = vld1q_f32(x1 + j);
      const float32x4_t v2 = vld1q_f32(x2 + j), v3 = vld1q_f32(x3 + j);
      const float32x4_t mn = qeq_min_f32x4(qeq_min_f32x4(v0, v1), qeq_min_f32x4(v2, v3));
      const float32x4_t mx = qeq_max_f32x4(qeq_max_f32x4(v0, v1), qeq_max_f32x4(v2, v3));
      vst1q_f32(acc_min + j, qeq_min_f32x4(vld1q_f32(acc_min + j), mn));
      vst1q_f32(acc_max + j, qeq_max_f32x4(vld1q_f32(acc_max + j), mx));
      if (acc_sum_squares != NULL) {
        const float32x4_t v[4] = {v0, v1, v2, v3};
        qeq_add_row_squares4_neon(acc_sum_squares + j, v, count);
      }
    }
    const size_t tail = j;
    for (; j < width; j++) { /* no masked loads: lane 0 of broadcasts */
      const float32x4_t v0 = vld1q_dup_f32(x0 + j), v1 = vld1q_dup_f32(x1 + j);
      const float32x4_t v2 = vld1q_dup_f32(x2 + j), v3 = vld1q_dup_f32(x3 + j);
      const float32x4_t mn = qeq_min_f32x4(qeq_min_f32x4(v0, v1), qeq_min_f32x4(v2, v3));
      const float32x4_t mx = qeq_max_f32x4(qeq_max_f32x4(v0, v1), qeq_max_f32x4(v2, v3));
      vst1q_lane_f32(acc_min + j, qeq_min_f32x4(vld1q_dup_f32(acc_min + j), mn), 0);
      vst1q_lane_f32(acc_max + j, qeq_max_f32x4(vld1q_dup_f32(acc_max + j), mx), 0);
    }
    if (acc_sum_squares != NULL && tail < width) {
      const float* const tail_rows[4] = {x0 + tail, x1 + tail, x2 + tail, x3 + tail};
      qeq_sum_squares_rows_add(acc_sum_squares + tail, tail_rows, count, width - tail);
    }
  }
}
