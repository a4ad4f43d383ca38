/* qeq: per-channel scaling of float32 tensors. */
#ifndef QEQ_SCALE_H
#define QEQ_SCALE_H

#include <qeq/shape.h>

#ifdef __cplusplus
extern "C" {
#endif

/* y[..., c, ...] = x[..., c, ...] * scales[c] for every index c along `axis` (negative axes
 * count from the end). One float32 multiplication per element, so every ISA gives the same
 * bits. `scales` has shape->dims[axis] finite entries (else QEQ_ERROR_NON_FINITE, naming the
 * first bad index). In place when y == x; any other overlap of y with x or scales is
 * rejected. A tensor with no elements is a successful no-op. On failure nothing is written. */
QEQ_API qeq_status qeq_scale_channels_f32(const qeq_shape* shape, const float* x, int axis,
                                          const float* scales, float* y);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_SCALE_H */
