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

#else
#include <immintrin.h>
#define QEQ_X86_KERNEL(name) name
#endif

#endif /* QEQ_KERNELS_COMMON_X86_H */
