#include "kernels/common/minmax-avx2.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_f32_vscale_ukernel__avx2)(size_t rows, size_t width, size_t stride,
                                                  const float* x, const float* scale, float* y) {
  for (size_t r = 0; r < rows; r++, x += stride, y += stride) {
    size_t j = 0;
    for (; j + 16 <= width; j += 16) {
      const __m256 v0 = _mm256_loadu_ps(x + j), v1 = _mm256_loadu_ps(x + j + 8);
      _mm256_storeu_ps(y + j, _mm256_mul_ps(v0, _mm256_loadu_ps(scale + j)));
      _mm256_storeu_ps(y + j + 8, _mm256_mul_ps(v1, _mm256_loadu_ps(scale + j + 8)));
    }
    for (; j + 8 <= width; j += 8) {
      _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(scale + j)));
    }
    if (j < width) {
      const __m256i mask = qeq_tail_mask_avx2(width - j);
      const __m256 v =
          _mm256_mul_ps(_mm256_maskload_ps(x + j, mask), _mm256_maskload_ps(scale + j, mask));
      _mm256_maskstore_ps(y + j, mask, v);
    }
  }
}
