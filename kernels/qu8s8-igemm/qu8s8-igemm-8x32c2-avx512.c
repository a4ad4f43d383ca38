/* The tile of qu8s8-gemm-8x32c2-avx512.c, its rows read through pointers. Each 4-byte group
 * is widened in the loop (the GEMM's step, not its step16): the GEMM widens its rows once per
 * call, which rows that change every tap cannot share. */
#define QEQ_GEMM_MR 8
#define QEQ_GEMM_NV 2
#include "kernels/qu8s8-gemm/qu8s8-gemm-avx512.h"

#define QEQ_IGEMM_NR QEQ_GEMM_NR
#define QEQ_IGEMM_KR 2
#define QEQ_IGEMM_ACC __m512i
#define QEQ_IGEMM_STEP qeq_gemm_avx512_step
#define QEQ_IGEMM_EPILOGUE qeq_gemm_epilogue_avx512
#define QEQ_IGEMM_SET1 _mm512_set1_epi32
#include "kernels/qu8s8-igemm/qu8s8-igemm-x86.h"

void QEQ_X86_KERNEL(qeq_qu8s8_igemm_ukernel_8x32c2__avx512)(size_t mr, size_t nc, size_t kc,
                                                            size_t taps, const uint8_t* const* a,
                                                            size_t a_offset, const void* w, void* c,
                                                            size_t c_stride,
                                                            const qeq_gemm_ukernel_params* params) {
  qeq_igemm_x86_tile(mr, nc, kc, taps, a, a_offset, w, c, c_stride, params);
}
