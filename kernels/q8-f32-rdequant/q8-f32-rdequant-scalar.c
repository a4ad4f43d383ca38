#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

void qeq_q8_f32_rdequant_ukernel__scalar(size_t outer, size_t channels, size_t inner,
                                         const uint8_t* q, int is_signed,
                                         const qeq_q8_dequant_params* params, float* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, q += inner, y += inner) {
      const qeq_q8_dequant_params p = params[c];
      for (size_t i = 0; i < inner; i++) y[i] = qeq_dequantize_one(q[i], is_signed, &p);
    }
  }
}
