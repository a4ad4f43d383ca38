#include "kernels/common/minmax-avx2.h"
#include "kernels/common/prefetch.h"
#include "kernels/common/sum-squares-avx2.h"
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
      const __m256 first = _mm256_broadcast_ss(x);
      __m256 mn0 = first, mn1 = first, mn2 = first, mn3 = first;
      __m256 mx0 = first, mx1 = first, mx2 = first, mx3 = first;
      /* lanes 0-3, 4-7, ..., 28-31 of kernels/common/sum-squares.h */
      __m256d q0 = _mm256_setzero_pd(), q1 = q0, q2 = q0, q3 = q0, q4 = q0, q5 = q0, q6 = q0,
              q7 = q0;
      const float* p = x;
      size_t n = inner;
      for (; n >= 32; n -= 32, p += 32) {
        qeq_prefetch_row_ahead(p);
        qeq_prefetch_row_ahead(p + 16);
        const __m256 v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8);
        const __m256 v2 = _mm256_loadu_ps(p + 16), v3 = _mm256_loadu_ps(p + 24);
        mn0 = qeq_min_ps_avx2(mn0, v0);
        mx0 = qeq_max_ps_avx2(mx0, v0);
        mn1 = qeq_min_ps_avx2(mn1, v1);
        mx1 = qeq_max_ps_avx2(mx1, v1);
        mn2 = qeq_min_ps_avx2(mn2, v2);
        mx2 = qeq_max_ps_avx2(mx2, v2);
        mn3 = qeq_min_ps_avx2(mn3, v3);
        mx3 = qeq_max_ps_avx2(mx3, v3);
        if (want_squares) {
          qeq_add_squares8_avx2(v0, &q0, &q1);
          qeq_add_squares8_avx2(v1, &q2, &q3);
          qeq_add_squares8_avx2(v2, &q4, &q5);
          qeq_add_squares8_avx2(v3, &q6, &q7);
        }
      }
      /* The rest (under 32 elements, starting at lane 0) is squared one by one below. */
      const float* rest = p;
      const size_t rest_count = n;
      for (; n >= 8; n -= 8, p += 8) {
        const __m256 v = _mm256_loadu_ps(p);
        mn0 = qeq_min_ps_avx2(mn0, v);
        mx0 = qeq_max_ps_avx2(mx0, v);
      }
      if (n != 0) {
        const __m256i mask = qeq_tail_mask_avx2(n);
        const __m256 v =
            _mm256_blendv_ps(first, _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask));
        mn1 = qeq_min_ps_avx2(mn1, v);
        mx1 = qeq_max_ps_avx2(mx1, v);
      }
      mn0 = qeq_min_ps_avx2(qeq_min_ps_avx2(mn0, mn1), qeq_min_ps_avx2(mn2, mn3));
      mx0 = qeq_max_ps_avx2(qeq_max_ps_avx2(mx0, mx1), qeq_max_ps_avx2(mx2, mx3));
      __m128 mn = qeq_hmin_avx2(mn0), mx = qeq_hmax_avx2(mx0);
      if (o != 0) {
        mn = qeq_min_ps_sse(_mm_load_ss(min + c), mn);
        mx = qeq_max_ps_sse(_mm_load_ss(max + c), mx);
      }
      _mm_store_ss(min + c, mn);
      _mm_store_ss(max + c, mx);
      if (want_squares) {
        double lanes[QEQ_SUM_SQUARES_LANES];
        _mm256_storeu_pd(lanes, q0);
        _mm256_storeu_pd(lanes + 4, q1);
        _mm256_storeu_pd(lanes + 8, q2);
        _mm256_storeu_pd(lanes + 12, q3);
        _mm256_storeu_pd(lanes + 16, q4);
        _mm256_storeu_pd(lanes + 20, q5);
        _mm256_storeu_pd(lanes + 24, q6);
        _mm256_storeu_pd(lanes + 28, q7);
        qeq_sum_squares_lanes_add(lanes, 0, rest, rest_count);
        qeq_sum_squares_store(sum_squares + c, o, qeq_sum_squares_lanes_fold(lanes));
      }
    }
  }
}

void QEQ_X86_KERNEL(qeq_f32_rminmax_ukernel__avx2)(size_t outer, size_t channels, size_t inner,
                                                   const float* x, float* min, float* max,
                                                   double* sum_squares) {
  if (sum_squares != NULL) {
    rminmax(outer, channels, inner, x, min, max, sum_squares, 1);
  } else {
    rminmax(outer, channels, inner, x, min, max, NULL, 0);
  }
}
