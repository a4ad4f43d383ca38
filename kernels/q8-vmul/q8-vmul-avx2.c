#include "kernels/common/partial-bytes.h"
#include "kernels/common/quant-avx2.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

typedef struct vmul_constants {
  __m256i a_zp, b_zp, y_zp;
  __m256 multiplier, lo, hi;
} vmul_constants;

static inline __m256i centred8(const uint8_t* q, __m256i zero_point, int is_signed) {
  const __m128i bytes = _mm_loadl_epi64((const __m128i*)q);
  const __m256i level = is_signed ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
  return _mm256_sub_epi32(level, zero_point);
}

/* Eight products (exact in int32 and in float: at most 2^16), requantized. */
static inline __m256i mul8(const uint8_t* a, const uint8_t* b, int is_signed,
                           const vmul_constants* k) {
  const __m256i p =
      _mm256_mullo_epi32(centred8(a, k->a_zp, is_signed), centred8(b, k->b_zp, is_signed));
  return qeq_quantize_ps_avx2(_mm256_cvtepi32_ps(p), k->multiplier, k->lo, k->hi, k->y_zp);
}

static inline __attribute__((always_inline)) void vmul(size_t n, const uint8_t* a, const uint8_t* b,
                                                       int is_signed, const vmul_constants* k,
                                                       uint8_t* y) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q[4];
    for (int g = 0; g < 4; g++) q[g] = mul8(a + i + 8 * g, b + i + 8 * g, is_signed, k);
    _mm256_storeu_si256((__m256i*)(y + i), qeq_low_bytes32_avx2(q[0], q[1], q[2], q[3]));
  }
  for (; i + 8 <= n; i += 8) {
    _mm_storel_epi64((__m128i*)(y + i), qeq_low_bytes8_avx2(mul8(a + i, b + i, is_signed, k)));
  }
  if (i < n) {
    /* The last n - i (< 8) elements go through the same steps, read and written in pieces. */
    const uint64_t ta = qeq_load_partial8(a + i, n - i), tb = qeq_load_partial8(b + i, n - i);
    const __m128i q =
        qeq_low_bytes8_avx2(mul8((const uint8_t*)&ta, (const uint8_t*)&tb, is_signed, k));
    qeq_store_partial8(y + i, (uint64_t)_mm_cvtsi128_si64(q), n - i);
  }
}

void QEQ_X86_KERNEL(qeq_q8_vmul_ukernel__avx2)(size_t n, const uint8_t* a, const uint8_t* b,
                                               int is_signed, const qeq_q8_mul_params* params,
                                               uint8_t* y) {
  vmul_constants k;
  k.a_zp = _mm256_set1_epi32(params->a_zero_point);
  k.b_zp = _mm256_set1_epi32(params->b_zero_point);
  k.y_zp = _mm256_set1_epi32(params->out.zero_point);
  k.multiplier = _mm256_set1_ps(params->out.inv_scale);
  k.lo = _mm256_set1_ps(params->out.lo);
  k.hi = _mm256_set1_ps(params->out.hi);
  if (is_signed) {
    vmul(n, a, b, 1, &k, y);
  } else {
    vmul(n, a, b, 0, &k, y);
  }
}
