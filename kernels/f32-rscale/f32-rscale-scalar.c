#include "kernels/ukernels.h"

void qeq_f32_rscale_ukernel__scalar(size_t outer, size_t channels, size_t inner, const float* x,
                                    const float* scale, float* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const float s = scale[c];
      for (size_t i = 0; i < inner; i++) y[i] = x[i] * s;
    }
  }
}
