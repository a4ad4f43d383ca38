#include "kernels/common/quant-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

typedef struct vmul_constants {
  __m512i a_zp, b_zp, y_zp16;
  __m512 multiplier, lo, hi;
} vmul_constants;

static inline __m512i centred16(const uint8_t* q, __m512i zero_point, int is_signed) {
  const __m128i bytes = _mm_loadu_si128((const __m128i*)q);
  const __m512i level = is_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
  return _mm512_sub_epi32(level, zero_point);
}

/* Sixteen products (exact: at most 2^16), rounded, before the zero point. */
static inline __m512i mul16(const uint8_t* a, const uint8_t* b, int is_signed,
                            const vmul_constants* k) {
  const __m512i p =
      _mm512_mullo_epi32(centred16(a, k->a_zp, is_signed), centred16(b, k->b_zp, is_signed));
  return qeq_round_ps_avx512(_mm512_cvtepi32_ps(p), k->multiplier, k->lo, k->hi);
}

/* Sixty-four outputs from 64 bytes of each input. */
static inline __m512i mul64(const uint8_t* a, const uint8_t* b, int is_signed,
                            const vmul_constants* k) {
  return qeq_pack_bytes64_avx512(mul16(a, b, is_signed, k), mul16(a + 16, b + 16, is_signed, k),
                                 mul16(a + 32, b + 32, is_signed, k),
                                 mul16(a + 48, b + 48, is_signed, k), k->y_zp16);
}

static inline __attribute__((always_inline)) void vmul(size_t n, const uint8_t* a, const uint8_t* b,
                                                       int is_signed, const vmul_constants* k,
                                                       uint8_t* y) {
  size_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(y + i, mul64(a + i, b + i, is_signed, k));
  if (i < n) {
    /* The last n - i (< 64) elements through the same steps from zero-filled copies. */
    const __mmask64 mask = ((__mmask64)1 << (n - i)) - 1;
    uint8_t ta[64], tb[64];
    _mm512_storeu_si512(ta, _mm512_maskz_loadu_epi8(mask, a + i));
    _mm512_storeu_si512(tb, _mm512_maskz_loadu_epi8(mask, b + i));
    _mm512_mask_storeu_epi8(y + i, mask, mul64(ta, tb, is_signed, k));
  }
}

void QEQ_X86_KERNEL(qeq_q8_vmul_ukernel__avx512)(size_t n, const uint8_t* a, const uint8_t* b,
                                                 int is_signed, const qeq_q8_mul_params* params,
                                                 uint8_t* y) {
  vmul_constants k;
  k.a_zp = _mm512_set1_epi32(params->a_zero_point);
  k.b_zp = _mm512_set1_epi32(params->b_zero_point);
  k.y_zp16 = _mm512_set1_epi16((int16_t)params->out.zero_point);
  k.multiplier = _mm512_set1_ps(params->out.inv_scale);
  k.lo = _mm512_set1_ps(params->out.lo);
  k.hi = _mm512_set1_ps(params->out.hi);
  if (is_signed) {
    vmul(n, a, b, 1, &k, y);
  } else {
    vmul(n, a, b, 0, &k, y);
  }
}
