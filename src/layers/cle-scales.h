/* Internal: cross-layer equalization's per-channel scales, and the change they make. */
#ifndef QEQ_SRC_LAYERS_CLE_SCALES_H
#define QEQ_SRC_LAYERS_CLE_SCALES_H

#include <stddef.h>

#include <qeq/common.h>

/* PyTorch adds this to the second layer's ranges, in float32. */
#define QEQ_CLE_RANGE_EPS 1e-9f

/* The scales of channels c0 .. c1 - 1 from both sides' min/max (PyTorch's formula, and
 * qeq's rule for channels it leaves alone); QEQ_ERROR_NON_FINITE on NaN or Inf. */
qeq_status qeq_cle_channel_scales(const char* fn, const float* min1, const float* max1,
                                  const float* min2, const float* max2, const float* bias,
                                  size_t c0, size_t c1, float* scales, float* inv_scales);

/* ||W * diag(f) - W|| over a channel set, from the channels' sums of squares. */
double qeq_cle_scaled_change(const double* sum_squares, const float* factors, size_t channels);

#endif /* QEQ_SRC_LAYERS_CLE_SCALES_H */
