/* AVX2 qu8s8 depthwise convolution, 16 channels per panel, taps in pairs (c2). The two taps'
 * bytes are interleaved per channel and both operands widened to int16, so one vpmaddwd
 * gives x_t * w_t + x_t1 * w_t1 per channel exactly (at most 2 * 255 * 128, no saturation).
 * Panels outside, pixels inside: a panel's weights are widened once per call for 3x3 and 5x5
 * (held in a local array: registers, or the stack when they do not fit) and reused per pixel. */
#include <stdint.h>
#include <string.h>

#include "kernels/common/partial-bytes.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* One pixel: a single row of two ymm accumulators, as the shared epilogue sees it. */
#define QEQ_GEMM_MR 1
#define QEQ_GEMM_NV 2
#include "kernels/common/gemm-epilogue-avx256.h"

enum { NR = 8 * QEQ_GEMM_NV, KR = 2, MAX_HELD_PAIRS = 13 /* 5x5 */ };

/* count (1..16) channel bytes, zero-filled; nothing past the pixel's channels is read. */
static inline __m128i load_channels(const uint8_t* p, size_t count, int full) {
  if (full) return _mm_loadu_si128((const __m128i*)p);
  uint64_t lo, hi;
  qeq_load_partial16(p, count, &lo, &hi);
  return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* The widened weights of tap pair `pair`, channels 8 v .. 8 v + 7. */
static inline __m256i pair_weights(const int8_t* wk, size_t pair, size_t v) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(wk + pair * NR * KR + 16 * v)));
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
  const __m256i za = _mm256_set1_epi32(params->a_zero_point);
  __m256i start[2];
  for (size_t v = 0; v < 2; v++) {
    const int32_t* h = (const int32_t*)panel + QEQ_GEMM_HEADER_W_SUM * NR;
    start[v] =
        _mm256_sub_epi32(_mm256_setzero_si256(),
                         _mm256_mullo_epi32(za, _mm256_loadu_si256((const __m256i*)(h + 8 * v))));
  }
  const __m128i xor_mask = _mm_set1_epi8((char)0x80);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i w_held[MAX_HELD_PAIRS][2];
  if (held) {
#pragma GCC unroll 13
    for (size_t q = 0; q < pairs + odd; q++) {
      w_held[q][0] = pair_weights(wk, q, 0);
      w_held[q][1] = pair_weights(wk, q, 1);
    }
  }
  __m256i w_zp[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
  if (has_w_zp) {
    const int32_t* h = (const int32_t*)panel + QEQ_GEMM_HEADER_W_ZERO_POINT * NR;
    w_zp[0] = _mm256_loadu_si256((const __m256i*)h);
    w_zp[1] = _mm256_loadu_si256((const __m256i*)(h + 8));
  }
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* const* in = input + p * input_step;
    __m256i acc[1][2] = {{start[0], start[1]}};
    __m256i x_sum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
#pragma GCC unroll 13
    for (size_t q = 0; q < pairs + odd; q++) {
      __m128i x0 = load_channels(in[2 * q] + c0, count, full);
      /* an odd last tap pairs with zeros (its packed weights are zero too) */
      const int has_partner = 2 * q + 1 < taps;
      __m128i x1 =
          has_partner ? load_channels(in[2 * q + 1] + c0, count, full) : _mm_setzero_si128();
      if (flip) {
        /* x ^ 0x80 = x + 128 for qint8; the missing partner of an odd tap stays 0 */
        x0 = _mm_xor_si128(x0, xor_mask);
        if (has_partner) x1 = _mm_xor_si128(x1, xor_mask);
      }
      const __m256i x_lo = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(x0, x1));
      const __m256i x_hi = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(x0, x1));
      const __m256i w_lo = held ? w_held[q][0] : pair_weights(wk, q, 0);
      const __m256i w_hi = held ? w_held[q][1] : pair_weights(wk, q, 1);
      acc[0][0] = _mm256_add_epi32(acc[0][0], _mm256_madd_epi16(x_lo, w_lo));
      acc[0][1] = _mm256_add_epi32(acc[0][1], _mm256_madd_epi16(x_hi, w_hi));
      if (has_w_zp) {
        x_sum[0] = _mm256_add_epi32(x_sum[0], _mm256_madd_epi16(x_lo, ones));
        x_sum[1] = _mm256_add_epi32(x_sum[1], _mm256_madd_epi16(x_hi, ones));
      }
    }
    if (has_w_zp) {
      /* the per-channel part of the correction; the epilogue does the rest */
      acc[0][0] = _mm256_sub_epi32(acc[0][0], _mm256_mullo_epi32(w_zp[0], x_sum[0]));
      acc[0][1] = _mm256_sub_epi32(acc[0][1], _mm256_mullo_epi32(w_zp[1], x_sum[1]));
    }
    qeq_gemm_epilogue_avx256(1, acc, panel, c0, channels, NULL, _mm256_setzero_si256(),
                             output + p * output_stride, 0, params);
  }
}

#include "kernels/qu8s8-dwconv/qu8s8-dwconv-panels-x86.h"

void QEQ_X86_KERNEL(qeq_qu8s8_dwconv_ukernel_16c2__avx2)(size_t pixels, size_t channels,
                                                         size_t taps, const uint8_t* const* input,
                                                         size_t input_step, uint32_t input_xor,
                                                         const void* w, int has_w_zero_points,
                                                         void* output, size_t output_stride,
                                                         const qeq_gemm_ukernel_params* params) {
  dwconv_panels(pixels, channels, taps, input, input_step, input_xor, w, has_w_zero_points, output,
                output_stride, params);
}
