/* Activation loads shared by the NEON qu8s8 GEMM and indirect GEMM kernels: the last kc % 8
 * bytes of a row of kc bytes, read without touching a byte outside the row. */
#ifndef QEQ_KERNELS_QU8S8_GEMM_LOADS_NEON_H
#define QEQ_KERNELS_QU8S8_GEMM_LOADS_NEON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/neon.h"

/* The table-lookup index that moves the last kc % 8 bytes of an 8-byte load down to lanes
 * 0 .. kc % 8 - 1 and zeroes the lanes above (index 0xFF reads as zero). */
static inline uint8x8_t qeq_neon_tail_index(size_t kc) {
  const uint8_t rem = (uint8_t)(kc % 8);
  const uint8x8_t lane = vcreate_u8(UINT64_C(0x0706050403020100));
  return vorr_u8(vadd_u8(lane, vdup_n_u8((uint8_t)(8 - rem))), vcge_u8(lane, vdup_n_u8(rem)));
}

/* Bytes kc / 8 * 8 .. kc - 1 of the row at p in lanes 0 .. kc % 8 - 1, zero above (kc % 8
 * must not be 0). With kc >= 8, the 8 bytes ending at the row's end, moved down by `index`
 * (qeq_neon_tail_index(kc)); a shorter row is read in pieces of 4, 2 and 1 bytes. */
static inline __attribute__((always_inline)) uint8x8_t qeq_neon_load_tail(const uint8_t* p,
                                                                          size_t kc,
                                                                          uint8x8_t index) {
  if (kc >= 8) return vtbl1_u8(vld1_u8(p + kc - 8), index);
  uint64_t v = 0;
  size_t at = 0;
  if (kc & 4) {
    uint32_t x;
    memcpy(&x, p, sizeof x);
    v = x;
    at = 4;
  }
  if (kc & 2) {
    uint16_t x;
    memcpy(&x, p + at, sizeof x);
    v |= (uint64_t)x << (8 * at);
    at += 2;
  }
  if (kc & 1) v |= (uint64_t)p[at] << (8 * at);
  return vcreate_u8(v);
}

#endif /* QEQ_KERNELS_QU8S8_GEMM_LOADS_NEON_H */
