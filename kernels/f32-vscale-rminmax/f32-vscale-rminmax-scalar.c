#include "kernels/common/minmax-scalar.h"
#include "kernels/common/sum-squares.h"
#include "kernels/ukernels.h"

void qeq_f32_vscale_rminmax_ukernel__scalar(size_t rows, size_t width, const float* x,
                                            const float* row_scale, const float* scale, float* y,
                                            float* min, float* max, double* sum_squares,
                                            float* rough_squares) {
  for (size_t r = 0; r < rows; r++, x += width, y += width) {
    const float rs = row_scale[r];
    const float first = (x[0] * rs) * scale[0];
    float mn = first, mx = first;
    double lanes[QEQ_SUM_SQUARES_LANES] = {0};
    float rough = 0.0f;
    for (size_t j = 0; j < width; j++) {
      const float v = (x[j] * rs) * scale[j];
      y[j] = v;
      mn = qeq_min_f32(mn, v);
      mx = qeq_max_f32(mx, v);
      if (sum_squares != NULL) lanes[j % QEQ_SUM_SQUARES_LANES] += (double)v * (double)v;
      if (rough_squares != NULL) rough += v * v;
    }
    min[r] = mn;
    max[r] = mx;
    if (sum_squares != NULL) sum_squares[r] = qeq_sum_squares_lanes_fold(lanes);
    if (rough_squares != NULL) rough_squares[r] = rough;
  }
}
