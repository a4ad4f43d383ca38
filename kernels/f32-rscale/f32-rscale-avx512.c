#include "kernels/common/minmax-avx512.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_f32_rscale_ukernel__avx512)(size_t outer, size_t channels, size_t inner,
                                                    const float* x, const float* scale, float* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const __m512 s = _mm512_set1_ps(scale[c]);
      size_t i = qeq_head_to_line_avx512(y, inner); /* then y + i is on a cache line */
      if (i != 0) {
        const __mmask16 mask = qeq_tail_mask_avx512(i);
        _mm512_mask_storeu_ps(y, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x), s));
      }
      for (; i + 64 <= inner; i += 64) {
        const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
        const __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
        _mm512_storeu_ps(y + i, _mm512_mul_ps(v0, s));
        _mm512_storeu_ps(y + i + 16, _mm512_mul_ps(v1, s));
        _mm512_storeu_ps(y + i + 32, _mm512_mul_ps(v2, s));
        _mm512_storeu_ps(y + i + 48, _mm512_mul_ps(v3, s));
      }
      for (; i + 16 <= inner; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), s));
      if (i < inner) {
        const __mmask16 mask = qeq_tail_mask_avx512(inner - i);
        _mm512_mask_storeu_ps(y + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), s));
      }
    }
  }
}
