#include "kernels/common/minmax-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_f32_vscale_ukernel__avx512)(size_t rows, size_t width, size_t stride,
                                                    const float* x, const float* scale, float* y) {
  for (size_t r = 0; r < rows; r++, x += stride, y += stride) {
    size_t j = qeq_head_to_line_avx512(y, width); /* then y + j is on a cache line */
    if (j != 0) {
      const __mmask16 mask = qeq_tail_mask_avx512(j);
      const __m512 v =
          _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x), _mm512_maskz_loadu_ps(mask, scale));
      _mm512_mask_storeu_ps(y, mask, v);
    }
    for (; j + 32 <= width; j += 32) {
      const __m512 v0 = _mm512_loadu_ps(x + j), v1 = _mm512_loadu_ps(x + j + 16);
      _mm512_storeu_ps(y + j, _mm512_mul_ps(v0, _mm512_loadu_ps(scale + j)));
      _mm512_storeu_ps(y + j + 16, _mm512_mul_ps(v1, _mm512_loadu_ps(scale + j + 16)));
    }
    for (; j + 16 <= width; j += 16) {
      _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_loadu_ps(x + j), _mm512_loadu_ps(scale + j)));
    }
    if (j < width) {
      const __mmask16 mask = qeq_tail_mask_avx512(width - j);
      const __m512 v =
          _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + j), _mm512_maskz_loadu_ps(mask, scale + j));
      _mm512_mask_storeu_ps(y + j, mask, v);
    }
  }
}
