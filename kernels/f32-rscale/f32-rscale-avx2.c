#include "kernels/common/minmax-avx2.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_f32_rscale_ukernel__avx2)(size_t outer, size_t channels, size_t inner,
                                                  const float* x, const float* scale, float* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const __m256 s = _mm256_broadcast_ss(scale + c);
      size_t i = 0;
      for (; i + 32 <= inner; i += 32) {
        const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
        const __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v0, s));
        _mm256_storeu_ps(y + i + 8, _mm256_mul_ps(v1, s));
        _mm256_storeu_ps(y + i + 16, _mm256_mul_ps(v2, s));
        _mm256_storeu_ps(y + i + 24, _mm256_mul_ps(v3, s));
      }
      for (; i + 8 <= inner; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), s));
      if (i < inner) {
        const __m256i mask = qeq_tail_mask_avx2(inner - i);
        _mm256_maskstore_ps(y + i, mask, _mm256_mul_ps(_mm256_maskload_ps(x + i, mask), s));
      }
    }
  }
}
