/* What Debian's SIMDe 0.7.4 lacks or spells differently among the intrinsics the x86 kernels
 * use, for their SIMDe build only (included by kernels/common/x86.h). Each is an element loop
 * with the hardware's exact semantics; masked loads and stores touch only the selected
 * elements, as the hardware does (it neither reads nor faults on the others). */
#ifndef QEQ_KERNELS_COMMON_X86_SIMDE_POLYFILLS_H
#define QEQ_KERNELS_COMMON_X86_SIMDE_POLYFILLS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* SIMDe aliases the AVX-512 vector types but not the mask types. */
typedef simde__mmask16 __mmask16;
typedef simde__mmask64 __mmask64;

/* Its native aliases for the 512-bit madd take the masked form's arguments. */
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)
#undef _mm512_maskz_madd_epi16
#define _mm512_maskz_madd_epi16(k, a, b) simde_mm512_maskz_madd_epi16(k, a, b)
/* AVX-VNNI's VEX dot product: the same operation as the AVX512VL form it does emulate. */
#define _mm256_dpbusd_avx_epi32(src, a, b) simde_mm256_dpbusd_epi32(src, a, b)

/* ---- conversions ---- */
/* Lane by lane as C converts: int32 -> float rounds in the current mode like vcvtdq2ps;
 * float -> double is exact; wider -> narrower integers keep the low bits (vpmovdb); narrower
 * -> wider integers sign- or zero-extend by the source type (vpmovsx / vpmovzx). */
#define QEQ_SIMDE_CONVERT(name, out_vec, out_t, load_out, in_vec, in_t, store_in, lanes) \
  static inline out_vec name(in_vec a) {                                                 \
    in_t v[lanes];                                                                       \
    out_t r[lanes];                                                                      \
    store_in(v, a);                                                                      \
    for (int i = 0; i < lanes; i++) r[i] = (out_t)v[i];                                  \
    return load_out(r);                                                                  \
  }
QEQ_SIMDE_CONVERT(qeq_simde_mm512_cvtepi32_ps, simde__m512, float, simde_mm512_loadu_ps,
                  simde__m512i, int32_t, simde_mm512_storeu_si512, 16)
QEQ_SIMDE_CONVERT(qeq_simde_mm512_cvtps_pd, simde__m512d, double, simde_mm512_loadu_pd, simde__m256,
                  float, simde_mm256_storeu_ps, 8)
QEQ_SIMDE_CONVERT(qeq_simde_mm512_cvtepi32_epi8, simde__m128i, uint8_t, simde_mm_loadu_si128,
                  simde__m512i, int32_t, simde_mm512_storeu_si512, 16)
QEQ_SIMDE_CONVERT(qeq_simde_mm512_cvtepu8_epi32, simde__m512i, int32_t, simde_mm512_loadu_si512,
                  simde__m128i, uint8_t, simde_mm_storeu_si128, 16)
QEQ_SIMDE_CONVERT(qeq_simde_mm512_cvtepi8_epi32, simde__m512i, int32_t, simde_mm512_loadu_si512,
                  simde__m128i, int8_t, simde_mm_storeu_si128, 16)
QEQ_SIMDE_CONVERT(qeq_simde_mm512_cvtepu8_epi16, simde__m512i, uint16_t, simde_mm512_loadu_si512,
                  simde__m256i, uint8_t, simde_mm256_storeu_si256, 32)
QEQ_SIMDE_CONVERT(qeq_simde_mm512_cvtepu16_epi32, simde__m512i, int32_t, simde_mm512_loadu_si512,
                  simde__m256i, uint16_t, simde_mm256_storeu_si256, 16)
