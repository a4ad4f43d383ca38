/* The per-channel scales of cross-layer equalization and the change they make, shared by the
 * general sweep (equalize.c) and the fused chain sweep (equalize-chain.c). */
#include "src/layers/cle-scales.h"

#include <math.h>

#include "src/base/error.h"

qeq_status qeq_cle_channel_scales(const char* fn, const float* min1, const float* max1,
                                  const float* min2, const float* max2, const float* bias,
                                  size_t c0, size_t c1, float* scales, float* inv_scales) {
  for (size_t c = c0; c < c1; c++) {
    if (!isfinite(min1[c]) || !isfinite(max1[c])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: first's output channel %zu holds NaN or Inf", fn,
                      c);
    }
    if (!isfinite(min2[c]) || !isfinite(max2[c])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: second's input channel %zu holds NaN or Inf", fn,
                      c);
    }
    const float r1 = max1[c] - min1[c];
    const float r2 = max2[c] - min2[c];
    const float scale = sqrtf(r1 / (r2 + QEQ_CLE_RANGE_EPS));
    const float inv_scale = 1.0f / scale;
    /* PyTorch writes Inf/NaN for r1 = 0 and blows weights up for r2 = 0; qeq leaves such
     * channels, and any whose scaled weights or bias would overflow, as they are. */
    const float absmax1 = fmaxf(fabsf(min1[c]), fabsf(max1[c]));
    const float absmax2 = fmaxf(fabsf(min2[c]), fabsf(max2[c]));
    const int usable = r1 > 0.0f && r2 > 0.0f && isfinite(scale) && scale > 0.0f &&
                       isfinite(inv_scale) && isfinite(absmax1 * inv_scale) &&
                       isfinite(absmax2 * scale) && (bias == NULL || isfinite(bias[c] * inv_scale));
    scales[c] = usable ? scale : 1.0f;
    inv_scales[c] = usable ? inv_scale : 1.0f;
  }
  return QEQ_OK;
}

double qeq_cle_scaled_change(const double* sum_squares, const float* factors, size_t channels) {
  double total = 0.0;
  for (size_t c = 0; c < channels; c++) {
    const double d = (double)factors[c] - 1.0;
    total += d * d * sum_squares[c];
  }
  return sqrt(total);
}
