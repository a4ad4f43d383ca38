/* The tile of qu8s8-gemm-8x32c2-avx512.c, its rows read through pointers. */
#define QEQ_GEMM_MR 8
#define QEQ_GEMM_NV 2
#include "kernels/qu8s8-gemm/qu8s8-gemm-avx512.h"

void QEQ_X86_KERNEL(qeq_qu8s8_igemm_ukernel_8x32c2__avx512)(size_t mr, size_t nc, size_t kc,
                                                            size_t taps, const uint8_t* const* a,
                                                            size_t a_offset, const void* w, void* c,
                                                            size_t c_stride,
                                                            const qeq_gemm_ukernel_params* params) {
  qeq_igemm_avx512_tile(mr, nc, kc, taps, a, a_offset, w, c, c_stride, params);
}
