#include "kernels/ukernels.h"

/* Blocks of 8 x 8 keep both the rows read and the rows written in a few cache lines. */
void qeq_x8_transpose_ukernel__scalar(size_t rows, size_t cols, const uint8_t* x, size_t x_stride,
                                      uint8_t* y, size_t y_stride) {
  for (size_t i0 = 0; i0 < rows; i0 += 8) {
    const size_t i1 = rows - i0 < 8 ? rows : i0 + 8;
    for (size_t j0 = 0; j0 < cols; j0 += 8) {
      const size_t j1 = cols - j0 < 8 ? cols : j0 + 8;
      for (size_t j = j0; j < j1; j++) {
        for (size_t i = i0; i < i1; i++) y[j * y_stride + i] = x[i * x_stride + j];
      }
    }
  }
}
