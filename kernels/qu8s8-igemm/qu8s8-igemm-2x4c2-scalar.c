/* Portable indirect qu8s8 GEMM: the reference the vectorised variants must equal bit for
 * bit. Same tile, packing and epilogue as qu8s8-gemm-2x4c2-scalar.c, with each row's K read
 * tap by tap through the pointer array. */
#include <stdint.h>

#include "kernels/common/gemm-epilogue-scalar.h"
#include "kernels/ukernels.h"

enum { MR = 2, NR = 4, KR = 2 };

void qeq_qu8s8_igemm_ukernel_2x4c2__scalar(size_t mr, size_t nc, size_t kc, size_t taps,
                                           const uint8_t* const* a, size_t a_offset, const void* w,
                                           void* c, size_t c_stride,
                                           const qeq_gemm_ukernel_params* params) {
  const size_t kcp = qeq_igemm_tap_bytes(kc, KR);
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps * kcp, NR, KR);
  const uint8_t* panel = w;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes) {
    const size_t nr = nc - j0 < NR ? nc - j0 : NR;
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    /* Unsigned accumulators: the sums wrap like the SIMD lanes do, without C's overflow UB. */
    uint32_t dot[MR][NR] = {{0}};
    for (size_t t = 0; t < taps; t++) {
      for (size_t i = 0; i < mr; i++) {
        const uint8_t* row = a[t * mr + i] + a_offset;
        const int8_t* wt = wk;
        for (size_t kk = 0; kk < kc; kk++) {
          /* k = kk sits in group kk / KR at position kk % KR */
          const int8_t* wg = wt + kk / KR * NR * KR + kk % KR;
          for (size_t j = 0; j < NR; j++) dot[i][j] += row[kk] * (uint32_t)(int32_t)wg[j * KR];
        }
      }
      wk += kcp * NR;
    }
    for (size_t i = 0; i < mr; i++) {
      for (size_t j = 0; j < nr; j++) {
        const int32_t acc = qeq_gemm_correct_scalar(panel, NR, j, dot[i][j], 0, 0, params);
        qeq_gemm_store_scalar(panel, NR, j, acc, params, (uint8_t*)c + i * c_stride, j0 + j);
      }
    }
  }
}
