/* The fixed-point add, sixteen int32 lanes a step (the products fit), VPMOVDB to bytes. */
#include "kernels/common/qops-scalar.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

typedef struct vadd_fixed_constants {
  __m512i bias, a_mul, b_mul, mask, threshold, y_zp, y_min, y_max, one;
  __m128i shift;
} vadd_fixed_constants;

static inline __m512i widen16(const uint8_t* q, int is_signed) {
  const __m128i bytes = _mm_loadu_si128((const __m128i*)q);
  return is_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
}

static inline __m128i add16(const uint8_t* a, const uint8_t* b, int is_signed,
                            const vadd_fixed_constants* k) {
  const __m512i va = widen16(a, is_signed);
  const __m512i vb = widen16(b, is_signed);
  const __m512i acc = _mm512_add_epi32(k->bias, _mm512_add_epi32(_mm512_mullo_epi32(va, k->a_mul),
                                                                 _mm512_mullo_epi32(vb, k->b_mul)));
  /* rem = (acc & mask) - (acc < 0) */
  const __mmask16 negative = _mm512_cmpgt_epi32_mask(_mm512_setzero_si512(), acc);
  const __m512i rem = _mm512_mask_sub_epi32(_mm512_and_si512(acc, k->mask), negative,
                                            _mm512_and_si512(acc, k->mask), k->one);
  /* q = (acc >> shift) + (rem > threshold) */
  const __mmask16 up = _mm512_cmpgt_epi32_mask(rem, k->threshold);
  __m512i q = _mm512_sra_epi32(acc, k->shift);
  q = _mm512_mask_add_epi32(q, up, q, k->one);
  q = _mm512_add_epi32(q, k->y_zp);
  q = _mm512_min_epi32(_mm512_max_epi32(q, k->y_min), k->y_max);
  return _mm512_cvtepi32_epi8(q);
}

/* is_signed is a constant in each call below, so each path is compiled apart. */
static inline __attribute__((always_inline)) void vadd(size_t n, const uint8_t* a, const uint8_t* b,
                                                       int is_signed,
                                                       const qeq_q8_vadd_fixed_params* params,
                                                       const vadd_fixed_constants* k, uint8_t* y) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    /* both loads of a step happen before its stores: y may be a or b */
    const __m128i q0 = add16(a + i, b + i, is_signed, k);
    const __m128i q1 = add16(a + i + 16, b + i + 16, is_signed, k);
    _mm_storeu_si128((__m128i*)(y + i), q0);
    _mm_storeu_si128((__m128i*)(y + i + 16), q1);
  }
  for (; i + 16 <= n; i += 16) {
    _mm_storeu_si128((__m128i*)(y + i), add16(a + i, b + i, is_signed, k));
  }
  for (; i < n; i++) y[i] = qeq_q8_vadd_fixed_one(a[i], b[i], is_signed, params);
}

void QEQ_X86_KERNEL(qeq_q8_vadd_fixed_ukernel__avx512)(size_t n, const uint8_t* a, const uint8_t* b,
                                                       int is_signed,
                                                       const qeq_q8_vadd_fixed_params* params,
                                                       uint8_t* y) {
  vadd_fixed_constants k;
  k.bias = _mm512_set1_epi32(params->bias);
  k.a_mul = _mm512_set1_epi32(params->a_multiplier);
  k.b_mul = _mm512_set1_epi32(params->b_multiplier);
  k.mask = _mm512_set1_epi32(params->remainder_mask);
  k.threshold = _mm512_set1_epi32(params->remainder_threshold);
  k.y_zp = _mm512_set1_epi32(params->y_zero_point);
  k.y_min = _mm512_set1_epi32(params->y_min);
  k.y_max = _mm512_set1_epi32(params->y_max);
  k.one = _mm512_set1_epi32(1);
  k.shift = _mm_cvtsi32_si128((int)params->right_shift);
  if (is_signed) {
    vadd(n, a, b, 1, params, &k, y);
  } else {
    vadd(n, a, b, 0, params, &k, y);
  }
}
