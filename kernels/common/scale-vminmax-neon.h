/* NEON body of f32_rscale_vminmax and f32_vscale_vminmax (per_column a compile-time
 * constant): rows scaled, stored (unless y is NULL), and added to the column min/max (and sums
 * of squares). */
#ifndef QEQ_KERNELS_COMMON_SCALE_VMINMAX_NEON_H
#define QEQ_KERNELS_COMMON_SCALE_VMINMAX_NEON_H

#include "kernels/common/minmax-neon.h"
#include "kernels/common/sum-squares-neon.h"
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
    float32x4_t s[4];
    for (size_t k = 0; k < 4; k++) {
      const size_t row = r + (k < count ? k : count - 1);
      xs[k] = x + row * width;
      if (y != NULL) ys[k] = y + row * width;
      s[k] = vdupq_n_f32(per_column ? 1.0f : scale[row]);
    }
    size_t j = 0;
    for (; j + 4 <= width; j += 4) {
      float32x4_t v[4];
      const float32x4_t column_scale = per_column ? vld1q_f32(scale + j) : s[0];
      for (size_t k = 0; k < 4; k++) {
        v[k] = vmulq_f32(vld1q_f32(xs[k] + j), per_column ? column_scale : s[k]);
      }
      if (y != NULL) {
        for (size_t k = 0; k < 4; k++) vst1q_f32(ys[k] + j, v[k]);
      }
      const float32x4_t mn = qeq_min_f32x4(qeq_min_f32x4(v[0], v[1]), qeq_min_f32x4(v[2], v[3]));
      const float32x4_t mx = qeq_max_f32x4(qeq_max_f32x4(v[0], v[1]), qeq_max_f32x4(v[2], v[3]));
      vst1q_f32(acc_min + j, qeq_min_f32x4(vld1q_f32(acc_min + j), mn));
      vst1q_f32(acc_max + j, qeq_max_f32x4(vld1q_f32(acc_max + j), mx));
      if (acc_sum_squares != NULL) qeq_add_row_squares4_neon(acc_sum_squares + j, v, count);
    }
    for (; j < width; j++) { /* no masked loads: lane 0 of broadcasts */
      float32x4_t v[4];
      const float32x4_t column_scale = per_column ? vld1q_dup_f32(scale + j) : s[0];
      for (size_t k = 0; k < 4; k++) {
        v[k] = vmulq_f32(vld1q_dup_f32(xs[k] + j), per_column ? column_scale : s[k]);
      }
      if (y != NULL) {
        for (size_t k = 0; k < 4; k++) vst1q_lane_f32(ys[k] + j, v[k], 0);
      }
      const float32x4_t mn = qeq_min_f32x4(qeq_min_f32x4(v[0], v[1]), qeq_min_f32x4(v[2], v[3]));
      const float32x4_t mx = qeq_max_f32x4(qeq_max_f32x4(v[0], v[1]), qeq_max_f32x4(v[2], v[3]));
      vst1q_lane_f32(acc_min + j, qeq_min_f32x4(vld1q_dup_f32(acc_min + j), mn), 0);
      vst1q_lane_f32(acc_max + j, qeq_max_f32x4(vld1q_dup_f32(acc_max + j), mx), 0);
      if (acc_sum_squares != NULL) {
        double sum = acc_sum_squares[j];
        for (size_t k = 0; k < count; k++) {
          const double value = (double)vgetq_lane_f32(v[k], 0);
          sum += value * value;
        }
        acc_sum_squares[j] = sum;
      }
    }
  }
}

#endif /* QEQ_KERNELS_COMMON_SCALE_VMINMAX_NEON_H */
