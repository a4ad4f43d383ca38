/* AVX-512 qu8s8 depthwise convolution, 32 channels per panel, taps in pairs (c2): the AVX2
 * variant's interleave-and-widen on 512 bits (vpmaddwd, exact; no vpmaddubsw saturation). */
#include <stdint.h>
#include <string.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* One pixel: a single row of two zmm accumulators, as the shared epilogue sees it. */
#define QEQ_GEMM_MR 1
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx512.h"

enum { NR = 16 * QEQ_GEMM_NV, KR = 2 };

/* Up to 16 channel bytes from channel `first` of a run of `count`, xored; a partial run goes
 * through a buffer so nothing past the pixel's channels is read, none at all past its end. */
static inline __m128i load_channels(const uint8_t* p, size_t first, size_t count,
                                    __m128i xor_mask) {
  if (first + 16 <= count) {
    return _mm_xor_si128(_mm_loadu_si128((const __m128i*)(p + first)), xor_mask);
  }
  uint8_t buf[16] = {0};
  if (first < count) memcpy(buf, p + first, count - first);
  return _mm_xor_si128(_mm_loadu_si128((const __m128i*)buf), xor_mask);
}

/* The interleaved pairs of 16 channels of taps x0 and x1, widened to 32 int16. */
static inline __m512i widen_pairs(__m128i x0, __m128i x1) {
  const __m256i pairs = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(x0, x1)),
                                                _mm_unpackhi_epi8(x0, x1), 1);
  return _mm512_cvtepu8_epi16(pairs);
}

void QEQ_X86_KERNEL(qeq_qu8s8_dwconv_ukernel_32c2__avx512)(size_t channels, size_t taps,
                                                           const uint8_t* const* input,
                                                           uint32_t input_xor, const void* w,
                                                           int has_w_zero_points, void* output,
                                                           const qeq_gemm_ukernel_params* params) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps, NR, KR);
  const __m512i za = _mm512_set1_epi32(params->a_zero_point);
  const __m128i xor_mask = _mm_set1_epi8((char)input_xor);
  const __m512i ones = _mm512_set1_epi16(1);
  const uint8_t* panel = w;
  for (size_t c0 = 0; c0 < channels; c0 += NR, panel += panel_bytes) {
    const size_t count = channels - c0 < NR ? channels - c0 : NR;
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    __m512i acc[1][2] = {{_mm512_setzero_si512(), _mm512_setzero_si512()}};
    __m512i x_sum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
    for (size_t t = 0; t < taps; t += 2, wk += NR * KR) {
      const uint8_t* p0 = input[t] + c0;
      /* an odd last tap pairs with zeros (its packed weights are zero too) */
      const int has_pair = t + 1 < taps;
      const uint8_t* p1 = has_pair ? input[t + 1] + c0 : NULL;
      for (size_t v = 0; v < 2; v++) {
        const __m128i x0 = load_channels(p0, 16 * v, count, xor_mask);
        const __m128i x1 =
            has_pair ? load_channels(p1, 16 * v, count, xor_mask) : _mm_setzero_si128();
        const __m512i x = widen_pairs(x0, x1);
        const __m512i wv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i*)(wk + 32 * v)));
        acc[0][v] = _mm512_add_epi32(acc[0][v], _mm512_madd_epi16(x, wv));
        if (has_w_zero_points) x_sum[v] = _mm512_add_epi32(x_sum[v], _mm512_madd_epi16(x, ones));
      }
    }
    if (has_w_zero_points) {
      /* the per-channel part of the correction; the epilogue does the rest */
      const int32_t* w_zp = (const int32_t*)panel + QEQ_GEMM_HEADER_W_ZERO_POINT * NR;
      for (size_t v = 0; v < 2; v++) {
        const __m512i zw = _mm512_loadu_si512((const void*)(w_zp + 16 * v));
        acc[0][v] = _mm512_sub_epi32(acc[0][v], _mm512_mullo_epi32(zw, x_sum[v]));
      }
    }
    qeq_gemm_epilogue_avx512(1, acc, panel, c0, channels, NULL, za, (uint8_t*)output, 0, params);
  }
}
