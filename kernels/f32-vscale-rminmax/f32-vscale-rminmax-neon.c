#include "kernels/common/minmax-neon.h"
#include "kernels/common/sum-squares-neon.h"
#include "kernels/common/sum-squares.h"
#include "kernels/ukernels.h"

/* x times the row's scale, then times the column scales: the scalar variant's two roundings. */
static inline float32x4_t scaled(const float* x, float32x4_t row_scale, const float* scale,
                                 float* y) {
  const float32x4_t v = vmulq_f32(vmulq_f32(vld1q_f32(x), row_scale), vld1q_f32(scale));
  vst1q_f32(y, v);
  return v;
}

/* Sixteen products stored, into the min/max accumulators and the sum-squares lanes q[0..8)
 * stands for (exact sums) or into the rough sums' accumulator (any order will do, ukernels.h). */
static inline __attribute__((always_inline)) void sixteen(const float* x, float32x4_t rs,
                                                          const float* scale, float* y,
                                                          float32x4_t* mn0, float32x4_t* mn1,
                                                          float32x4_t* mx0, float32x4_t* mx1,
                                                          float64x2_t* q, float32x4_t* rough,
                                                          int exact) {
  const float32x4_t v0 = scaled(x, rs, scale, y);
  const float32x4_t v1 = scaled(x + 4, rs, scale + 4, y + 4);
  const float32x4_t v2 = scaled(x + 8, rs, scale + 8, y + 8);
  const float32x4_t v3 = scaled(x + 12, rs, scale + 12, y + 12);
  *mn0 = qeq_min_f32x4(qeq_min_f32x4(*mn0, v0), v2);
  *mx0 = qeq_max_f32x4(qeq_max_f32x4(*mx0, v0), v2);
  *mn1 = qeq_min_f32x4(qeq_min_f32x4(*mn1, v1), v3);
  *mx1 = qeq_max_f32x4(qeq_max_f32x4(*mx1, v1), v3);
  if (exact) {
    qeq_add_squares4_neon(v0, &q[0], &q[1]);
    qeq_add_squares4_neon(v1, &q[2], &q[3]);
    qeq_add_squares4_neon(v2, &q[4], &q[5]);
    qeq_add_squares4_neon(v3, &q[6], &q[7]);
  }
  if (rough != NULL) {
    rough[0] = vfmaq_f32(rough[0], v0, v0);
    rough[1] = vfmaq_f32(rough[1], v1, v1);
    rough[0] = vfmaq_f32(rough[0], v2, v2);
    rough[1] = vfmaq_f32(rough[1], v3, v3);
  }
}

/* The kernel for one choice of sums of squares: exact (sum_squares), rough (rough_squares) or
 * none (both NULL), each with its own loop (QEQ_VSCALE_RMINMAX_BY_SUMS). */
static inline __attribute__((always_inline)) void vscale_rminmax(
    size_t rows, size_t width, const float* x, const float* row_scale, const float* scale, float* y,
    float* min, float* max, double* sum_squares, float* rough_squares) {
  const int exact = sum_squares != NULL;
  for (size_t r = 0; r < rows; r++, x += width, y += width) {
    const float32x4_t rs = vdupq_n_f32(row_scale[r]);
    const float32x4_t first = vdupq_n_f32((x[0] * row_scale[r]) * scale[0]);
    float32x4_t mn0 = first, mn1 = first, mx0 = first, mx1 = first;
    float64x2_t q[16]; /* lanes 2k, 2k + 1 of kernels/common/sum-squares.h */
    for (size_t k = 0; k < 16; k++) q[k] = vdupq_n_f64(0.0);
    float32x4_t rough_acc[2] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
    float32x4_t* rough = rough_squares != NULL ? rough_acc : NULL;
    float rough_rest = 0.0f;
    size_t j = 0;
    for (; j + 32 <= width; j += 32) {
      sixteen(x + j, rs, scale + j, y + j, &mn0, &mn1, &mx0, &mx1, q, rough, exact);
      sixteen(x + j + 16, rs, scale + j + 16, y + j + 16, &mn0, &mn1, &mx0, &mx1, q + 8, rough,
              exact);
    }
    size_t rest_lane = 0;
    if (j + 16 <= width) {
      sixteen(x + j, rs, scale + j, y + j, &mn0, &mn1, &mx0, &mx1, q, rough, exact);
      j += 16;
      rest_lane = 16;
    }
    /* The rest (under 16 elements, from lane rest_lane) is squared one by one below. */
    const size_t rest = j;
    for (; j + 4 <= width; j += 4) {
      const float32x4_t v = scaled(x + j, rs, scale + j, y + j);
      mn0 = qeq_min_f32x4(mn0, v);
      mx0 = qeq_max_f32x4(mx0, v);
      if (rough != NULL) rough[0] = vfmaq_f32(rough[0], v, v);
    }
    for (; j < width; j++) { /* no masked loads: one broadcast element at a time */
      y[j] = (x[j] * row_scale[r]) * scale[j];
      const float32x4_t v = vld1q_dup_f32(y + j);
      mn1 = qeq_min_f32x4(mn1, v);
      mx1 = qeq_max_f32x4(mx1, v);
      rough_rest += y[j] * y[j];
    }
    vst1_lane_f32(min + r, qeq_hmin_f32x4(qeq_min_f32x4(mn0, mn1)), 0);
    vst1_lane_f32(max + r, qeq_hmax_f32x4(qeq_max_f32x4(mx0, mx1)), 0);
    if (rough != NULL) {
      rough_squares[r] = vaddvq_f32(vaddq_f32(rough[0], rough[1])) + rough_rest;
    }
    if (!exact) continue;
    double lanes[QEQ_SUM_SQUARES_LANES];
    for (size_t k = 0; k < 16; k++) vst1q_f64(lanes + 2 * k, q[k]);
    qeq_sum_squares_lanes_add(lanes, rest_lane, y + rest, width - rest);
    sum_squares[r] = qeq_sum_squares_lanes_fold(lanes);
  }
}

void qeq_f32_vscale_rminmax_ukernel__neon(size_t rows, size_t width, const float* x,
                                          const float* row_scale, const float* scale, float* y,
                                          float* min, float* max, double* sum_squares,
                                          float* rough_squares) {
  QEQ_VSCALE_RMINMAX_BY_SUMS(vscale_rminmax, rows, width, x, row_scale, scale, y, min, max,
                             sum_squares, rough_squares);
}
