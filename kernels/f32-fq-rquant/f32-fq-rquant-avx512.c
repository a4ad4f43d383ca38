#include "kernels/common/minmax-avx512.h"
#include "kernels/common/prefetch.h"
#include "kernels/common/stream-store.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* round(clamp(x * inv, lo, hi)) * scale with NaN -> 0; VRNDSCALEPS with
 * _MM_FROUND_CUR_DIRECTION follows MXCSR (nearest even by default), like the scalar path. */
static inline __m512 fake_quantize16(__m512 x, __m512 inv, __m512 lo, __m512 hi, __m512 scale) {
  __m512 v = _mm512_mul_ps(x, inv);
  v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
  v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
  v = _mm512_roundscale_ps(v, _MM_FROUND_CUR_DIRECTION);
  /* -0.0 -> +0.0, as PyTorch's integer 0, by masking (adding +0.0 keeps -0.0 under round-down) */
  v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_OQ), v);
  return _mm512_mul_ps(v, scale);
}

void QEQ_X86_KERNEL(qeq_f32_fq_rquant_ukernel__avx512)(size_t outer, size_t channels, size_t inner,
                                                       const float* x, const qeq_fq_params* params,
                                                       int stream, float* y) {
  /* In place, the lines are in cache already: nothing to save. */
  stream = stream && y != x;
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const __m512 inv = _mm512_set1_ps(params[c].inv_scale);
      const __m512 lo = _mm512_set1_ps(params[c].lo);
      const __m512 hi = _mm512_set1_ps(params[c].hi);
      const __m512 scale = _mm512_set1_ps(params[c].scale);
      size_t i = 0;
      for (; i + 32 <= inner; i += 32) {
        qeq_prefetch_row_ahead(x + i);
        qeq_prefetch_row_ahead(x + i + 16);
        const __m512 f0 = fake_quantize16(_mm512_loadu_ps(x + i), inv, lo, hi, scale);
        const __m512 f1 = fake_quantize16(_mm512_loadu_ps(x + i + 16), inv, lo, hi, scale);
        if (stream && qeq_is_aligned(y + i, 64)) {
          _mm512_stream_ps(y + i, f0);
          _mm512_stream_ps(y + i + 16, f1);
        } else {
          _mm512_storeu_ps(y + i, f0);
          _mm512_storeu_ps(y + i + 16, f1);
        }
      }
      for (; i + 16 <= inner; i += 16) {
        _mm512_storeu_ps(y + i, fake_quantize16(_mm512_loadu_ps(x + i), inv, lo, hi, scale));
      }
      if (i < inner) {
        const __mmask16 mask = qeq_tail_mask_avx512(inner - i);
        const __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
        _mm512_mask_storeu_ps(y + i, mask, fake_quantize16(v, inv, lo, hi, scale));
      }
    }
  }
  if (stream) _mm_sfence(); /* order the streaming stores before the caller reads y */
}
