#include "kernels/common/prefetch.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/common/stream-store.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

static inline __m256 fake_quantize8(__m256 x, __m256 inv, __m256 lo, __m256 hi, __m256 scale) {
  __m256 v = _mm256_mul_ps(x, inv);
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  v = _mm256_round_ps(v, _MM_FROUND_CUR_DIRECTION); /* MXCSR: nearest even by default */
  /* -0.0 -> +0.0 by masking (adding +0.0 keeps -0.0 under round-down) */
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_OQ));
  return _mm256_mul_ps(v, scale);
}

void QEQ_X86_KERNEL(qeq_f32_fq_rquant_ukernel__avx2)(size_t outer, size_t channels, size_t inner,
                                                     const float* x, const qeq_fq_params* params,
                                                     int stream, float* y) {
  /* In place, the lines are in cache already: nothing to save. */
  stream = stream && y != x;
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const qeq_fq_params p = params[c];
      const __m256 inv = _mm256_set1_ps(p.inv_scale);
      const __m256 lo = _mm256_set1_ps(p.lo);
      const __m256 hi = _mm256_set1_ps(p.hi);
      const __m256 scale = _mm256_set1_ps(p.scale);
      size_t i = 0;
      for (; i + 16 <= inner; i += 16) {
        qeq_prefetch_row_ahead(x + i);
        const __m256 f0 = fake_quantize8(_mm256_loadu_ps(x + i), inv, lo, hi, scale);
        const __m256 f1 = fake_quantize8(_mm256_loadu_ps(x + i + 8), inv, lo, hi, scale);
        if (stream && qeq_is_aligned(y + i, 32)) {
          _mm256_stream_ps(y + i, f0);
          _mm256_stream_ps(y + i + 8, f1);
        } else {
          _mm256_storeu_ps(y + i, f0);
          _mm256_storeu_ps(y + i + 8, f1);
        }
      }
      for (; i + 8 <= inner; i += 8) {
        _mm256_storeu_ps(y + i, fake_quantize8(_mm256_loadu_ps(x + i), inv, lo, hi, scale));
      }
      for (; i < inner; i++) y[i] = qeq_fake_quantize_one(x[i], &p);
    }
  }
  if (stream) _mm_sfence(); /* order the streaming stores before the caller reads y */
}
