#include "kernels/ukernels.h"

void qeq_x8_zip2_ukernel__scalar(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y) {
  for (size_t k = 0; k < n; k++) {
    y[2 * k] = a[k];
    y[2 * k + 1] = b[k];
  }
}
