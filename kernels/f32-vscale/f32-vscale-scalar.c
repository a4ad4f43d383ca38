#include "kernels/ukernels.h"

void qeq_f32_vscale_ukernel__scalar(size_t rows, size_t width, size_t stride, const float* x,
                                    const float* scale, float* y) {
  for (size_t r = 0; r < rows; r++, x += stride, y += stride) {
    for (size_t j = 0; j < width; j++) y[j] = x[j] * scale[j];
  }
}
