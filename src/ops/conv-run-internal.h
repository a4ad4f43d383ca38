/* Internal: what the convolution run paths (conv-run.c, conv-run-depthwise.c) share: the
 * checked shape of a call and the per-run resources of the table-driven paths. */
#ifndef QEQ_SRC_OPS_CONV_RUN_INTERNAL_H
#define QEQ_SRC_OPS_CONV_RUN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "src/ops/conv-internal.h"

struct pthreadpool;

/* Everything a call needs, derived and checked before anything is written. */
typedef struct qeq_conv_run_shape {
  size_t pixels, output_pixels; /* batch x height x width, batch x oh x ow */
  size_t output_height, output_width;
  size_t input_stride, output_stride; /* bytes per pixel */
} qeq_conv_run_shape;

/* Tasks: one per thread's share of `units` (four each, for balance), one without threads. */
size_t qeq_conv_task_count(size_t units, struct pthreadpool* pool);

/* The depthwise path (conv-run-depthwise.c), on a checked call. */
qeq_status qeq_conv_run_depthwise(const char* fn, const qeq_conv* c, size_t batch, size_t height,
                                  size_t width, const uint8_t* input, uint8_t* output,
                                  const qeq_conv_run_shape* s, struct pthreadpool* pool);

#endif /* QEQ_SRC_OPS_CONV_RUN_INTERNAL_H */