/* cvtps2dq rounds in the current mode and gives INT32_MIN for NaN and out-of-range values. */
static inline simde__m512i qeq_simde_mm512_cvtps_epi32(simde__m512 a) {
  float v[16];
  int32_t r[16];
  simde_mm512_storeu_ps(v, a);
  for (int i = 0; i < 16; i++) {
    const float x = nearbyintf(v[i]);
    r[i] = x >= -2147483648.0f && x < 2147483648.0f ? (int32_t)x : INT32_MIN;
  }
  return simde_mm512_loadu_si512(r);
}
/* The upper or lower eight floats (imm & 1). */
static inline simde__m256 qeq_simde_mm512_extractf32x8_ps(simde__m512 a, int imm) {
  float v[16];
  simde_mm512_storeu_ps(v, a);
  return simde_mm256_loadu_ps(v + 8 * (imm & 1));
}

/* ---- masked loads: unselected elements are zero (maskz) or src's (mask) ---- */
static inline simde__m512i qeq_simde_mm512_maskz_loadu_epi8(simde__mmask64 k, const void* p) {
  uint8_t r[64] = {0};
  for (int i = 0; i < 64; i++) {
    if (k >> i & 1) r[i] = ((const uint8_t*)p)[i];
  }
  return simde_mm512_loadu_si512(r);
}
static inline simde__m128i qeq_simde_mm_maskz_loadu_epi8(simde__mmask16 k, const void* p) {
  uint8_t r[16] = {0};
  for (int i = 0; i < 16; i++) {
    if (k >> i & 1) r[i] = ((const uint8_t*)p)[i];
  }
  return simde_mm_loadu_si128(r);
}
static inline simde__m512i qeq_simde_mm512_mask_loadu_epi32(simde__m512i src, simde__mmask16 k,
                                                            const void* p) {
  int32_t r[16];
  simde_mm512_storeu_si512(r, src);
  for (int i = 0; i < 16; i++) {
    if (k >> i & 1) memcpy(&r[i], (const char*)p + 4 * i, 4);
  }
  return simde_mm512_loadu_si512(r);
}

/* vmaskmovps: lanes whose mask top bit is clear are zero and not read (SIMDe reads all 32
 * bytes, past the end of a tail). */
static inline simde__m256 qeq_simde_mm256_maskload_ps(const float* p, simde__m256i mask) {
  int32_t m[8];
  float r[8] = {0};
  simde_mm256_storeu_si256(m, mask);
  for (int i = 0; i < 8; i++) {
    if (m[i] < 0) r[i] = p[i];
  }
  return simde_mm256_loadu_ps(r);
}

/* ---- integer lanes wrap (SIMDe adds 512-bit int16 lanes as signed C values: UB on overflow,
 * where the avgpool sums rely on the hardware's modular uint16 sums) ---- */
static inline simde__m512i qeq_simde_mm512_add_epi16(simde__m512i a, simde__m512i b) {
  uint16_t x[32], y[32];
  simde_mm512_storeu_si512(x, a);
  simde_mm512_storeu_si512(y, b);
  for (int i = 0; i < 32; i++) x[i] = (uint16_t)(x[i] + y[i]);
  return simde_mm512_loadu_si512(x);
}

/* vrangeps: SIMDe takes minps/maxps, which return the second operand for +0 against -0 and
 * for a NaN; the hardware orders -0 below +0 and passes over a quiet NaN. imm bits 1:0 pick
 * min, max, min or max magnitude (ties of magnitude by sign); bits 3:2 take the sign from a,
 * keep it, clear it or set it. (It matches the hardware's VRANGEPS bit for bit for every imm
 * over signed zeros, subnormals, infinities, quiet and signalling NaNs; where that was checked:
 * CHANGELOG.md, "Measurements behind decisions".) */
