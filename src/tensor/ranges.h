/* Internal: the per-channel min/max (and sums of squares) drivers over the range kernels. */
#ifndef QEQ_SRC_TENSOR_RANGES_H
#define QEQ_SRC_TENSOR_RANGES_H

#include <stddef.h>

#include "src/base/shape.h"

/* Kernel drivers over a validated [outer, channels, inner] view (every size >= 1) on a
 * workspace the caller acquired, so that callers can allocate everything before their first
 * write. `work` holds the *_workspace_floats() floats, 64-byte aligned (NULL when that is 0).
 * They cannot fail. */
size_t qeq_minmax_workspace_floats(const qeq_axis_view* v);
void qeq_minmax_view(const qeq_axis_view* v, const float* x, float* min, float* max, float* work);
/* qeq_minmax_view plus each channel's sum of squares in double (NULL: none), in an order that
 * is the same on every ISA (kernels/common/sum-squares.h, then a channel's element sums in
 * order). */
void qeq_minmax_squares_view(const qeq_axis_view* v, const float* x, float* min, float* max,
                             double* sum_squares, float* work);
/* The same min/max (and sums of squares) fed row by row, for callers that produce the rows
 * in chunks: begin, add every one of the view's `outer` rows in order, end. Only for views
 * where qeq_minmax_rows_streamable holds; `work` as for qeq_minmax_view, untouched between
 * the calls; squares as the end call's sum_squares != NULL. */
int qeq_minmax_rows_streamable(const qeq_axis_view* v);
void qeq_minmax_rows_begin(const qeq_axis_view* v, int squares, float* work);
void qeq_minmax_rows_add(const qeq_axis_view* v, int squares, const float* rows, size_t count,
                         float* work);
/* rows_add of the rows times per-row scales (f32_rscale_vminmax) or, with row_scales NULL,
 * times the per-element scales column_scales (f32_vscale_vminmax), written back to `rows` in
 * the same pass if `store`: no product may be NaN. */
void qeq_minmax_rows_scale_add(const qeq_axis_view* v, int squares, float* rows,
                               const float* row_scales, const float* column_scales, size_t count,
                               int store, float* work);
void qeq_minmax_rows_end(const qeq_axis_view* v, float* min, float* max, double* sum_squares,
                         float* work);

#endif /* QEQ_SRC_TENSOR_RANGES_H */
