#include "kernels/common/minmax-scalar.h"
#include "kernels/common/sum-squares.h"
#include "kernels/ukernels.h"

void qeq_f32_rminmax_ukernel__scalar(size_t outer, size_t channels, size_t inner, const float* x,
                                     float* min, float* max, double* sum_squares) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner) {
      /* Two accumulator pairs halve the dependency chain. */
      float mn0 = x[0], mx0 = x[0], mn1 = x[0], mx1 = x[0];
      size_t i = 1;
      for (; i + 2 <= inner; i += 2) {
        mn0 = qeq_min_f32(mn0, x[i]);
        mx0 = qeq_max_f32(mx0, x[i]);
        mn1 = qeq_min_f32(mn1, x[i + 1]);
        mx1 = qeq_max_f32(mx1, x[i + 1]);
      }
      if (i < inner) {
        mn0 = qeq_min_f32(mn0, x[i]);
        mx0 = qeq_max_f32(mx0, x[i]);
      }
      float mn = qeq_min_f32(mn0, mn1), mx = qeq_max_f32(mx0, mx1);
      if (o != 0) {
        mn = qeq_min_f32(min[c], mn);
        mx = qeq_max_f32(max[c], mx);
      }
      min[c] = mn;
      max[c] = mx;
      if (sum_squares != NULL) {
        double lanes[QEQ_SUM_SQUARES_LANES] = {0};
        qeq_sum_squares_lanes_add(lanes, 0, x, inner);
        qeq_sum_squares_store(sum_squares + c, o, qeq_sum_squares_lanes_fold(lanes));
      }
    }
  }
}
