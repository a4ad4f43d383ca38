/* AVX-512 qu8s8 depthwise convolution, 32 channels per panel, taps in pairs (c2): each
 * channel's two tap bytes widened into the int16 halves of an int32 lane, multiplied with the
 * pair of weights by vpmaddwd (exact: at most 2 * 255 * 128, no vpmaddubsw saturation).
 * Panels outside, pixels inside: a panel's widened weights are loaded once per call and, for
 * 3x3 and 5x5, held in registers (a local array the compiler keeps in zmm) for every pixel. */
#include <stdint.h>
#include <string.h>

#include "kernels/common/partial-bytes.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* One pixel: a single row of two zmm accumulators, as the shared epilogue sees it. */
#define QEQ_GEMM_MR 1
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx512.h"

enum { NR = 16 * QEQ_GEMM_NV, KR = 2, MAX_HELD_PAIRS = 13 /* 5x5 */ };

/* 16 channel bytes from channel `first`: straight from the row in a full panel, else through
 * fixed-size loads of the run's `count` channels, so nothing past the pixel's channels is read. */
static inline __m128i load_channels(const uint8_t* p, size_t first, size_t count, int full) {
  if (full || first + 16 <= count) return _mm_loadu_si128((const __m128i*)(p + first));
  if (first >= count) return _mm_setzero_si128();
  uint64_t lo, hi;
  qeq_load_partial16(p + first, count - first, &lo, &hi);
  return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* 16 channels of taps t and t + 1 as int16 pairs (x_t in the low half of each int32 lane,
 * x_t1 in the high half): the operand vpmaddwd multiplies with the c2-packed weights. */
static inline __m512i channel_pairs(__m128i x0, __m128i x1) {
  const __m512i lo = _mm512_cvtepu8_epi32(x0);
  const __m512i hi = _mm512_slli_epi32(_mm512_cvtepu8_epi32(x1), 16);
  return _mm512_or_si512(lo, hi);
}

/* The widened weights of tap pair `pair`, channels 16 v .. 16 v + 15. */
static inline __m512i pair_weights(const int8_t* wk, size_t pair, size_t v) {
  return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i*)(wk + pair * NR * KR + 32 * v)));
}

/* Every pixel of one panel. full, taps (when held), flip (qint8 input) and has_w_zp are
 * constants at each call site, so each combination compiles to its own straight loop. */
static inline __attribute__((always_inline)) void panel_pixels(
    const int full, const size_t taps, const int held, const int flip, const int has_w_zp,
    size_t pixels, size_t c0, size_t count, size_t channels, const uint8_t* const* input,
    size_t input_step, const uint8_t* panel, uint8_t* output, size_t output_stride,
    const qeq_gemm_ukernel_params* params) {
  const int8_t* wk = (const int8_t*)(panel + qeq_gemm_panel_header_bytes(NR));
  const size_t pairs = taps / 2, odd = taps % 2;
  /* - a_zero_point * w_sum, the same for every pixel: it starts each pixel's accumulators and
   * the epilogue then sees a zero a_zero_point (the sum wraps alike in either order) */
  const __m512i za = _mm512_set1_epi32(params->a_zero_point);
  __m512i start[2];
  for (size_t v = 0; v < 2; v++) {
    const int32_t* h = (const int32_t*)panel + QEQ_GEMM_HEADER_W_SUM * NR;
    start[v] =
        _mm512_sub_epi32(_mm512_setzero_si512(),
                         _mm512_mullo_epi32(za, _mm512_loadu_si512((const void*)(h + 16 * v))));
  }
  const __m128i xor_mask = _mm_set1_epi8((char)0x80);
  const __m512i ones = _mm512_set1_epi16(1);
  const __m128i zero = _mm_setzero_si128();
  __m512i w_held[MAX_HELD_PAIRS][2];
  if (held) {
#pragma GCC unroll 13
    for (size_t q = 0; q < pairs + odd; q++) {
      w_held[q][0] = pair_weights(wk, q, 0);
      w_held[q][1] = pair_weights(wk, q, 1);
    }
  }
  __m512i w_zp[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  if (has_w_zp) {
    const int32_t* h = (const int32_t*)panel + QEQ_GEMM_HEADER_W_ZERO_POINT * NR;
    w_zp[0] = _mm512_loadu_si512((const void*)h);
    w_zp[1] = _mm512_loadu_si512((const void*)(h + 16));
  }
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* const* in = input + p * input_step;
    __m512i acc[1][2] = {{start[0], start[1]}};
    __m512i x_sum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
#pragma GCC unroll 13
    for (size_t q = 0; q < pairs + odd; q++) {
      const uint8_t* p0 = in[2 * q] + c0;
      /* an odd last tap pairs with zeros (its packed weights are zero too) */
      const uint8_t* p1 = 2 * q + 1 < taps ? in[2 * q + 1] + c0 : NULL;
#pragma GCC unroll 2
      for (size_t v = 0; v < 2; v++) {
        __m128i x0 = load_channels(p0, 16 * v, count, full);
        __m128i x1 = p1 ? load_channels(p1, 16 * v, count, full) : zero;
        if (flip) {
          /* x ^ 0x80 = x + 128 for qint8; the missing partner of an odd tap stays 0 */
          x0 = _mm_xor_si128(x0, xor_mask);
          if (p1) x1 = _mm_xor_si128(x1, xor_mask);
        }
        const __m512i x = channel_pairs(x0, x1);
        const __m512i wv = held ? w_held[q][v] : pair_weights(wk, q, v);
        acc[0][v] = _mm512_add_epi32(acc[0][v], _mm512_madd_epi16(x, wv));
        if (has_w_zp) x_sum[v] = _mm512_add_epi32(x_sum[v], _mm512_madd_epi16(x, ones));
      }
    }
    if (has_w_zp) {
      /* the per-channel part of the correction; the epilogue does the rest */
      acc[0][0] = _mm512_sub_epi32(acc[0][0], _mm512_mullo_epi32(w_zp[0], x_sum[0]));
      acc[0][1] = _mm512_sub_epi32(acc[0][1], _mm512_mullo_epi32(w_zp[1], x_sum[1]));
    }
    qeq_gemm_epilogue_avx512(1, acc, panel, c0, channels, NULL, _mm512_setzero_si512(),
                             output + p * output_stride, 0, params);
  }
}

#include "kernels/qu8s8-dwconv/qu8s8-dwconv-panels-x86.h"

void QEQ_X86_KERNEL(qeq_qu8s8_dwconv_ukernel_32c2__avx512)(size_t pixels, size_t channels,
                                                           size_t taps, const uint8_t* const* input,
                                                           size_t input_step, uint32_t input_xor,
                                                           const void* w, int has_w_zero_points,
                                                           void* output, size_t output_stride,
                                                           const qeq_gemm_ukernel_params* params) {
  dwconv_panels(pixels, channels, taps, input, input_step, input_xor, w, has_w_zero_points, output,
                output_stride, params);
}
