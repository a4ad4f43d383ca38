/* qeq: per-axis and whole-tensor ranges of float32 tensors. */
#ifndef QEQ_RANGES_H
#define QEQ_RANGES_H

#include <qeq/shape.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Semantics shared by the functions below (same bits on every ISA):
 * - `axis` counts from 0; negative values count from the end, as in PyTorch.
 * - Outputs have shape->dims[axis] elements, one per channel (index along `axis`).
 * - A NaN anywhere in a channel makes that channel's min, max, range and absmax NaN (the
 *   canonical quiet NaN 0x7fc00000), as torch.min/max do.
 * - Infinities are ordinary values. range = max - min in float32, as torch computes it, so a
 *   channel holding both -inf and +inf has range +inf and one holding only +inf has range NaN.
 * - Zeros: -0.0 orders below +0.0, so min(-0.0, +0.0) = -0.0 and max = +0.0 regardless of
 *   element order (torch leaves this to the reduction order).
 * - Zero-sized dimensions are rejected (the min of an empty slice does not exist).
 * On failure nothing is written. */

/* min_out[c], max_out[c] = min, max of the slice at index c of `axis`. */
QEQ_API qeq_status qeq_channel_minmax_f32(const qeq_shape* shape, const float* x, int axis,
                                          float* min_out, float* max_out);

/* range_out[c] = max - min of channel c (PyTorch's channel_range), in float32. */
QEQ_API qeq_status qeq_channel_range_f32(const qeq_shape* shape, const float* x, int axis,
                                         float* range_out);

/* absmax_out[c] = max |x| over channel c (= max(-min, max), exact). */
QEQ_API qeq_status qeq_channel_absmax_f32(const qeq_shape* shape, const float* x, int axis,
                                          float* absmax_out);

/* Whole-tensor min and max, with the same NaN and zero rules. */
QEQ_API qeq_status qeq_tensor_minmax_f32(const qeq_shape* shape, const float* x, float* min_out,
                                         float* max_out);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_RANGES_H */
