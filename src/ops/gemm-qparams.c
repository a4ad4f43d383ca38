/* PyTorch's ChooseQuantizationParams (aten quantized QuantUtils), in its own arithmetic:
 * double precision for the intermediates, the scale stored as float. */
#include "src/ops/gemm-qparams.h"

#include <math.h>

/* Scales below this are raised to it, and the range stretched to match. */
static const float small_scale_threshold = 6.1e-5f;

void qeq_choose_qparams_u8(float min, float max, int reduce_range, double* scale_out,
                           int32_t* zero_point_out) {
  int32_t qmin = 0, qmax = 255;
  if (reduce_range) qmin /= 2, qmax /= 2;
  /* the range always holds 0, so that 0 is exactly representable */
  min = min < 0.0f ? min : 0.0f;
  max = max > 0.0f ? max : 0.0f;
  double scale = ((double)max - min) / (qmax - qmin);
  if ((float)scale == 0.0f || isinf(1.0f / (float)scale)) scale = 0.1;
  if (scale < small_scale_threshold) {
    const float original = (float)scale;
    scale = small_scale_threshold;
    if (min == 0.0f) {
      max = small_scale_threshold * (qmax - qmin);
    } else if (max == 0.0f) {
      min = -small_scale_threshold * (qmax - qmin);
    } else {
      const float amplifier = small_scale_threshold / original;
      min *= amplifier;
      max *= amplifier;
    }
  }
  const double from_min = qmin - min / scale;
  const double from_max = qmax - max / scale;
  const double from_min_error = fabs((double)qmin) - fabs(min / scale);
  const double from_max_error = fabs((double)qmax) - fabs(max / scale);
  const double initial = from_min_error < from_max_error ? from_min : from_max;
  int32_t zero_point;
  if (initial < qmin) {
    zero_point = qmin;
  } else if (initial > qmax) {
    zero_point = qmax;
  } else {
    zero_point = (int32_t)nearbyint(initial);
  }
  *scale_out = scale;
  *zero_point_out = zero_point;
}
