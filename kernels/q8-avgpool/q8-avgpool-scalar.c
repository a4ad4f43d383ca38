#include "kernels/common/qops-scalar.h"
#include "kernels/ukernels.h"

void qeq_q8_avgpool_ukernel__scalar(size_t rows, size_t channels, const uint8_t* const* x,
                                    int is_signed, const qeq_q8_avgpool_params* params,
                                    uint8_t* y) {
  for (size_t j = 0; j < channels; j++) y[j] = qeq_q8_avg_column(rows, x, j, is_signed, params);
}
