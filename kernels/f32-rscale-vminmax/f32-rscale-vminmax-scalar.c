#include "kernels/common/minmax-scalar.h"
#include "kernels/ukernels.h"

void qeq_f32_rscale_vminmax_ukernel__scalar(size_t rows, size_t width, const float* x,
                                            const float* scale, float* y, float* acc_min,
                                            float* acc_max, double* acc_sum_squares) {
  for (size_t r = 0; r < rows; r++, x += width) {
    const float s = scale[r];
    for (size_t j = 0; j < width; j++) {
      const float v = x[j] * s;
      if (y != NULL) y[r * width + j] = v;
      acc_min[j] = qeq_min_f32(acc_min[j], v);
      acc_max[j] = qeq_max_f32(acc_max[j], v);
      if (acc_sum_squares != NULL) acc_sum_squares[j] += (double)v * (double)v;
    }
  }
}
