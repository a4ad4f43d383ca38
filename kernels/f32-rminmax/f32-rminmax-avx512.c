#include "kernels/common/minmax-avx512.h"
#include "kernels/common/sum-squares-avx512.h"
#include "kernels/common/sum-squares.h"
#include "kernels/common/x86.h"
#include "kernels/ukernels.h"

/* One body for both: with want_squares a compile-time 0 the squares vanish. */
static inline __attribute__((always_inline)) void rminmax(size_t outer, size_t channels,
                                                          size_t inner, const float* x, float* min,
                                                          float* max, double* sum_squares,
                                                          const int want_squares) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner) {
      /* The run's first element fills masked-off lanes: it is already in the set. */
      const __m512 first = _mm512_set1_ps(x[0]);
      __m512 mn0 = first, mn1 = first, mn2 = first, mn3 = first;
      __m512 mx0 = first, mx1 = first, mx2 = first, mx3 = first;
      /* sum-squares lanes 0-7, 8-15, 16-23, 24-31; `half` says which pair the next 16 go to */
      __m512d sq0 = _mm512_setzero_pd(), sq1 = sq0, sq2 = sq0, sq3 = sq0;
      int half = 0;
      const float* p = x;
      size_t n = inner;
      if (n <= 16) {
        /* A short run (the row path's folds reduce runs shorter than 32): one masked load, and no
         * accumulators to merge before the horizontal step, which is the whole cost here. */
        const __mmask16 mask = qeq_tail_mask_avx512(n);
        mn0 = mx0 = _mm512_mask_loadu_ps(first, mask, p);
        if (want_squares) qeq_add_squares16_avx512(_mm512_maskz_loadu_ps(mask, p), &sq0, &sq1);
        n = 0;
      }
      for (; n >= 64; n -= 64, p += 64) {
        const __m512 v0 = _mm512_loadu_ps(p), v1 = _mm512_loadu_ps(p + 16);
        const __m512 v2 = _mm512_loadu_ps(p + 32), v3 = _mm512_loadu_ps(p + 48);
        mn0 = qeq_min_ps_avx512(mn0, v0);
        mx0 = qeq_max_ps_avx512(mx0, v0);
        mn1 = qeq_min_ps_avx512(mn1, v1);
        mx1 = qeq_max_ps_avx512(mx1, v1);
        mn2 = qeq_min_ps_avx512(mn2, v2);
        mx2 = qeq_max_ps_avx512(mx2, v2);
        mn3 = qeq_min_ps_avx512(mn3, v3);
        mx3 = qeq_max_ps_avx512(mx3, v3);
        if (want_squares) {
          qeq_add_squares16_avx512(v0, &sq0, &sq1);
          qeq_add_squares16_avx512(v1, &sq2, &sq3);
          qeq_add_squares16_avx512(v2, &sq0, &sq1);
          qeq_add_squares16_avx512(v3, &sq2, &sq3);
        }
      }
      for (; n >= 16; n -= 16, p += 16) {
        const __m512 v = _mm512_loadu_ps(p);
        mn0 = qeq_min_ps_avx512(mn0, v);
        mx0 = qeq_max_ps_avx512(mx0, v);
        if (want_squares) {
          qeq_add_squares16_half_avx512(v, half, &sq0, &sq1, &sq2, &sq3);
          half = !half;
        }
      }
      if (n != 0) {
        const __m512 v = _mm512_mask_loadu_ps(first, qeq_tail_mask_avx512(n), p);
        mn1 = qeq_min_ps_avx512(mn1, v);
        mx1 = qeq_max_ps_avx512(mx1, v);
        if (want_squares) {
          const __m512 tail = _mm512_maskz_loadu_ps(qeq_tail_mask_avx512(n), p);
          qeq_add_squares16_half_avx512(tail, half, &sq0, &sq1, &sq2, &sq3);
        }
      }
      if (inner > 16) {
        mn0 = qeq_min_ps_avx512(qeq_min_ps_avx512(mn0, mn1), qeq_min_ps_avx512(mn2, mn3));
        mx0 = qeq_max_ps_avx512(qeq_max_ps_avx512(mx0, mx1), qeq_max_ps_avx512(mx2, mx3));
      }
      __m128 mn = qeq_hmin_avx512(mn0), mx = qeq_hmax_avx512(mx0);
      if (o != 0) {
        mn = qeq_min_ps_sse(_mm_load_ss(min + c), mn);
        mx = qeq_max_ps_sse(_mm_load_ss(max + c), mx);
      }
      _mm_store_ss(min + c, mn);
      _mm_store_ss(max + c, mx);
      if (want_squares) {
        double lanes[QEQ_SUM_SQUARES_LANES];
        _mm512_storeu_pd(lanes, sq0);
        _mm512_storeu_pd(lanes + 8, sq1);
        _mm512_storeu_pd(lanes + 16, sq2);
        _mm512_storeu_pd(lanes + 24, sq3);
        qeq_sum_squares_store(sum_squares + c, o, qeq_sum_squares_lanes_fold(lanes));
      }
    }
  }
}

void QEQ_X86_KERNEL(qeq_f32_rminmax_ukernel__avx512)(size_t outer, size_t channels, size_t inner,
                                                     const float* x, float* min, float* max,
                                                     double* sum_squares) {
  if (sum_squares != NULL) {
    rminmax(outer, channels, inner, x, min, max, sum_squares, 1);
  } else {
    rminmax(outer, channels, inner, x, min, max, NULL, 0);
  }
}
