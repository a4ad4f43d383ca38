/* Internal: the indirection table of a convolution (XNNPACK's idea, built from offsets so it
 * depends on the input shape only, not on where the input lies). */
#ifndef QEQ_SRC_OPS_CONV_INDIRECTION_H
#define QEQ_SRC_OPS_CONV_INDIRECTION_H

#include <stddef.h>

#include "src/ops/conv-internal.h"

/* Marks a tap in the padding: it reads the zero-point row. */
#define QEQ_CONV_PADDING_TAP SIZE_MAX

/* For each output pixel p (batch-major, then rows, then columns) and tap t = ky * kw + kx,
 * table[p * taps + t] = byte offset of the input pixel the tap reads (pixel index times
 * pixel_stride_bytes), or QEQ_CONV_PADDING_TAP. The caller checked that every offset fits. */
void qeq_conv_build_indirection(const qeq_conv_geometry* geometry, size_t batch, size_t height,
                                size_t width, size_t output_height, size_t output_width,
                                size_t pixel_stride_bytes, size_t* table);

/* A built table and the shape it is for; refs counts the conv's cache and the runs using it
 * (under the conv's table_lock). */
typedef struct qeq_conv_table {
  size_t batch, height, width, pixel_stride_bytes;
  size_t refs;
  size_t offsets[]; /* output pixels x taps */
} qeq_conv_table;

/* The table for this input shape: the conv's cached one when the shape matches, else a new
 * one that replaces it in the cache. NULL when out of memory (or the size overflows).
 * Release it with qeq_conv_release_table. Safe for concurrent runs of one conv. */
const qeq_conv_table* qeq_conv_acquire_table(const qeq_conv* conv, size_t batch, size_t height,
                                             size_t width, size_t output_height,
                                             size_t output_width, size_t pixel_stride_bytes);
void qeq_conv_release_table(const qeq_conv* conv, const qeq_conv_table* table);

#endif /* QEQ_SRC_OPS_CONV_INDIRECTION_H */
