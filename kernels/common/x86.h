/* x86 intrinsics: native with the per-ISA compiler flags, or through SIMDe when the tests
 * build the x86 kernels for a CPU that lacks their ISA (QEQ_X86_VIA_SIMDE). Kernels name
 * themselves with QEQ_X86_KERNEL(name) so both builds can live in one test binary. */
#ifndef QEQ_KERNELS_COMMON_X86_H
#define QEQ_KERNELS_COMMON_X86_H

#if defined(QEQ_X86_VIA_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define QEQ_X86_KERNEL(name) name##_simde

/* Polyfills for Debian's SIMDe 0.7.4: its native aliases for the 512-bit madd take the
 * masked form's arguments, and it has no spelling of AVX-VNNI's VEX dot product (the same
 * operation as the AVX512VL form it does emulate). */
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)
#undef _mm512_maskz_madd_epi16
#define _mm512_maskz_madd_epi16(k, a, b) simde_mm512_maskz_madd_epi16(k, a, b)
#define _mm256_dpbusd_avx_epi32(src, a, b) simde_mm256_dpbusd_epi32(src, a, b)

/* AVX-512F conversions and masked stores SIMDe 0.7.4 lacks (used by the VNNI GEMM
 * epilogue). Element loops with the hardware's semantics: cvtps2dq rounds in the current
 * mode and gives INT32_MIN for NaN and out-of-range values; masked stores touch only the
 * selected elements. */
#include <math.h>
#include <string.h>

static inline simde__m512 qeq_simde_mm512_cvtepi32_ps(simde__m512i a) {
  int32_t v[16];
  float r[16];
  simde_mm512_storeu_si512(v, a);
  for (int i = 0; i < 16; i++) r[i] = (float)v[i];
  return simde_mm512_loadu_ps(r);
}
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
/* vpmovdb: the low byte of each lane. */
static inline simde__m128i qeq_simde_mm512_cvtepi32_epi8(simde__m512i a) {
  int32_t v[16];
  uint8_t r[16];
  simde_mm512_storeu_si512(v, a);
  for (int i = 0; i < 16; i++) r[i] = (uint8_t)v[i];
  return simde_mm_loadu_si128(r);
}
static inline void qeq_simde_mm512_mask_cvtepi32_storeu_epi8(void* p, simde__mmask16 k,
                                                             simde__m512i a) {
  int32_t v[16];
  simde_mm512_storeu_si512(v, a);
  for (int i = 0; i < 16; i++) {
    if (k >> i & 1) ((uint8_t*)p)[i] = (uint8_t)v[i];
  }
}
static inline void qeq_simde_mm512_mask_storeu_epi32(void* p, simde__mmask16 k, simde__m512i a) {
  int32_t v[16];
  simde_mm512_storeu_si512(v, a);
  for (int i = 0; i < 16; i++) {
    if (k >> i & 1) memcpy((char*)p + 4 * i, &v[i], 4);
  }
}
/* vpmovzxbd to 512 bits (used by the depthwise kernel). */
static inline simde__m512i qeq_simde_mm512_cvtepu8_epi32(simde__m128i a) {
  uint8_t v[16];
  int32_t r[16];
  simde_mm_storeu_si128(v, a);
  for (int i = 0; i < 16; i++) r[i] = v[i];
  return simde_mm512_loadu_si512(r);
}
#undef _mm512_cvtepu8_epi32
#define _mm512_cvtepu8_epi32(a) qeq_simde_mm512_cvtepu8_epi32(a)
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps(a) qeq_simde_mm512_cvtepi32_ps(a)
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32(a) qeq_simde_mm512_cvtps_epi32(a)
#undef _mm512_cvtepi32_epi8
#define _mm512_cvtepi32_epi8(a) qeq_simde_mm512_cvtepi32_epi8(a)
#undef _mm512_mask_cvtepi32_storeu_epi8
#define _mm512_mask_cvtepi32_storeu_epi8(p, k, a) qeq_simde_mm512_mask_cvtepi32_storeu_epi8(p, k, a)
#undef _mm512_mask_storeu_epi32
#define _mm512_mask_storeu_epi32(p, k, a) qeq_simde_mm512_mask_storeu_epi32(p, k, a)
#undef _mm512_mask_storeu_ps
/* The same 4-byte lanes: the bit pattern is stored unchanged. */
#define _mm512_mask_storeu_ps(p, k, a) \
  qeq_simde_mm512_mask_storeu_epi32(p, k, simde_mm512_castps_si512(a))

#else
#include <immintrin.h>
#define QEQ_X86_KERNEL(name) name
#endif

#endif /* QEQ_KERNELS_COMMON_X86_H */
