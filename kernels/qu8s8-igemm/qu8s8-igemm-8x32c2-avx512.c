/* The tile of qu8s8-gemm-8x32c2-avx512.c, its rows read through pointers, with both of its
 * paths chosen per panel as the GEMM chooses them (qu8s8-gemm-avx512.h); the activations'
 * maximum covers every tap, zero-point padding rows included. On the exact path each 4-byte
 * group is widened in the loop (the GEMM's step, not its step16): the GEMM widens its rows
 * once per call, which rows that change every tap cannot share. */
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

/* The template's qeq_igemm_x86_rows with the fast path in front of its exact dot. */
static inline __attribute__((always_inline)) void qeq_igemm_avx512_rows(
    const size_t rows, size_t nc, size_t kc, size_t taps, const uint8_t* const* a, size_t a_offset,
    const uint8_t* panel, uint8_t* c, size_t c_stride, const qeq_gemm_ukernel_params* params) {
  enum { MR = QEQ_GEMM_MR, NV = QEQ_GEMM_NV, NR = QEQ_GEMM_NR };
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps * qeq_igemm_tap_bytes(kc, 2), NR, 2);
  const __m512i za = _mm512_set1_epi32(params->a_zero_point);
  const __m256i x_max =
      _mm256_set1_epi32((int32_t)qeq_gemm_x86_rows_max(rows, kc, taps, a, a_offset));
  uint64_t fast_panels = 0, panels = 0;
  for (size_t j0 = 0; j0 < nc; j0 += NR, panel += panel_bytes, panels++) {
    __m512i acc[MR][NV];
    if (qeq_gemm_x86_pairs_exact(panel, NR, x_max)) {
      fast_panels++;
      if (kc % 4 != 0) {
        qeq_gemm_avx512_fast_dot(rows, 0, 1, kc, taps, a, a_offset, panel, acc);
      } else {
        qeq_gemm_avx512_fast_dot(rows, 0, 0, kc, taps, a, a_offset, panel, acc);
      }
    } else if (kc % 4 != 0) {
      qeq_igemm_x86_dot(rows, 1, kc, taps, a, a_offset, (const int8_t*)panel, acc);
    } else {
      qeq_igemm_x86_dot(rows, 0, kc, taps, a, a_offset, (const int8_t*)panel, acc);
    }
    qeq_gemm_epilogue_avx512(rows, acc, panel, j0, nc, NULL, za, c, c_stride, params);
  }
  qeq_gemm_count_paths(params, fast_panels, panels - fast_panels);
}

#undef QEQ_GEMM_ROWS_CASE
#define QEQ_GEMM_ROWS_CASE(n)                                                                     \
  case n:                                                                                         \
    qeq_igemm_avx512_rows(n, nc, kc, taps, a, a_offset, (const uint8_t*)w, (uint8_t*)c, c_stride, \
                          params);                                                                \
    break;

void QEQ_X86_KERNEL(qeq_qu8s8_igemm_ukernel_8x32c2__avx512)(size_t mr, size_t nc, size_t kc,
                                                            size_t taps, const uint8_t* const* a,
                                                            size_t a_offset, const void* w, void* c,
                                                            size_t c_stride,
                                                            const qeq_gemm_ukernel_params* params) {
  switch (mr) {
#include "kernels/qu8s8-gemm/qu8s8-gemm-rows.h"
    default: break;
  }
}
