/* Internal: the per-channel scaling driver over the scale kernels. `work` holds
 * qeq_scale_workspace_floats() floats, 64-byte aligned (NULL when that is 0); it cannot fail. */
#ifndef QEQ_SRC_TENSOR_SCALE_H
#define QEQ_SRC_TENSOR_SCALE_H

#include <stddef.h>

#include "src/base/shape.h"

size_t qeq_scale_workspace_floats(const qeq_axis_view* v);
void qeq_scale_view(const qeq_axis_view* v, const float* x, const float* scales, float* y,
                    float* work);

#endif /* QEQ_SRC_TENSOR_SCALE_H */