static inline float qeq_simde_quiet_f32(float v) {
  uint32_t bits;
  memcpy(&bits, &v, 4);
  bits |= 0x00400000u;
  memcpy(&v, &bits, 4);
  return v;
}
static inline int qeq_simde_is_snan_f32(float v) {
  uint32_t bits;
  memcpy(&bits, &v, 4);
  return v != v && !(bits & 0x00400000u);
}
static inline float qeq_simde_range_f32(float a, float b, int imm) {
  float r;
  if (qeq_simde_is_snan_f32(a) || qeq_simde_is_snan_f32(b)) {
    return qeq_simde_quiet_f32(qeq_simde_is_snan_f32(a) ? a : b); /* no sign control */
  }
  if (a != a || b != b) {
    r = b != b ? a : b; /* a quiet NaN gives way to a number */
  } else {
    const float ma = imm & 2 ? fabsf(a) : a, mb = imm & 2 ? fabsf(b) : b;
    const int a_below = ma < mb || (ma == mb && (signbit(a) || !signbit(b)));
    r = (imm & 1) == 0 ? (a_below ? a : b) : (a_below ? b : a);
  }
  switch (imm & 12) {
    case 0:
      if (r == r) r = copysignf(r, a); /* a NaN result keeps its sign */
      break;
    case 8: r = fabsf(r); break;
    case 12: r = -fabsf(r); break;
    default: break;
  }
  return r;
}
static inline simde__m512 qeq_simde_mm512_range_ps(simde__m512 a, simde__m512 b, int imm) {
  float x[16], y[16];
  simde_mm512_storeu_ps(x, a);
  simde_mm512_storeu_ps(y, b);
  for (int i = 0; i < 16; i++) x[i] = qeq_simde_range_f32(x[i], y[i], imm);
  return simde_mm512_loadu_ps(x);
}

/* ---- masked and streaming stores ---- */
static inline void qeq_simde_mm512_mask_storeu_epi8(void* p, simde__mmask64 k, simde__m512i a) {
  uint8_t v[64];
  simde_mm512_storeu_si512(v, a);
  for (int i = 0; i < 64; i++) {
    if (k >> i & 1) ((uint8_t*)p)[i] = v[i];
  }
}
static inline void qeq_simde_mm512_mask_storeu_epi32(void* p, simde__mmask16 k, simde__m512i a) {
  int32_t v[16];
  simde_mm512_storeu_si512(v, a);
  for (int i = 0; i < 16; i++) {
    if (k >> i & 1) memcpy((char*)p + 4 * i, &v[i], 4);
  }
}
static inline void qeq_simde_mm512_mask_cvtepi32_storeu_epi8(void* p, simde__mmask16 k,
                                                             simde__m512i a) {
  int32_t v[16];
  simde_mm512_storeu_si512(v, a);
  for (int i = 0; i < 16; i++) {
    if (k >> i & 1) ((uint8_t*)p)[i] = (uint8_t)v[i];
  }
}

/* ---- shifts SIMDe 0.7 lacks ---- */
/* VPSRAD by the count in the low 64 bits of count: counts past 31 fill with the sign. */
static inline simde__m512i qeq_simde_mm512_sra_epi32(simde__m512i a, simde__m128i count) {
  int32_t v[16];
  uint64_t c;
  simde_mm512_storeu_si512(v, a);
  memcpy(&c, &count, sizeof c);
  const int shift = c > 31 ? 31 : (int)c;
  for (int i = 0; i < 16; i++) v[i] = v[i] >= 0 ? v[i] >> shift : ~(~v[i] >> shift);
  return simde_mm512_loadu_si512(v);
}

/* ---- fused multiply-add ----
 * SIMDe computes a * b + c with two roundings when the build has no FMA; the hardware rounds
 * once, as fmaf does. */
#define QEQ_SIMDE_FMADD(name, vec, load, store, lanes)                \
  static inline vec name(vec a, vec b, vec c) {                       \
    float va[lanes], vb[lanes], vc[lanes], r[lanes];                  \
    store(va, a);                                                     \
    store(vb, b);                                                     \
    store(vc, c);                                                     \
    for (int i = 0; i < lanes; i++) r[i] = fmaf(va[i], vb[i], vc[i]); \
    return load(r);                                                   \
  }
QEQ_SIMDE_FMADD(qeq_simde_mm512_fmadd_ps, simde__m512, simde_mm512_loadu_ps, simde_mm512_storeu_ps,
                16)
QEQ_SIMDE_FMADD(qeq_simde_mm256_fmadd_ps, simde__m256, simde_mm256_loadu_ps, simde_mm256_storeu_ps,
                8)
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps(a, b, c) qeq_simde_mm512_fmadd_ps(a, b, c)
#undef _mm256_fmadd_ps
#define _mm256_fmadd_ps(a, b, c) qeq_simde_mm256_fmadd_ps(a, b, c)

