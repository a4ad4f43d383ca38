/* The fixed-point add, 32 bytes a step: eight int32 lanes per group (the products fit), the
 * shift and rounding in int32, the clamp in int32, then packed to bytes. */
#include "kernels/common/qops-scalar.h"
#include "kernels/common/quant-avx2.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

typedef struct vadd_fixed_constants {
  __m256i bias, a_mul, b_mul, mask, threshold, y_zp, y_min, y_max;
  __m128i shift;
} vadd_fixed_constants;

static inline __m256i widen8(const uint8_t* q, int is_signed) {
  const __m128i bytes = _mm_loadl_epi64((const __m128i*)q);
  return is_signed ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
}

static inline __m256i add8(const uint8_t* a, const uint8_t* b, int is_signed,
                           const vadd_fixed_constants* k) {
  const __m256i va = widen8(a, is_signed);
  const __m256i vb = widen8(b, is_signed);
  const __m256i acc = _mm256_add_epi32(k->bias, _mm256_add_epi32(_mm256_mullo_epi32(va, k->a_mul),
                                                                 _mm256_mullo_epi32(vb, k->b_mul)));
  /* rem = (acc & mask) - (acc < 0): the comparison gives -1 where acc < 0 */
  const __m256i negative = _mm256_cmpgt_epi32(_mm256_setzero_si256(), acc);
  const __m256i rem = _mm256_add_epi32(_mm256_and_si256(acc, k->mask), negative);
  /* q = (acc >> shift) + (rem > threshold): subtracting the -1 of the comparison adds 1 */
  __m256i q =
      _mm256_sub_epi32(_mm256_sra_epi32(acc, k->shift), _mm256_cmpgt_epi32(rem, k->threshold));
  q = _mm256_add_epi32(q, k->y_zp);
  return _mm256_min_epi32(_mm256_max_epi32(q, k->y_min), k->y_max);
}

/* is_signed is a constant in each call below, so each path is compiled apart. */
static inline __attribute__((always_inline)) void vadd(size_t n, const uint8_t* a, const uint8_t* b,
                                                       int is_signed,
                                                       const qeq_q8_vadd_fixed_params* params,
                                                       const vadd_fixed_constants* k, uint8_t* y) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q[4];
    for (int g = 0; g < 4; g++) q[g] = add8(a + i + 8 * g, b + i + 8 * g, is_signed, k);
    _mm256_storeu_si256((__m256i*)(y + i), qeq_low_bytes32_avx2(q[0], q[1], q[2], q[3]));
  }
  for (; i + 8 <= n; i += 8) {
    _mm_storel_epi64((__m128i*)(y + i), qeq_low_bytes8_avx2(add8(a + i, b + i, is_signed, k)));
  }
  for (; i < n; i++) y[i] = qeq_q8_vadd_fixed_one(a[i], b[i], is_signed, params);
}

void QEQ_X86_KERNEL(qeq_q8_vadd_fixed_ukernel__avx2)(size_t n, const uint8_t* a, const uint8_t* b,
                                                     int is_signed,
                                                     const qeq_q8_vadd_fixed_params* params,
                                                     uint8_t* y) {
  vadd_fixed_constants k;
  k.bias = _mm256_set1_epi32(params->bias);
  k.a_mul = _mm256_set1_epi32(params->a_multiplier);
  k.b_mul = _mm256_set1_epi32(params->b_multiplier);
  k.mask = _mm256_set1_epi32(params->remainder_mask);
  k.threshold = _mm256_set1_epi32(params->remainder_threshold);
  k.y_zp = _mm256_set1_epi32(params->y_zero_point);
  k.y_min = _mm256_set1_epi32(params->y_min);
  k.y_max = _mm256_set1_epi32(params->y_max);
  k.shift = _mm_cvtsi32_si128((int)params->right_shift);
  if (is_signed) {
    vadd(n, a, b, 1, params, &k, y);
  } else {
    vadd(n, a, b, 0, params, &k, y);
  }
}
