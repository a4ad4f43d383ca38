#include "kernels/common/minmax-avx2.h"
#include "kernels/common/prefetch.h"
#include "kernels/ukernels.h"

void qeq_f32_rminmax_ukernel__avx2(size_t outer, size_t channels, size_t inner, const float* x,
                                   float* min, float* max) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++, x += inner) {
      /* The run's first element fills masked-off lanes: it is already in the set. */
      const __m256 first = _mm256_broadcast_ss(x);
      __m256 mn0 = first, mn1 = first, mn2 = first, mn3 = first;
      __m256 mx0 = first, mx1 = first, mx2 = first, mx3 = first;
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
      }
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
    }
  }
}