#undef _mm512_sra_epi32
#define _mm512_sra_epi32(a, count) qeq_simde_mm512_sra_epi32(a, count)
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps(a) qeq_simde_mm512_cvtepi32_ps(a)
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32(a) qeq_simde_mm512_cvtps_epi32(a)
#undef _mm512_cvtps_pd
#define _mm512_cvtps_pd(a) qeq_simde_mm512_cvtps_pd(a)
#undef _mm512_cvtepi32_epi8
#define _mm512_cvtepi32_epi8(a) qeq_simde_mm512_cvtepi32_epi8(a)
#undef _mm512_cvtepu8_epi32
#define _mm512_cvtepu8_epi32(a) qeq_simde_mm512_cvtepu8_epi32(a)
#undef _mm512_cvtepi8_epi32
#define _mm512_cvtepi8_epi32(a) qeq_simde_mm512_cvtepi8_epi32(a)
#undef _mm512_cvtepu8_epi16
#define _mm512_cvtepu8_epi16(a) qeq_simde_mm512_cvtepu8_epi16(a)
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32(a) qeq_simde_mm512_cvtepu16_epi32(a)
#undef _mm512_extractf32x8_ps
#define _mm512_extractf32x8_ps(a, imm) qeq_simde_mm512_extractf32x8_ps(a, imm)
#undef _mm256_maskload_ps
#define _mm256_maskload_ps(p, mask) qeq_simde_mm256_maskload_ps(p, mask)
#undef _mm512_add_epi16
#define _mm512_add_epi16(a, b) qeq_simde_mm512_add_epi16(a, b)
#undef _mm512_range_ps
#define _mm512_range_ps(a, b, imm) qeq_simde_mm512_range_ps(a, b, imm)
#undef _mm512_maskz_loadu_epi8
#define _mm512_maskz_loadu_epi8(k, p) qeq_simde_mm512_maskz_loadu_epi8(k, p)
#undef _mm_maskz_loadu_epi8
#define _mm_maskz_loadu_epi8(k, p) qeq_simde_mm_maskz_loadu_epi8(k, p)
#undef _mm512_maskz_loadu_epi32
#define _mm512_maskz_loadu_epi32(k, p) \
  qeq_simde_mm512_mask_loadu_epi32(simde_mm512_setzero_si512(), k, p)
/* The float forms move the same 4-byte lanes: bit patterns pass unchanged. */
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps(k, p) \
  simde_mm512_castsi512_ps(qeq_simde_mm512_mask_loadu_epi32(simde_mm512_setzero_si512(), k, p))
#undef _mm512_mask_loadu_ps
#define _mm512_mask_loadu_ps(src, k, p) \
  simde_mm512_castsi512_ps(qeq_simde_mm512_mask_loadu_epi32(simde_mm512_castps_si512(src), k, p))
#undef _mm512_mask_storeu_epi8
#define _mm512_mask_storeu_epi8(p, k, a) qeq_simde_mm512_mask_storeu_epi8(p, k, a)
#undef _mm512_mask_storeu_epi32
#define _mm512_mask_storeu_epi32(p, k, a) qeq_simde_mm512_mask_storeu_epi32(p, k, a)
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps(p, k, a) \
  qeq_simde_mm512_mask_storeu_epi32(p, k, simde_mm512_castps_si512(a))
#undef _mm512_mask_cvtepi32_storeu_epi8
#define _mm512_mask_cvtepi32_storeu_epi8(p, k, a) qeq_simde_mm512_mask_cvtepi32_storeu_epi8(p, k, a)
/* The non-temporal hint has no meaning here; the alignment rule stays (an aligned store). */
#undef _mm512_stream_ps
#define _mm512_stream_ps(p, a) simde_mm512_store_ps(p, a)

#endif /* QEQ_KERNELS_COMMON_X86_SIMDE_POLYFILLS_H */
