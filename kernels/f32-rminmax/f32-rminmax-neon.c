#include "kernels/common/minmax-neon.h"
#include "kernels/common/sum-squares-neon.h"
#include "kernels/common/sum-squares.h"
#include "kernels/ukernels.h"

/* Sixteen elements into the min/max accumulators and, want_squares, into the sum-squares
 * lanes q[0..8) stands for. */
static inline __attribute__((always_inline)) void sixteen(const float* p, float32x4_t mn[4],
                                                          float32x4_t mx[4], float64x2_t* q,
                                                          const int want_squares) {
  const float32x4_t v[4] = {vld1q_f32(p), vld1q_f32(p + 4), vld1q_f32(p + 8), vld1q_f32(p + 12)};
  for (size_t k = 0; k < 4; k++) {
    mn[k] = qeq_min_f32x4(mn[k], v[k]);
    mx[k] = qeq_max_f32x4(mx[k], v[k]);
    if (want_squares) qeq_add_squares4_neon(v[k], &q[2 * k], &q[2 * k + 1]);
  }
}

/* One body for both: with want_squares a compile-time 0 the squares vanish. */
static inline __attribute__((always_inline)) void rminmax(size_t outer, size_t channels,
                                                          size_t inner, const float* x, float* min,
                                                          float* max, double* sum_squares,
                                                          const int want_squares) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner) {
      const float32x4_t first = vld1q_dup_f32(x);
      float32x4_t mns[4] = {first, first, first, first};
      float32x4_t mxs[4] = {first, first, first, first};
      float64x2_t q[16]; /* lanes 2k, 2k + 1 of kernels/common/sum-squares.h */
      for (size_t k = 0; k < 16; k++) q[k] = vdupq_n_f64(0.0);
      const float* p = x;
      size_t n = inner;
      for (; n >= 32; n -= 32, p += 32) {
        sixteen(p, mns, mxs, q, want_squares);
        sixteen(p + 16, mns, mxs, q + 8, want_squares);
      }
      size_t rest_lane = 0;
      if (n >= 16) {
        sixteen(p, mns, mxs, q, want_squares);
        n -= 16, p += 16, rest_lane = 16;
      }
      float32x4_t mn0 = mns[0], mn1 = mns[1], mn2 = mns[2], mn3 = mns[3];
      float32x4_t mx0 = mxs[0], mx1 = mxs[1], mx2 = mxs[2], mx3 = mxs[3];
      /* The rest (under 16 elements, from lane rest_lane) is squared one by one below. */
      const float* rest = p;
      const size_t rest_count = n;
      for (; n >= 4; n -= 4, p += 4) {
        const float32x4_t v = vld1q_f32(p);
        mn0 = qeq_min_f32x4(mn0, v);
        mx0 = qeq_max_f32x4(mx0, v);
      }
      for (; n != 0; n--, p++) { /* no masked loads: one broadcast element at a time */
        const float32x4_t v = vld1q_dup_f32(p);
        mn1 = qeq_min_f32x4(mn1, v);
        mx1 = qeq_max_f32x4(mx1, v);
      }
      mn0 = qeq_min_f32x4(qeq_min_f32x4(mn0, mn1), qeq_min_f32x4(mn2, mn3));
      mx0 = qeq_max_f32x4(qeq_max_f32x4(mx0, mx1), qeq_max_f32x4(mx2, mx3));
      float32x2_t mn = qeq_hmin_f32x4(mn0), mx = qeq_hmax_f32x4(mx0);
      if (o != 0) {
        mn = qeq_min_f32x2(vld1_dup_f32(min + c), mn);
        mx = qeq_max_f32x2(vld1_dup_f32(max + c), mx);
      }
      vst1_lane_f32(min + c, mn, 0);
      vst1_lane_f32(max + c, mx, 0);
      if (want_squares) {
        double lanes[QEQ_SUM_SQUARES_LANES];
        for (size_t k = 0; k < 16; k++) vst1q_f64(lanes + 2 * k, q[k]);
        qeq_sum_squares_lanes_add(lanes, rest_lane, rest, rest_count);
        qeq_sum_squares_store(sum_squares + c, o, qeq_sum_squares_lanes_fold(lanes));
      }
    }
  }
}

void qeq_f32_rminmax_ukernel__neon(size_t outer, size_t channels, size_t inner, const float* x,
                                   float* min, float* max, double* sum_squares) {
  if (sum_squares != NULL) {
    rminmax(outer, channels, inner, x, min, max, sum_squares, 1);
  } else {
    rminmax(outer, channels, inner, x, min, max, NULL, 0);
  }
}
