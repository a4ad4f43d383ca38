#include "kernels/common/partial-bytes.h"
#include "kernels/common/qops-scalar.h"
#include "kernels/common/quant-avx2.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

typedef struct vadd_constants {
  __m256 a_scale, b_scale, a_offset, b_offset, inv, lo, hi; /* offset: f32(scale * -zp) */
  __m256i y_zp;
} vadd_constants;

/* fma(q, scale, offset) for 8 bytes, sign- or zero-extended by dtype. */
static inline __m256 dequantize8(const uint8_t* q, __m256 offset, __m256 scale, int is_signed) {
  const __m128i bytes = _mm_loadl_epi64((const __m128i*)q);
  const __m256i level = is_signed ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(level), scale, offset);
}

/* The contract's steps for 8 elements; the NaN fix-up only where a NaN can occur. */
static inline __m256i add8(const uint8_t* a, const uint8_t* b, int is_signed, int may_nan,
                           const vadd_constants* k) {
  const __m256 sum = _mm256_add_ps(dequantize8(a, k->a_offset, k->a_scale, is_signed),
                                   dequantize8(b, k->b_offset, k->b_scale, is_signed));
  if (may_nan) return qeq_quantize_ps_avx2(sum, k->inv, k->lo, k->hi, k->y_zp);
  const __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(sum, k->inv), k->lo), k->hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), k->y_zp); /* MXCSR: nearest even */
}

/* is_signed and may_nan are constants in each call below, so each path is compiled apart. */
static inline __attribute__((always_inline)) void vadd(size_t n, const uint8_t* a, const uint8_t* b,
                                                       int is_signed, int may_nan,
                                                       const vadd_constants* k, uint8_t* y) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q[4];
    for (int g = 0; g < 4; g++) q[g] = add8(a + i + 8 * g, b + i + 8 * g, is_signed, may_nan, k);
    _mm256_storeu_si256((__m256i*)(y + i), qeq_low_bytes32_avx2(q[0], q[1], q[2], q[3]));
  }
  for (; i + 8 <= n; i += 8) {
    _mm_storel_epi64((__m128i*)(y + i),
                     qeq_low_bytes8_avx2(add8(a + i, b + i, is_signed, may_nan, k)));
  }
  if (i < n) {
    /* The last n - i (< 8) elements go through the same steps, read and written in pieces. */
    const uint64_t ta = qeq_load_partial8(a + i, n - i), tb = qeq_load_partial8(b + i, n - i);
    const __m128i q =
        qeq_low_bytes8_avx2(add8((const uint8_t*)&ta, (const uint8_t*)&tb, is_signed, may_nan, k));
    qeq_store_partial8(y + i, (uint64_t)_mm_cvtsi128_si64(q), n - i);
  }
}

void QEQ_X86_KERNEL(qeq_q8_vadd_ukernel__avx2)(size_t n, const uint8_t* a, const uint8_t* b,
                                               int is_signed, const qeq_q8_add_params* params,
                                               uint8_t* y) {
  vadd_constants k;
  k.a_scale = _mm256_set1_ps(params->a_scale);
  k.b_scale = _mm256_set1_ps(params->b_scale);
  k.a_offset = _mm256_set1_ps(qeq_q8_scaled_neg_zero_point(params->a_scale, params->a_zero_point));
  k.b_offset = _mm256_set1_ps(qeq_q8_scaled_neg_zero_point(params->b_scale, params->b_zero_point));
  k.inv = _mm256_set1_ps(params->out.inv_scale);
  k.lo = _mm256_set1_ps(params->out.lo);
  k.hi = _mm256_set1_ps(params->out.hi);
  k.y_zp = _mm256_set1_epi32(params->out.zero_point);
  const int may_nan = qeq_q8_add_may_nan(params, 0);
#define VADD(signed_, may_nan_) vadd(n, a, b, signed_, may_nan_, &k, y)
  QEQ_Q8_VADD_SPECIALIZE(is_signed, may_nan, VADD);
#undef VADD
}
