#include "kernels/common/qops-scalar.h"
#include "kernels/ukernels.h"

void qeq_q8_maxpool_ukernel__scalar(size_t rows, size_t channels, const uint8_t* const* x,
                                    int is_signed, uint8_t* y) {
  for (size_t j = 0; j < channels; j++) {
    int32_t best = qeq_q8_level(x[0][j], is_signed);
    for (size_t r = 1; r < rows; r++) {
      const int32_t v = qeq_q8_level(x[r][j], is_signed);
      best = v > best ? v : best;
    }
    y[j] = (uint8_t)best;
  }
}
