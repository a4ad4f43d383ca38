/* Portable qu8s8 GEMM: the reference the vectorised variants must equal bit for bit. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/gemm-epilogue-scalar.h"
#include "kernels/ukernels.h"

enum { MR = 2, NR = 4, KR = 2 };

void qeq_qu8s8_gemm_ukernel_2x4c2__scalar(size_t mr, size_t nc, size_t k, const uint8_t* a,
                                          size_t a_stride, const int32_t* row_sums, const void* w,
                                          void* c, size_t c_stride,
                                          const qeq_gemm_ukernel_params* params) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(k, NR, KR);
  const size_t k_groups = (k + KR - 1) / KR;
  const uint8_t* panel = w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const size_t nr = nc - j0 < NR ? nc - j0 : NR;
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    /* Unsigned accumulators: the sums wrap like the SIMD lanes do, without C's overflow UB. */
    uint32_t dot[MR][NR] = {{0}};
    for (size_t g = 0; g < k_groups; g++, wk += NR * KR) {
      for (size_t kk = 0; kk < KR && g * KR + kk < k; kk++) {
        for (size_t i = 0; i < mr; i++) {
          const uint32_t av = a[i * a_stride + g * KR + kk];
          for (size_t j = 0; j < NR; j++) dot[i][j] += av * (uint32_t)(int32_t)wk[j * KR + kk];
        }
      }
    }
    for (size_t i = 0; i < mr; i++) {
      for (size_t j = 0; j < nr; j++) {
        const int32_t acc = qeq_gemm_correct_scalar(
            panel, NR, j, dot[i][j], row_sums ? row_sums[i] : 0, row_sums != NULL, params);
        qeq_gemm_store_scalar(panel, NR, j, acc, params, (uint8_t*)c + i * c_stride, j0 + j);
      }
    }
  }
}
