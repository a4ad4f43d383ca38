/* Activation loads shared by the x86 qu8s8 GEMM kernels: unaligned scalar reads of a row's
 * bytes (memcpy, so no alignment or aliasing assumption), and the K tail read byte by byte. */
#ifndef QEQ_KERNELS_QU8S8_GEMM_LOADS_H
#define QEQ_KERNELS_QU8S8_GEMM_LOADS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 4 bytes as one int32: the broadcast operand of a k group (or of two k pairs). */
static inline int32_t qeq_gemm_load_a4(const void* p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* 2 bytes: one k pair. */
static inline uint16_t qeq_gemm_load_a2(const void* p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The K tail's n (0..3) activation bytes as one int32, zero above, so nothing past the row
 * end is read. The packed weights there are zero anyway. */
static inline int32_t qeq_gemm_load_a_tail(const uint8_t* p, size_t n) {
  uint32_t v = 0;
  for (size_t b = 0; b < n; b++) v |= (uint32_t)p[b] << (8 * b);
  return (int32_t)v;
}

#endif /* QEQ_KERNELS_QU8S8_GEMM_LOADS_H */
