/* AVX-512 qu8s8 depthwise convolution, 32 channels per panel, taps in pairs (c2): each
 * channel's two tap bytes widened into the int16 halves of an int32 lane, multiplied with the
 * pair of weights by vpmaddwd (exact: at most 2 * 255 * 128, no vpmaddubsw saturation). */
#include <stdint.h>
#include <string.h>

#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* One pixel: a single row of two zmm accumulators, as the shared epilogue sees it. */
#define QEQ_GEMM_MR 1
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx512.h"

enum { NR = 16 * QEQ_GEMM_NV, KR = 2 };

/* 16 channel bytes from channel `first`: straight from the row in a full panel, else through
 * a buffer holding the run's `count` channels, so nothing past the pixel's channels is read. */
static inline __m128i load_channels(const uint8_t* p, size_t first, size_t count, int full) {
  if (full || first + 16 <= count) return _mm_loadu_si128((const __m128i*)(p + first));
  if (first >= count) return _mm_setzero_si128();
  uint8_t buf[16] = {0};
  memcpy(buf, p + first, count - first);
  return _mm_loadu_si128((const __m128i*)buf);
}

/* 16 channels of taps t and t + 1 as int16 pairs (x_t in the low half of each int32 lane,
 * x_t1 in the high half): the operand vpmaddwd multiplies with the c2-packed weights. */
static inline __m512i channel_pairs(__m128i x0, __m128i x1, __m512i xor_mask) {
  const __m512i lo = _mm512_cvtepu8_epi32(x0);
  const __m512i hi = _mm512_slli_epi32(_mm512_cvtepu8_epi32(x1), 16);
  return _mm512_xor_si512(_mm512_or_si512(lo, hi), xor_mask);
}

/* One panel; `full` is a constant (the panel has all NR channels or is the tail). */
static inline __attribute__((always_inline)) void panel_dot(const int full, size_t c0, size_t count,
                                                            size_t taps,
                                                            const uint8_t* const* input,
                                                            __m512i xor_mask, const int8_t* wk,
                                                            int has_w_zero_points,
                                                            __m512i acc[1][2], __m512i x_sum[2]) {
  const __m512i ones = _mm512_set1_epi16(1);
  const __m128i zero = _mm_setzero_si128();
  size_t t = 0;
  for (; t + 2 <= taps; t += 2, wk += NR * KR) {
    const uint8_t* p0 = input[t] + c0;
    const uint8_t* p1 = input[t + 1] + c0;
#pragma GCC unroll 2
    for (size_t v = 0; v < 2; v++) {
      const __m512i x = channel_pairs(load_channels(p0, 16 * v, count, full),
                                      load_channels(p1, 16 * v, count, full), xor_mask);
      const __m512i wv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i*)(wk + 32 * v)));
      acc[0][v] = _mm512_add_epi32(acc[0][v], _mm512_madd_epi16(x, wv));
      if (has_w_zero_points) x_sum[v] = _mm512_add_epi32(x_sum[v], _mm512_madd_epi16(x, ones));
    }
  }
  if (t < taps) {
    /* an odd last tap pairs with zeros (its packed weights are zero too, and the xor mask
     * must not turn the missing tap into 128) */
    const uint8_t* p0 = input[t] + c0;
    const __m512i low_mask = _mm512_and_si512(xor_mask, _mm512_set1_epi32(0xFFFF));
#pragma GCC unroll 2
    for (size_t v = 0; v < 2; v++) {
      const __m512i x = channel_pairs(load_channels(p0, 16 * v, count, full), zero, low_mask);
      const __m512i wv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i*)(wk + 32 * v)));
      acc[0][v] = _mm512_add_epi32(acc[0][v], _mm512_madd_epi16(x, wv));
      if (has_w_zero_points) x_sum[v] = _mm512_add_epi32(x_sum[v], _mm512_madd_epi16(x, ones));
    }
  }
}

void QEQ_X86_KERNEL(qeq_qu8s8_dwconv_ukernel_32c2__avx512)(size_t channels, size_t taps,
                                                           const uint8_t* const* input,
                                                           uint32_t input_xor, const void* w,
                                                           int has_w_zero_points, void* output,
                                                           const qeq_gemm_ukernel_params* params) {
  const size_t panel_bytes = qeq_gemm_panel_bytes(taps, NR, KR);
  const __m512i za = _mm512_set1_epi32(params->a_zero_point);
  /* 0x80 in each byte's int16 half for qint8 input: x ^ 0x80 = x + 128 */
  const __m512i xor_mask = _mm512_set1_epi32((int32_t)(input_xor * 0x00010001u));
  const uint8_t* panel = w;
  for (size_t c0 = 0; c0 < channels; c0 += NR, panel += panel_bytes) {
    const size_t count = channels - c0 < NR ? channels - c0 : NR;
    const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
    __m512i acc[1][2] = {{_mm512_setzero_si512(), _mm512_setzero_si512()}};
    __m512i x_sum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
    if (count == NR) {
      panel_dot(1, c0, count, taps, input, xor_mask, wk, has_w_zero_points, acc, x_sum);
    } else {
      panel_dot(0, c0, count, taps, input, xor_mask, wk, has_w_zero_points, acc, x_sum);
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
