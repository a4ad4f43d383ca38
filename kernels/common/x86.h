/* x86 intrinsics: native with the per-ISA compiler flags, or through SIMDe when the tests
 * build the x86 kernels for a CPU that lacks their ISA (QEQ_X86_VIA_SIMDE). Every x86 kernel
 * source and its common headers include intrinsics through this file, and kernels name
 * themselves with QEQ_X86_KERNEL(name), so both builds of one source can live in one test
 * binary (the SIMDe one as name_simde). */
#ifndef QEQ_KERNELS_COMMON_X86_H
#define QEQ_KERNELS_COMMON_X86_H

#if defined(QEQ_X86_VIA_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define QEQ_X86_KERNEL(name) name##_simde
#include "kernels/common/x86-simde-polyfills.h"
#else
#include <immintrin.h>
#define QEQ_X86_KERNEL(name) name
#endif

#endif /* QEQ_KERNELS_COMMON_X86_H */
