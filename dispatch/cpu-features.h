/* CPU feature bits as dispatch sees them, and detection. */
#ifndef QEQ_DISPATCH_CPU_FEATURES_H
#define QEQ_DISPATCH_CPU_FEATURES_H

#include <stdint.h>

#include <qeq/isa.h>

enum {
  QEQ_FEATURE_AVX2 = 1u << 0,       /* AVX2 + FMA, OS saves YMM state */
  QEQ_FEATURE_AVX512 = 1u << 1,     /* AVX-512 F/BW/DQ/VL, OS saves ZMM and opmask state */
  QEQ_FEATURE_AVX512VNNI = 1u << 2, /* AVX512_VNNI */
  QEQ_FEATURE_AVXVNNI = 1u << 3,    /* AVX-VNNI (VEX) */
  QEQ_FEATURE_NEON = 1u << 4,       /* aarch64 ASIMD */
  QEQ_FEATURE_NEONDOT = 1u << 5,    /* ASIMDDP */
};

/* Features the running CPU and OS support. Never fails: unknown means 0 (scalar). */
uint32_t qeq_cpu_detect_features(void);

/* The features an ISA level consists of. */
uint32_t qeq_isa_required_features(qeq_isa isa);

#endif /* QEQ_DISPATCH_CPU_FEATURES_H */
