/* Loading the first `count` bytes of a run into a zero-filled vector, and storing a vector's
 * first `count` bytes, without touching a byte past them: a channel tail of a pixel may end at
 * the end of the caller's buffer. Fixed-size accesses (8, 4, 2 and 1 bytes) instead of a
 * variable-length copy through a buffer, which costs a library call where a kernel meets a
 * tail per pixel (a depthwise tail panel's taps, cat's per-pixel requantization). */
#ifndef QEQ_KERNELS_COMMON_PARTIAL_BYTES_H
#define QEQ_KERNELS_COMMON_PARTIAL_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the partial loads place bytes as a little-endian machine does"
#endif

/* Bytes p[0 .. count) (count <= 8) as a little-endian word, zero above. */
static inline uint64_t qeq_load_partial8(const uint8_t* p, size_t count) {
  uint64_t v = 0;
  if (count >= 8) {
    memcpy(&v, p, 8);
    return v;
  }
  unsigned shift = 0;
  if (count & 4) {
    uint32_t a;
    memcpy(&a, p, 4);
    v = a;
    p += 4;
    shift = 32;
  }
  if (count & 2) {
    uint16_t a;
    memcpy(&a, p, 2);
    v |= (uint64_t)a << shift;
    p += 2;
    shift += 16;
  }
  if (count & 1) v |= (uint64_t)p[0] << shift;
  return v;
}

/* Bytes p[0 .. count) (count <= 16) as two little-endian words (bytes 0-7, 8-15), zero past
 * count. */
static inline void qeq_load_partial16(const uint8_t* p, size_t count, uint64_t* lo, uint64_t* hi) {
  *lo = qeq_load_partial8(p, count < 8 ? count : 8);
  *hi = count > 8 ? qeq_load_partial8(p + 8, count - 8) : 0;
}

/* Stores the low count (<= 8) bytes of the little-endian word v at p. */
static inline void qeq_store_partial8(uint8_t* p, uint64_t v, size_t count) {
  if (count >= 8) {
    memcpy(p, &v, 8);
    return;
  }
  if (count & 4) {
    const uint32_t a = (uint32_t)v;
    memcpy(p, &a, 4);
    p += 4;
    v >>= 32;
  }
  if (count & 2) {
    const uint16_t a = (uint16_t)v;
    memcpy(p, &a, 2);
    p += 2;
    v >>= 16;
  }
  if (count & 1) p[0] = (uint8_t)v;
}

/* Stores bytes 0 .. count (<= 16) of the words lo (bytes 0-7) and hi (8-15) at p. */
static inline void qeq_store_partial16(uint8_t* p, uint64_t lo, uint64_t hi, size_t count) {
  qeq_store_partial8(p, lo, count < 8 ? count : 8);
  if (count > 8) qeq_store_partial8(p + 8, hi, count - 8);
}

#endif /* QEQ_KERNELS_COMMON_PARTIAL_BYTES_H */
