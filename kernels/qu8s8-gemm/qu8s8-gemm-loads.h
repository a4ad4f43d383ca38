/* Activation loads shared by the x86 qu8s8 GEMM and indirect GEMM kernels: unaligned scalar
 * reads of a row's bytes (memcpy, so no alignment or aliasing assumption), the K tail read
 * byte by byte, and both for every row of a tile whose rows are given by pointers. */
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

/* 8 bytes as one int64: four widened activations. */
static inline int64_t qeq_gemm_load_a8(const void* p) {
  int64_t v;
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

/* a4[i] = the 4 bytes at row[i] + offset, for i < rows. */
static inline __attribute__((always_inline)) void qeq_gemm_load_rows_a4(const size_t rows,
                                                                        const uint8_t* const* row,
                                                                        size_t offset,
                                                                        int32_t* a4) {
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) a4[i] = qeq_gemm_load_a4(row[i] + offset);
}

/* a4[i] = the n (0..3) bytes at row[i] + offset, zero above, for i < rows. */
static inline __attribute__((always_inline)) void qeq_gemm_load_rows_tail(const size_t rows,
                                                                          const uint8_t* const* row,
                                                                          size_t offset, size_t n,
                                                                          int32_t* a4) {
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) a4[i] = qeq_gemm_load_a_tail(row[i] + offset, n);
}

/* row[i] = a[i] + offset for i < rows: one tap's row pointers of an indirect GEMM tile. */
static inline __attribute__((always_inline)) void qeq_gemm_tap_rows(const size_t rows,
                                                                    const uint8_t* const* a,
                                                                    size_t offset,
                                                                    const uint8_t** row) {
#pragma GCC unroll 16
  for (size_t i = 0; i < rows; i++) row[i] = a[i] + offset;
}

#endif /* QEQ_KERNELS_QU8S8_GEMM_LOADS_H */
