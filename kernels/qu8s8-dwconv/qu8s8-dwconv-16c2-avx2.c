/* AVX2 qu8s8 depthwise convolution, 16 channels per panel, taps in pairs (c2). The two taps'
 * bytes are interleaved per channel and both operands widened to int16, so one vpmaddwd
 * gives x_t * w_t + x_t1 * w_t1 per channel exactly (at most 2 * 255 * 128, no saturation). */
#include <stdint.h>
#include <string.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* One pixel: a single row of two ymm accumulators, as the shared epilogue sees it. */
#define QEQ_GEMM_MR 1
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx256.h"

enum { NR = 8 * QEQ_GEMM_NV, KR = 2 };

/* count (1..16) channel bytes, xored; a partial run goes through a buffer so nothing past
 * the pixel's channels is read. */
static inline __m128i load_channels(const uint8_t* p, size_t count, __m128i xor_mask) {
  if (count >= 16) return _mm_xor_si128(_mm_loadu_si128((const __m128i*)p), xor_mask);
  uint8_t buf[16] = {0};
  memcpy(buf, p, count);
  return _mm_xor_si128(_mm_loadu_si128((const __m128i*)buf), xor_mask);
}

void QEQ_X86_KERNEL(qeq_qu8s8_dwconv_ukernel_16c2__avx2)(size_t channels, size_t taps,
                                                         const uint8_t* const* input,
                                                         uint32_t input_xor, const void* w,
                                                         int has_w_zero_points, void* output,
                                                         const qeq_gemm_ukernel_params* params) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps, NR, KR);
  const __m256i za = _mm256_set1_epi32(params->a_zero_point);
  const __m128i xor_mask = _mm_set1_epi8((char)input_xor);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* panel = w;
  for (size_t c0 = 0; c0 < channels; c0 += NR, panel += panel_bytes) {
    const size_t count = channels - c0 < NR ? channels - c0 : NR;
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    __m256i acc[1][2] = {{_mm256_setzero_si256(), _mm256_setzero_si256()}};
    __m256i x_sum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (size_t t = 0; t < taps; t += 2, wk += NR * KR) {
      const __m128i x0 = load_channels(input[t] + c0, count, xor_mask);
      /* an odd last tap pairs with zeros (its packed weights are zero too) */
      const __m128i x1 =
          t + 1 < taps ? load_channels(input[t + 1] + c0, count, xor_mask) : _mm_setzero_si128();
      const __m256i x_lo = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(x0, x1));
      const __m256i x_hi = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(x0, x1));
      const __m256i w_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)wk));
      const __m256i w_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(wk + 16)));
      acc[0][0] = _mm256_add_epi32(acc[0][0], _mm256_madd_epi16(x_lo, w_lo));
      acc[0][1] = _mm256_add_epi32(acc[0][1], _mm256_madd_epi16(x_hi, w_hi));
      if (has_w_zero_points) {
        x_sum[0] = _mm256_add_epi32(x_sum[0], _mm256_madd_epi16(x_lo, ones));
        x_sum[1] = _mm256_add_epi32(x_sum[1], _mm256_madd_epi16(x_hi, ones));
      }
    }
    if (has_w_zero_points) {
      /* the per-channel part of the correction; the epilogue does the rest */
      const int32_t* w_zp = (const int32_t*)panel + QEQ_GEMM_HEADER_W_ZERO_POINT * NR;
      for (size_t v = 0; v < 2; v++) {
        const __m256i zw = _mm256_loadu_si256((const __m256i*)(w_zp + 8 * v));
        acc[0][v] = _mm256_sub_epi32(acc[0][v], _mm256_mullo_epi32(zw, x_sum[v]));
      }
    }
    qeq_gemm_epilogue_avx256(1, acc, panel, c0, channels, NULL, za, (uint8_t*)output, 0, params);
  }
}
