/* Portable qu8s8 depthwise convolution: the reference the vectorised variants must equal bit
 * for bit. Panels of 4 channels, one tap per k group. */
#include <stdint.h>

#include "kernels/common/gemm-epilogue-scalar.h"
#include "kernels/ukernels.h"

enum { NR = 4, KR = 1 };

void qeq_qu8s8_dwconv_ukernel_4c1__scalar(size_t pixels, size_t channels, size_t taps,
                                          const uint8_t* const* input, size_t input_step,
                                          uint32_t input_xor, const void* w, int has_w_zero_points,
                                          void* output, size_t output_stride,
                                          const qeq_gemm_ukernel_params* params) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps, NR, KR);
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* const* in = input + p * input_step;
    uint8_t* out = (uint8_t*)output + p * output_stride;
    const uint8_t* panel = w;
    for (size_t c0 = 0; c0 < channels; c0 += NR, panel += panel_bytes) {
      const size_t nr = channels - c0 < NR ? channels - c0 : NR;
      const int8_t* wt = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
      /* Unsigned sums wrap like the SIMD lanes, without C's overflow UB. */
      uint32_t dot[NR] = {0}, x_sum[NR] = {0};
      for (size_t t = 0; t < taps; t++, wt += NR) {
        for (size_t j = 0; j < nr; j++) {
          const uint32_t x = (uint8_t)(in[t][c0 + j] ^ input_xor);
          dot[j] += x * (uint32_t)(int32_t)wt[j];
          x_sum[j] += x;
        }
      }
      for (size_t j = 0; j < nr; j++) {
        const int32_t acc = qeq_gemm_correct_scalar(panel, NR, j, dot[j], (int32_t)x_sum[j],
                                                    has_w_zero_points, params);
        qeq_gemm_store_scalar(panel, NR, j, acc, params, out, c0 + j);
      }
    }
  }
}
