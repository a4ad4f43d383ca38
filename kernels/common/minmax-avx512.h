/* AVX-512 min/max with qeq's rules (see minmax-scalar.h for why OR/AND of both orders). */
#ifndef QEQ_KERNELS_COMMON_MINMAX_AVX512_H
#define QEQ_KERNELS_COMMON_MINMAX_AVX512_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/common/minmax-avx2.h"
#include "kernels/common/x86.h"

static inline __m512 qeq_min_ps_avx512(__m512 a, __m512 b) {
  return _mm512_or_ps(_mm512_min_ps(a, b), _mm512_min_ps(b, a));
}
static inline __m512 qeq_max_ps_avx512(__m512 a, __m512 b) {
  return _mm512_and_ps(_mm512_max_ps(a, b), _mm512_max_ps(b, a));
}
/* For operands that are never NaN: VRANGEPS with imm 4 / 5 (min / max, the sign taken from
 * the comparison) orders -0.0 below +0.0 as the rule above does, in one instruction instead
 * of three. It returns the other operand when one is NaN, so kernels use it only where the
 * contract rules NaN out. */
static inline __m512 qeq_min_ps_no_nan_avx512(__m512 a, __m512 b) {
  return _mm512_range_ps(a, b, 4);
}
static inline __m512 qeq_max_ps_no_nan_avx512(__m512 a, __m512 b) {
  return _mm512_range_ps(a, b, 5);
}
static inline __m128 qeq_hmin_avx512(__m512 v) {
  return qeq_hmin_avx2(qeq_min_ps_avx2(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
static inline __m128 qeq_hmax_avx512(__m512 v) {
  return qeq_hmax_avx2(qeq_max_ps_avx2(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
/* Mask of the first n (0..16) lanes. */
static inline __mmask16 qeq_tail_mask_avx512(size_t n) {
  return (__mmask16)((1u << n) - 1u);
}

/* Floats before p reaches a 64-byte boundary (0..15), at most n. A 64-byte access that
 * straddles two cache lines costs two: on buffers 16 bytes past a line (malloc's large
 * blocks) every one does, where only every other 32-byte AVX2 access does, so without a peel
 * AVX-512 in-place scaling and 3x3 ranges trail AVX2 (bench/results/2026-11-23-zen5.md,
 * "AVX-512 against AVX2 on the large streaming kernels"). Kernels peel this many elements
 * with a mask first. */
static inline size_t qeq_head_to_line_avx512(const void* p, size_t n) {
  const size_t head = ((64 - ((uintptr_t)p & 63)) & 63) / sizeof(float);
  return head < n ? head : n;
}

#endif /* QEQ_KERNELS_COMMON_MINMAX_AVX512_H */
