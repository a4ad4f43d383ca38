/* Internal: what the convolution run paths share (conv-run.c calls the depthwise path of
 * conv-run-depthwise.c): the checked shape of a call and how many tasks to split it into. */
#ifndef QEQ_SRC_OPS_CONV_RUN_INTERNAL_H
#define QEQ_SRC_OPS_CONV_RUN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <pthreadpool.h>

#include "src/ops/conv-internal.h"

/* Everything a call needs, derived and checked before anything is written. */
typedef struct qeq_conv_run_shape {
  size_t pixels, output_pixels; /* batch x height x width, batch x oh x ow */
  size_t output_height, output_width;
  size_t input_stride, output_stride; /* bytes per pixel */
} qeq_conv_run_shape;

/* Tasks: one per thread's share of `units` (four each, for balance), one without threads. */
static inline size_t qeq_conv_task_count(size_t units, struct pthreadpool* pool) {
  const size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  const size_t wanted = threads > 1 ? threads * 4 : 1;
  return units < wanted ? units : wanted;
}

/* The depthwise path (conv-run-depthwise.c), on a checked call. */
qeq_status qeq_conv_run_depthwise(const char* fn, const qeq_conv* c, size_t batch, size_t height,
                                  size_t width, const uint8_t* input, uint8_t* output,
                                  const qeq_conv_run_shape* s, struct pthreadpool* pool);

#endif /* QEQ_SRC_OPS_CONV_RUN_INTERNAL_H */
