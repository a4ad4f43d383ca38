/* x86 detection: CPUID says what the CPU has, XGETBV what the OS saves on context switch. */
#include "dispatch/cpu-features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

uint32_t qeq_cpu_detect_features(void) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  const int has_osxsave = (ecx >> 27) & 1;
  const int has_avx = (ecx >> 28) & 1;
  const int has_fma = (ecx >> 12) & 1;
  if (!has_osxsave || !has_avx) return 0;
  const uint64_t xcr0 = read_xcr0();
  const int os_ymm = (xcr0 & 0x6) == 0x6;   /* XMM and YMM state */
  const int os_zmm = (xcr0 & 0xE6) == 0xE6; /* + opmask, ZMM_Hi256, Hi16_ZMM */
  if (!os_ymm) return 0;
  if (__get_cpuid_max(0, 0) < 7) return 0;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const int has_avx2 = (ebx >> 5) & 1;
  const int has_avx512f = (ebx >> 16) & 1;
  const int has_avx512dq = (ebx >> 17) & 1;
  const int has_avx512bw = (ebx >> 30) & 1;
  const int has_avx512vl = (ebx >> 31) & 1;
  const int has_avx512vnni = (ecx >> 11) & 1;
  const unsigned max_subleaf = eax;
  int has_avxvnni = 0;
  if (max_subleaf >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    has_avxvnni = (eax >> 4) & 1;
  }
  uint32_t features = 0;
  if (has_avx2 && has_fma) features |= QEQ_FEATURE_AVX2;
  if ((features & QEQ_FEATURE_AVX2) && os_zmm && has_avx512f && has_avx512dq && has_avx512bw &&
      has_avx512vl) {
    features |= QEQ_FEATURE_AVX512;
    if (has_avx512vnni) features |= QEQ_FEATURE_AVX512VNNI;
  }
  if ((features & QEQ_FEATURE_AVX2) && has_avxvnni) features |= QEQ_FEATURE_AVXVNNI;
  return features;
}

#endif
