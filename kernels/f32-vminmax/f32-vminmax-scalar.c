#include "kernels/common/minmax-scalar.h"
#include "kernels/ukernels.h"

void qeq_f32_vminmax_ukernel__scalar(size_t rows, size_t width, size_t stride, const float* x,
                                     float* acc_min, float* acc_max, double* acc_sum_squares) {
  for (size_t r = 0; r < rows; r++, x += stride) {
    for (size_t j = 0; j < width; j++) {
      acc_min[j] = qeq_min_f32(acc_min[j], x[j]);
      acc_max[j] = qeq_max_f32(acc_max[j], x[j]);
    }
    if (acc_sum_squares != NULL) {
      for (size_t j = 0; j < width; j++) acc_sum_squares[j] += (double)x[j] * (double)x[j];
    }
  }
}
