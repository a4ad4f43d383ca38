/* AVX2 qu8s8 GEMM, 6 rows x 16 columns, k in groups of 4 (c4): the saturating vpmaddubsw
 * path on panels where the activations' maximum and the weights' pair bound prove it exact,
 * the exact vpmaddwd path elsewhere (qu8s8-gemm-avx2-c4.h). */
#include <stdint.h>

#include "kernels/qu8s8-gemm/qu8s8-gemm-avx2-c4.h"

#undef QEQ_GEMM_ROWS_CASE
#define QEQ_GEMM_ROWS_CASE(n)                                                                    \
  case n: {                                                                                      \
    const uint8_t* rows[n];                                                                      \
    for (size_t i = 0; i < n; i++) rows[i] = a + i * a_stride;                                   \
    qeq_avx2c4_rows(n, 1, nc, k, 1, rows, 0, row_sums, (const uint8_t*)w, (uint8_t*)c, c_stride, \
                    params);                                                                     \
    break;                                                                                       \
  }

void QEQ_X86_KERNEL(qeq_qu8s8_gemm_ukernel_6x16c4__avx2)(size_t mr, size_t nc, size_t k,
                                                         const uint8_t* a, size_t a_stride,
                                                         const int32_t* row_sums, const void* w,
                                                         void* c, size_t c_stride,
                                                         const qeq_gemm_ukernel_params* params) {
  switch (mr) {
#include "kernels/qu8s8-gemm/qu8s8-gemm-rows.h"
    default: break;
  }
}
