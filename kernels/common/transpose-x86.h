/* 16 x 16 byte transposes on 128-bit vectors, shared by the AVX2 and AVX-512 x8_transpose
 * variants (and the network their wider tiles run per 128-bit lane).
 *
 * The network: label a byte by its row bits r3..r0 and its column bits c3..c0. One round of
 * t[2i] = unpacklo_epi8(s[i], s[i + 8]), t[2i + 1] = unpackhi_epi8(s[i], s[i + 8]) (i < 8)
 * moves the byte labelled (r3 r2 r1 r0 | c3 c2 c1 c0) to (r2 r1 r0 c3 | c2 c1 c0 r3): a rotation
 * of the eight label bits by one. Four rounds rotate by four, swapping rows and columns. */
#ifndef QEQ_KERNELS_COMMON_TRANSPOSE_X86_H
#define QEQ_KERNELS_COMMON_TRANSPOSE_X86_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/x86.h"

static inline void qeq_transpose_round_sse(__m128i* s) {
  __m128i t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm_unpacklo_epi8(s[i], s[i + 8]);
    t[2 * i + 1] = _mm_unpackhi_epi8(s[i], s[i + 8]);
  }
  for (int i = 0; i < 16; i++) s[i] = t[i];
}

/* A full 16 x 16 tile: y[j * y_stride + i] = x[i * x_stride + j], i, j < 16. */
static inline void qeq_transpose16x16_sse(const uint8_t* x, size_t x_stride, uint8_t* y,
                                          size_t y_stride) {
  __m128i s[16];
  for (int i = 0; i < 16; i++) s[i] = _mm_loadu_si128((const __m128i*)(x + i * x_stride));
  for (int round = 0; round < 4; round++) qeq_transpose_round_sse(s);
  for (int j = 0; j < 16; j++) _mm_storeu_si128((__m128i*)(y + j * y_stride), s[j]);
}

/* A partial tile (rows, cols <= 16) through a zeroed local copy: reads and writes only the
 * described bytes. */
static inline void qeq_transpose_partial_sse(size_t rows, size_t cols, const uint8_t* x,
                                             size_t x_stride, uint8_t* y, size_t y_stride) {
  uint8_t in[16 * 16] = {0}, out[16 * 16];
  for (size_t i = 0; i < rows; i++) memcpy(in + 16 * i, x + i * x_stride, cols);
  qeq_transpose16x16_sse(in, 16, out, 16);
  for (size_t j = 0; j < cols; j++) memcpy(y + j * y_stride, out + 16 * j, rows);
}

/* The rows x cols block at full 16-row bands from row `first_row` on, cols from `first_col`
 * on, in 16 x 16 tiles (partial at the edges): what the wider tiles leave. */
static inline void qeq_transpose_rest_sse(size_t rows, size_t cols, size_t first_row,
                                          size_t first_col, const uint8_t* x, size_t x_stride,
                                          uint8_t* y, size_t y_stride) {
  for (size_t i = first_row; i < rows; i += 16) {
    const size_t nr = rows - i < 16 ? rows - i : 16;
    for (size_t j = i == first_row ? first_col : 0; j < cols; j += 16) {
      const size_t nc = cols - j < 16 ? cols - j : 16;
      const uint8_t* xt = x + i * x_stride + j;
      uint8_t* yt = y + j * y_stride + i;
      if (nr == 16 && nc == 16) {
        qeq_transpose16x16_sse(xt, x_stride, yt, y_stride);
      } else {
        qeq_transpose_partial_sse(nr, nc, xt, x_stride, yt, y_stride);
      }
    }
  }
}

/* Fewer than 16 rows into dense output rows (y_stride == rows; a 3-channel image to NHWC):
 * the missing rows are zero vectors, and each of a tile's 16 output rows is stored as 16
 * bytes: the bytes past `rows` land in the following rows, which later stores rewrite. Tiles
 * whose last store would pass the end of y, and the last partial tile, go through the local
 * copy instead. */
static inline void qeq_transpose_few_rows_sse(size_t rows, size_t cols, const uint8_t* x,
                                              size_t x_stride, uint8_t* y) {
  size_t j = 0;
  for (; j + 16 <= cols && (j + 15) * rows + 16 <= cols * rows; j += 16) {
    __m128i s[16];
    for (size_t i = 0; i < 16; i++) {
      s[i] =
          i < rows ? _mm_loadu_si128((const __m128i*)(x + i * x_stride + j)) : _mm_setzero_si128();
    }
    for (int round = 0; round < 4; round++) qeq_transpose_round_sse(s);
    for (size_t c = 0; c < 16; c++) _mm_storeu_si128((__m128i*)(y + (j + c) * rows), s[c]);
  }
  if (j < cols) qeq_transpose_rest_sse(rows, cols, 0, j, x, x_stride, y, rows);
}

#endif /* QEQ_KERNELS_COMMON_TRANSPOSE_X86_H */
