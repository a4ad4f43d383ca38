/* 8 rows x 32 columns: 16 zmm accumulators, 4 weight vectors per 4 k. */
#define QEQ_GEMM_MR 8
#define QEQ_GEMM_NV 2
#include "kernels/qu8s8-gemm/qu8s8-gemm-avx512.h"

void QEQ_X86_KERNEL(qeq_qu8s8_gemm_ukernel_8x32c2__avx512)(size_t mr, size_t nc, size_t k,
                                                           const uint8_t* a, size_t a_stride,
                                                           const int32_t* row_sums, const void* w,
                                                           void* c, size_t c_stride,
                                                           const qeq_gemm_ukernel_params* params) {
  qeq_gemm_avx512_tile(mr, nc, k, a, a_stride, row_sums, w, c, c_stride, params);
}
