/* Architectures without SIMD kernels: scalar only. */
#include "dispatch/cpu-features.h"

#if !defined(__x86_64__) && !defined(__i386__) && !defined(__aarch64__)
uint32_t qeq_cpu_detect_features(void) {
  return 0;
}
#endif
