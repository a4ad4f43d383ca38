/* AVX2 indirect qu8s8 GEMM: the 6x16c4 tile of qu8s8-gemm-6x16c4-avx2.c with its rows read
 * tap by tap through pointers, fast path and exact path alike (qu8s8-gemm-avx2-c4.h); the
 * activations' maximum covers every tap, zero-point padding rows included. */
#include <stdint.h>

#include "kernels/qu8s8-gemm/qu8s8-gemm-avx2-c4.h"

#undef QEQ_GEMM_ROWS_CASE
#define QEQ_GEMM_ROWS_CASE(n)                                                              \
  case n:                                                                                  \
    qeq_avx2c4_rows(n, 0, nc, kc, taps, a, a_offset, NULL, (const uint8_t*)w, (uint8_t*)c, \
                    c_stride, params);                                                     \
    break;

void QEQ_X86_KERNEL(qeq_qu8s8_igemm_ukernel_6x16c4__avx2)(size_t mr, size_t nc, size_t kc,
                                                          size_t taps, const uint8_t* const* a,
                                                          size_t a_offset, const void* w, void* c,
                                                          size_t c_stride,
                                                          const qeq_gemm_ukernel_params* params) {
  switch (mr) {
#include "kernels/qu8s8-gemm/qu8s8-gemm-rows.h"
    default: break;
  }
}
