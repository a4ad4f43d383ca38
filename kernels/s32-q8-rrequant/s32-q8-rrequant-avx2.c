#include "kernels/common/prefetch.h"
#include "kernels/common/quant-avx2.h"
#include "kernels/common/quant-scalar.h"
#include "kernels/common/stream-store.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

void QEQ_X86_KERNEL(qeq_s32_q8_rrequant_ukernel__avx2)(size_t outer, size_t channels, size_t inner,
                                                       const int32_t* acc,
                                                       const qeq_q8_quant_params* params,
                                                       int stream, uint8_t* y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, acc += inner, y += inner) {
      const qeq_q8_quant_params p = params[c];
      const __m256 m = _mm256_set1_ps(p.inv_scale);
      const __m256 lo = _mm256_set1_ps(p.lo);
      const __m256 hi = _mm256_set1_ps(p.hi);
      const __m256i zp = _mm256_set1_epi32(p.zero_point);
      size_t i = 0;
      for (; i + 32 <= inner; i += 32) {
        qeq_prefetch_row_ahead(acc + i);
        qeq_prefetch_row_ahead(acc + i + 16);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
          const __m256i a = _mm256_loadu_si256((const __m256i*)(acc + i + 8 * k));
          q[k] = qeq_quantize_ps_avx2(_mm256_cvtepi32_ps(a), m, lo, hi, zp);
        }
        const __m256i bytes = qeq_low_bytes32_avx2(q[0], q[1], q[2], q[3]);
        if (stream && qeq_is_aligned(y + i, 32)) {
          _mm256_stream_si256((__m256i*)(y + i), bytes);
        } else {
          _mm256_storeu_si256((__m256i*)(y + i), bytes);
        }
      }
      for (; i + 8 <= inner; i += 8) {
        const __m256 v = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i*)(acc + i)));
        const __m128i b = qeq_low_bytes8_avx2(qeq_quantize_ps_avx2(v, m, lo, hi, zp));
        _mm_storel_epi64((__m128i*)(y + i), b);
      }
      for (; i < inner; i++) y[i] = qeq_quantize_one((float)acc[i], &p);
    }
  }
  if (stream) _mm_sfence(); /* order the streaming stores before the caller reads y */
}
