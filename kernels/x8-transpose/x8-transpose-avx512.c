#include "kernels/common/transpose-x86.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* 16 rows x 64 columns: the 16 x 16 network of kernels/common/transpose-x86.h in each 128-bit
 * lane; lane k ends as output rows 16k..16k+15. */
static inline void transpose16x64(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride) {
  __m512i s[16], t[16];
  for (int i = 0; i < 16; i++) s[i] = _mm512_loadu_si512((const void*)(x + i * x_stride));
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 8; i++) {
      t[2 * i] = _mm512_unpacklo_epi8(s[i], s[i + 8]);
      t[2 * i + 1] = _mm512_unpackhi_epi8(s[i], s[i + 8]);
    }
    for (int i = 0; i < 16; i++) s[i] = t[i];
  }
  for (int j = 0; j < 16; j++) {
    _mm_storeu_si128((__m128i*)(y + j * y_stride), _mm512_castsi512_si128(s[j]));
    _mm_storeu_si128((__m128i*)(y + (j + 16) * y_stride), _mm512_extracti32x4_epi32(s[j], 1));
    _mm_storeu_si128((__m128i*)(y + (j + 32) * y_stride), _mm512_extracti32x4_epi32(s[j], 2));
    _mm_storeu_si128((__m128i*)(y + (j + 48) * y_stride), _mm512_extracti32x4_epi32(s[j], 3));
  }
}

void QEQ_X86_KERNEL(qeq_x8_transpose_ukernel__avx512)(size_t rows, size_t cols, const uint8_t* x,
                                                      size_t x_stride, uint8_t* y,
                                                      size_t y_stride) {
  if (rows < 16 && y_stride == rows) {
    qeq_transpose_few_rows_sse(rows, cols, x, x_stride, y);
    return;
  }
  size_t i = 0, j = 0;
  if (rows >= 16 && cols >= 64) {
    for (; i + 16 <= rows; i += 16) {
      for (j = 0; j + 64 <= cols; j += 64) {
        transpose16x64(x + i * x_stride + j, x_stride, y + j * y_stride + i, y_stride);
      }
      qeq_transpose_rest_sse(i + 16, cols, i, j, x, x_stride, y, y_stride);
    }
    j = 0;
  }
  qeq_transpose_rest_sse(rows, cols, i, j, x, x_stride, y, y_stride);
}
