#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

void qeq_f32_q8_rquant_ukernel__scalar(size_t outer, size_t channels, size_t inner, const float* x,
                                       const qeq_q8_quant_params* params, int stream, uint8_t* y) {
  (void)stream; /* no non-temporal stores in this variant */
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const qeq_q8_quant_params p = params[c];
      for (size_t i = 0; i < inner; i++) {
        y[i] = qeq_quantize_one(x[i], &p);
      }
    }
  }
}
