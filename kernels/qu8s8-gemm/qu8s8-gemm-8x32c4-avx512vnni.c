/* 8 rows x 32 columns: 16 zmm accumulators, 2 weight loads and 8 broadcasts per 16 vpdpbusd. */
#define QEQ_GEMM_MR 8
#define QEQ_GEMM_NV 2
#include "kernels/qu8s8-gemm/qu8s8-gemm-avx512vnni.h"

void QEQ_X86_KERNEL(qeq_qu8s8_gemm_ukernel_8x32c4__avx512vnni)(
    size_t mr, size_t nc, size_t k, const uint8_t* a, size_t a_stride, const int32_t* row_sums,
    const void* w, void* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  qeq_gemm_vnni512_tile(mr, nc, k, a, a_stride, row_sums, w, c, c_stride, params);
}
