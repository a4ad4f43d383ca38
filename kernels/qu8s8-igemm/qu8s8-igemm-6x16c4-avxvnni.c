/* The tile of qu8s8-gemm-6x16c4-avxvnni.c, its rows read through pointers. */
#define QEQ_GEMM_MR 6
#define QEQ_GEMM_NV 2
#include "kernels/qu8s8-gemm/qu8s8-gemm-avxvnni.h"

#define QEQ_IGEMM_NR QEQ_GEMM_NR
#define QEQ_IGEMM_KR 4
#define QEQ_IGEMM_ACC __m256i
#define QEQ_IGEMM_STEP(rows, first, acc, a4, w0, w1) qeq_gemm_vnni256_step(rows, first, acc, a4, w0)
#define QEQ_IGEMM_EPILOGUE qeq_gemm_epilogue_avx256
#define QEQ_IGEMM_SET1 _mm256_set1_epi32
#include "kernels/qu8s8-igemm/qu8s8-igemm-x86.h"

void QEQ_X86_KERNEL(qeq_qu8s8_igemm_ukernel_6x16c4__avxvnni)(
    size_t mr, size_t nc, size_t kc, size_t taps, const uint8_t* const* a, size_t a_offset,
    const void* w, void* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  qeq_igemm_x86_tile(mr, nc, kc, taps, a, a_offset, w, c, c_stride, params);
}
