/* aarch64 Linux detection through the kernel's auxiliary vector (no MRS reads). */
#include "dispatch/cpu-features.h"

#if defined(__aarch64__)
#if defined(__linux__)
#include <sys/auxv.h>

#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif

uint32_t qeq_cpu_detect_features(void) {
  const unsigned long hwcap = getauxval(AT_HWCAP);
  uint32_t features = 0;
  if (hwcap & HWCAP_ASIMD) {
    features |= QEQ_FEATURE_NEON;
    if (hwcap & HWCAP_ASIMDDP) features |= QEQ_FEATURE_NEONDOT;
  }
  return features;
}
#else
/* Other aarch64 systems: NEON is architectural; dot product is not assumed. */
uint32_t qeq_cpu_detect_features(void) {
  return QEQ_FEATURE_NEON;
}
#endif
#endif
