/* The two decisions of the x86 qu8s8 kernels that have a saturating vpmaddubsw path beside
 * their exact one (AVX2 6x16c4, AVX-512 8x32c2): the largest activation byte a row tile reads,
 * and whether a panel's pair bounds prove the int16 pair sums exact for it
 * (docs/numerics.md#the-avx2-fast-path). AVX2 intrinsics, so both ISAs' builds (and
 * their SIMDe builds) share them. */
#ifndef QEQ_KERNELS_QU8S8_GEMM_PAIRS_X86_H
#define QEQ_KERNELS_QU8S8_GEMM_PAIRS_X86_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/common/x86.h"
#include "kernels/qu8s8-gemm/qu8s8-gemm-loads.h"
#include "kernels/ukernels.h"

/* The largest byte of every row's kc bytes over every tap (row pointers a[t * rows + i] +
 * a_offset): for a GEMM one tap of the matrix rows; for an indirect GEMM every tap, the
 * zero-point rows of padding taps included. Each row in whole vectors, its end by one more
 * load overlapping the last (never reading past the row); rows shorter than 32 bytes by two
 * overlapping loads of 16, 8 or 4 bytes. A byte loop over short rows and tails cost more than
 * the multiply-adds of a 3-channel stem. */
static inline __attribute__((always_inline)) uint32_t qeq_gemm_x86_rows_max(const size_t rows,
                                                                            size_t kc, size_t taps,
                                                                            const uint8_t* const* a,
                                                                            size_t a_offset) {
  __m256i vmax = _mm256_setzero_si256();
  __m128i vmax16 = _mm_setzero_si128();
  uint32_t smax = 0;
  for (size_t t = 0; t < taps * rows; t++) {
    const uint8_t* p = a[t] + a_offset;
    if (kc >= 32) {
      size_t kk = 0;
      for (; kk + 32 <= kc; kk += 32) {
        vmax = _mm256_max_epu8(vmax, _mm256_loadu_si256((const __m256i*)(p + kk)));
      }
      if (kk < kc) {
        vmax = _mm256_max_epu8(vmax, _mm256_loadu_si256((const __m256i*)(p + kc - 32)));
      }
    } else if (kc >= 16) {
      vmax16 = _mm_max_epu8(vmax16, _mm_loadu_si128((const __m128i*)p));
      vmax16 = _mm_max_epu8(vmax16, _mm_loadu_si128((const __m128i*)(p + kc - 16)));
    } else if (kc >= 8) {
      vmax16 = _mm_max_epu8(vmax16, _mm_cvtsi64_si128(qeq_gemm_load_a8(p)));
      vmax16 = _mm_max_epu8(vmax16, _mm_cvtsi64_si128(qeq_gemm_load_a8(p + kc - 8)));
    } else if (kc >= 4) {
      vmax16 = _mm_max_epu8(vmax16, _mm_cvtsi32_si128(qeq_gemm_load_a4(p)));
      vmax16 = _mm_max_epu8(vmax16, _mm_cvtsi32_si128(qeq_gemm_load_a4(p + kc - 4)));
    } else {
      for (size_t kk = 0; kk < kc; kk++) smax = p[kk] > smax ? p[kk] : smax;
    }
  }
  __m128i m = _mm_max_epu8(_mm256_castsi256_si128(vmax), _mm256_extracti128_si256(vmax, 1));
  m = _mm_max_epu8(m, vmax16);
  m = _mm_max_epu8(m, _mm_srli_si128(m, 8));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 4));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 2));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 1));
  const uint32_t vm = (uint32_t)_mm_cvtsi128_si32(m) & 0xFF;
  return vm > smax ? vm : smax;
}

/* Whether the fast path is exact on a panel of nr (a multiple of 8, a constant) columns:
 * x_max (broadcast) * every column's pair bound <= 32767. x_max <= 255 and bounds <= 256, so
 * the products fit; a multiply per panel, not a division per call. */
static inline __attribute__((always_inline)) int qeq_gemm_x86_pairs_exact(const uint8_t* panel,
                                                                          const size_t nr,
                                                                          __m256i x_max) {
  const int32_t* bound = (const int32_t*)panel + (size_t)QEQ_GEMM_HEADER_PAIR_BOUND * nr;
  __m256i b = _mm256_loadu_si256((const __m256i*)bound);
#pragma GCC unroll 8
  for (size_t j = 8; j < nr; j += 8) {
    b = _mm256_max_epi32(b, _mm256_loadu_si256((const __m256i*)(bound + j)));
  }
  const __m256i worst = _mm256_mullo_epi32(b, x_max);
  return _mm256_movemask_epi8(_mm256_cmpgt_epi32(worst, _mm256_set1_epi32(32767))) == 0;
}

#endif /* QEQ_KERNELS_QU8S8_GEMM_PAIRS_X86_H */
