/* AVX2 indirect qu8s8 GEMM: the 4x16c2 tile of qu8s8-gemm-4x16c2-avx2.c with its rows read
 * through pointers, on the GEMM's in-loop step (qu8s8-gemm-avx2.h): the GEMM widens its rows
 * once per call, which rows that change every tap cannot share. */
#include <stdint.h>

#include "kernels/common/x86.h"

#define QEQ_GEMM_MR 4
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx256.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-avx2.h"

/* The step that starts the accumulators (first) adds to zeros. */
static inline __attribute__((always_inline)) void igemm_avx2_step(
    const size_t rows, const int first, __m256i acc[QEQ_GEMM_MR][2], const int32_t* a4,
    const int8_t* w0, const int8_t* w1) {
  if (first) {
    for (size_t i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  }
  qeq_gemm_avx2_step(rows, acc, a4, w0, w1);
}

#define QEQ_IGEMM_NR 16
#define QEQ_IGEMM_KR 2
#define QEQ_IGEMM_ACC __m256i
#define QEQ_IGEMM_STEP igemm_avx2_step
#define QEQ_IGEMM_EPILOGUE qeq_gemm_epilogue_avx256
#define QEQ_IGEMM_SET1 _mm256_set1_epi32
#include "kernels/qu8s8-igemm/qu8s8-igemm-x86.h"

void QEQ_X86_KERNEL(qeq_qu8s8_igemm_ukernel_4x16c2__avx2)(size_t mr, size_t nc, size_t kc,
                                                          size_t taps, const uint8_t* const* a,
                                                          size_t a_offset, const void* w, void* c,
                                                          size_t c_stride,
                                                          const qeq_gemm_ukernel_params* params) {
  qeq_igemm_x86_tile(mr, nc, kc, taps, a, a_offset, w, c, c_stride, params);
}
