#include "kernels/common/qops-scalar.h"
#include "kernels/ukernels.h"

void qeq_q8_avgpool_ukernel__scalar(size_t rows, size_t channels, const uint8_t* const* x,
                                    int is_signed, const qeq_q8_avgpool_params* params,
                                    uint8_t* y) {
  for (size_t j = 0; j < channels; j++) {
    int32_t acc = params->bias;
    for (size_t r = 0; r < rows; r++) acc += qeq_q8_level(x[r][j], is_signed);
    y[j] = qeq_quantize_one((float)acc, &params->out);
  }
}
