#include "kernels/common/prefetch.h"
#include "kernels/common/quant-avx2.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/common/stream-store.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_f32_q8_rquant_ukernel__avx2)(size_t outer, size_t channels, size_t inner,
                                                     const float* x,
                                                     const qeq_q8_quant_params* params, int stream,
                                                     uint8_t* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const qeq_q8_quant_params p = params[c];
      const __m256 inv = _mm256_set1_ps(p.inv_scale);
      const __m256 lo = _mm256_set1_ps(p.lo);
      const __m256 hi = _mm256_set1_ps(p.hi);
      const __m256i zp = _mm256_set1_epi32(p.zero_point);
      size_t i = 0;
      for (; i + 32 <= inner; i += 32) {
        qeq_prefetch_row_ahead(x + i);
        qeq_prefetch_row_ahead(x + i + 16);
        const __m256i bytes = qeq_low_bytes32_avx2(
            qeq_quantize_ps_avx2(_mm256_loadu_ps(x + i), inv, lo, hi, zp),
            qeq_quantize_ps_avx2(_mm256_loadu_ps(x + i + 8), inv, lo, hi, zp),
            qeq_quantize_ps_avx2(_mm256_loadu_ps(x + i + 16), inv, lo, hi, zp),
            qeq_quantize_ps_avx2(_mm256_loadu_ps(x + i + 24), inv, lo, hi, zp));
        if (stream && qeq_is_aligned(y + i, 32)) {
          _mm256_stream_si256((__m256i*)(y + i), bytes);
        } else {
          _mm256_storeu_si256((__m256i*)(y + i), bytes);
        }
      }
      for (; i + 8 <= inner; i += 8) {
        const __m128i b =
            qeq_low_bytes8_avx2(qeq_quantize_ps_avx2(_mm256_loadu_ps(x + i), inv, lo, hi, zp));
        _mm_storel_epi64((__m128i*)(y + i), b);
      }
      for (; i < inner; i++) {
        /* the same steps as the vector lanes, one element at a time */
        float v = x[i] * p.inv_scale;
        if (v != v) v = 0.0f;
        v = v < p.lo ? p.lo : v;
        v = v > p.hi ? p.hi : v;
        y[i] = (uint8_t)(p.zero_point + (int32_t)nearbyintf(v));
      }
    }
  }
  if (stream) _mm_sfence(); /* order the streaming stores before the caller reads y */
}
