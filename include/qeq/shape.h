/* qeq: shape descriptor for dense, row-major float32 tensors. */
#ifndef QEQ_SHAPE_H
#define QEQ_SHAPE_H

#include <qeq/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QEQ_MAX_DIMS 8

/* A dense row-major tensor shape of 1 to QEQ_MAX_DIMS dimensions; dims[ndim..] unused.
 * Strides are implied (the last dimension is contiguous). */
typedef struct qeq_shape {
  size_t ndim;
  size_t dims[QEQ_MAX_DIMS];
} qeq_shape;

/* Fills *shape from ndim sizes. Fails (shape untouched) on NULL, ndim outside
 * [1, QEQ_MAX_DIMS], or an element count that overflows size_t or whose float32 bytes exceed
 * PTRDIFF_MAX (QEQ_ERROR_SIZE_OVERFLOW). Zero-sized dims are allowed here; each operation
 * says whether it accepts them. */
QEQ_API qeq_status qeq_shape_init(qeq_shape* shape, size_t ndim, const size_t* dims);

/* Number of elements, with the same checks as qeq_shape_init. */
QEQ_API qeq_status qeq_shape_numel(const qeq_shape* shape, size_t* numel);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_SHAPE_H */
