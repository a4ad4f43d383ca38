#include <string.h>

#include "kernels/common/neon.h"
#include "kernels/ukernels.h"

/* A 16 x 16 tile by four rounds of t[2i] = zip1(s[i], s[i + 8]), t[2i + 1] = zip2(s[i], s[i + 8]):
 * each round rotates a byte's eight row and column label bits by one, so four swap them (the
 * network of kernels/common/transpose-x86.h, with zip for unpack). */
static inline void transpose16x16(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride) {
  uint8x16_t s[16], t[16];
  for (int i = 0; i < 16; i++) s[i] = vld1q_u8(x + i * x_stride);
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 8; i++) {
      t[2 * i] = vzip1q_u8(s[i], s[i + 8]);
      t[2 * i + 1] = vzip2q_u8(s[i], s[i + 8]);
    }
    for (int i = 0; i < 16; i++) s[i] = t[i];
  }
  for (int j = 0; j < 16; j++) vst1q_u8(y + j * y_stride, s[j]);
}

/* Fewer than 16 rows into dense output rows (y_stride == rows): missing rows are zero, and
 * each output row is stored as 16 bytes whose excess the following stores rewrite, while the
 * last store stays inside y. Returns the first column left to the general loop. */
static size_t transpose_few_rows(size_t rows, size_t cols, const uint8_t* x, size_t x_stride,
                                 uint8_t* y) {
  size_t j = 0;
  for (; j + 16 <= cols && (j + 15) * rows + 16 <= cols * rows; j += 16) {
    uint8x16_t s[16], t[16];
    for (size_t i = 0; i < 16; i++)
      s[i] = i < rows ? vld1q_u8(x + i * x_stride + j) : vdupq_n_u8(0);
    for (int round = 0; round < 4; round++) {
      for (int i = 0; i < 8; i++) {
        t[2 * i] = vzip1q_u8(s[i], s[i + 8]);
        t[2 * i + 1] = vzip2q_u8(s[i], s[i + 8]);
      }
      for (int i = 0; i < 16; i++) s[i] = t[i];
    }
    for (size_t c = 0; c < 16; c++) vst1q_u8(y + (j + c) * rows, s[c]);
  }
  return j;
}

void qeq_x8_transpose_ukernel__neon(size_t rows, size_t cols, const uint8_t* x, size_t x_stride,
                                    uint8_t* y, size_t y_stride) {
  const size_t first_col =
      rows < 16 && y_stride == rows ? transpose_few_rows(rows, cols, x, x_stride, y) : 0;
  for (size_t i = 0; i < rows; i += 16) {
    const size_t nr = rows - i < 16 ? rows - i : 16;
    for (size_t j = i == 0 ? first_col : 0; j < cols; j += 16) {
      const size_t nc = cols - j < 16 ? cols - j : 16;
      const uint8_t* xt = x + i * x_stride + j;
      uint8_t* yt = y + j * y_stride + i;
      if (nr == 16 && nc == 16) {
        transpose16x16(xt, x_stride, yt, y_stride);
      } else {
        /* Partial tiles through a zeroed local copy: only the described bytes move. */
        uint8_t in[16 * 16] = {0}, out[16 * 16];
        for (size_t r = 0; r < nr; r++) memcpy(in + 16 * r, xt + r * x_stride, nc);
        transpose16x16(in, 16, out, 16);
        for (size_t c = 0; c < nc; c++) memcpy(yt + c * y_stride, out + 16 * c, nr);
      }
    }
  }
}
