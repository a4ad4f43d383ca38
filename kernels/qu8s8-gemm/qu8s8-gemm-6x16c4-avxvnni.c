/* 6 rows x 16 columns: 12 ymm accumulators of the 16. */
#define QEQ_GEMM_MR 6
#define QEQ_GEMM_NV 2
#include "kernels/qu8s8-gemm/qu8s8-gemm-avxvnni.h"

void QEQ_X86_KERNEL(qeq_qu8s8_gemm_ukernel_6x16c4__avxvnni)(size_t mr, size_t nc, size_t k,
                                                            const uint8_t* a, size_t a_stride,
                                                            const int32_t* row_sums, const void* w,
                                                            void* c, size_t c_stride,
                                                            const qeq_gemm_ukernel_params* params) {
  qeq_gemm_vnni256_tile(mr, nc, k, a, a_stride, row_sums, w, c, c_stride, params);
}
