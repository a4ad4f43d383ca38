#include "kernels/common/qops-scalar.h"
#include "kernels/common/quant-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

typedef struct vadd_constants {
  __m512i flip, spread, float_bits, nan_to_zero, y_zp16;
  __m512 level_offset, a_scale, b_scale, a_offset, b_offset, inv, lo, hi;
} vadd_constants;

/* (float)q for 16 bytes with one shuffle and one subtraction: each byte lands in the low byte
 * of a dword holding the bits of 2^23 (0x4B000000), which reads as the float 2^23 + q;
 * subtracting 2^23 is exact. This replaces a widening and a conversion. int8 bytes have their
 * top bit flipped (q ^ 0x80 = q + 128), and 2^23 + 128 is subtracted. */
static inline __m512 level16(const uint8_t* q, __m512 offset, int is_signed,
                             const vadd_constants* k) {
  __m512i bytes = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i*)q));
  if (is_signed) bytes = _mm512_xor_si512(bytes, k->flip);
  const __m512i bits =
      _mm512_mask_shuffle_epi8(k->float_bits, (__mmask64)0x1111111111111111u, bytes, k->spread);
  return _mm512_sub_ps(_mm512_castsi512_ps(bits), offset);
}

/* The contract's steps for 16 elements up to the rounded value (the zero point is added after
 * packing); VFIXUPIMMPS turns NaN into +0 in one op, where a NaN can occur. */
static inline __m512i add16(const uint8_t* a, const uint8_t* b, int is_signed, int may_nan,
                            const vadd_constants* k) {
  const __m512 da =
      _mm512_fmadd_ps(level16(a, k->level_offset, is_signed, k), k->a_scale, k->a_offset);
  const __m512 db =
      _mm512_fmadd_ps(level16(b, k->level_offset, is_signed, k), k->b_scale, k->b_offset);
  __m512 v = _mm512_mul_ps(_mm512_add_ps(da, db), k->inv);
  if (may_nan) v = _mm512_fixupimm_ps(v, v, k->nan_to_zero, 0);
  v = _mm512_min_ps(_mm512_max_ps(v, k->lo), k->hi);
  return _mm512_cvtps_epi32(v); /* MXCSR: nearest even */
}

/* is_signed and may_nan are constants in each call below, so the flip and the NaN fix-up are
 * compiled out where they are not needed. */
static inline __attribute__((always_inline)) void vadd(size_t n, const uint8_t* a, const uint8_t* b,
                                                       int is_signed, int may_nan,
                                                       const vadd_constants* k, uint8_t* y) {
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i q0 = add16(a + i, b + i, is_signed, may_nan, k);
    const __m512i q1 = add16(a + i + 16, b + i + 16, is_signed, may_nan, k);
    const __m512i q2 = add16(a + i + 32, b + i + 32, is_signed, may_nan, k);
    const __m512i q3 = add16(a + i + 48, b + i + 48, is_signed, may_nan, k);
    _mm512_storeu_si512(y + i, qeq_pack_bytes64_avx512(q0, q1, q2, q3, k->y_zp16));
  }
  if (i < n) {
    /* The last n - i (< 64) elements go through the same steps from a copy. */
    const __mmask64 mask = ((__mmask64)1 << (n - i)) - 1;
    uint8_t ta[64], tb[64];
    _mm512_storeu_si512(ta, _mm512_maskz_loadu_epi8(mask, a + i));
    _mm512_storeu_si512(tb, _mm512_maskz_loadu_epi8(mask, b + i));
    __m512i q[4];
    for (int g = 0; g < 4; g++) q[g] = add16(ta + 16 * g, tb + 16 * g, is_signed, may_nan, k);
    _mm512_mask_storeu_epi8(y + i, mask,
                            qeq_pack_bytes64_avx512(q[0], q[1], q[2], q[3], k->y_zp16));
  }
}

void QEQ_X86_KERNEL(qeq_q8_vadd_ukernel__avx512)(size_t n, const uint8_t* a, const uint8_t* b,
                                                 int is_signed, const qeq_q8_add_params* params,
                                                 uint8_t* y) {
  const int32_t shift = is_signed ? 128 : 0;
  vadd_constants k;
  k.flip = _mm512_set1_epi8((char)0x80);
  /* Lane l, dword d takes byte 4 * l + d of the 16 broadcast bytes into its low byte. */
  k.spread = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  k.float_bits = _mm512_set1_epi32(0x4B000000);
  k.nan_to_zero = _mm512_set1_epi32(0x88); /* QNaN and SNaN tokens -> +0, others kept */
  k.y_zp16 = _mm512_set1_epi16((short)params->out.zero_point);
  k.level_offset = _mm512_set1_ps(8388608.0f + (float)shift);
  k.a_offset = _mm512_set1_ps(qeq_q8_scaled_neg_zero_point(params->a_scale, params->a_zero_point));
  k.b_offset = _mm512_set1_ps(qeq_q8_scaled_neg_zero_point(params->b_scale, params->b_zero_point));
  k.a_scale = _mm512_set1_ps(params->a_scale);
  k.b_scale = _mm512_set1_ps(params->b_scale);
  k.inv = _mm512_set1_ps(params->out.inv_scale);
  k.lo = _mm512_set1_ps(params->out.lo);
  k.hi = _mm512_set1_ps(params->out.hi);
  const int may_nan = qeq_q8_add_may_nan(params, shift);
#define VADD(signed_, may_nan_) vadd(n, a, b, signed_, may_nan_, &k, y)
  QEQ_Q8_VADD_SPECIALIZE(is_signed, may_nan, VADD);
#undef VADD
}
