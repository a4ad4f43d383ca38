/* The depthwise run path: per output pixel, the input pixels its taps read (through the
 * indirection table), then one qu8s8_dwconv kernel call for all its channels. */
#include <pthreadpool.h>
#include <stdint.h>

#include "src/error.h"
#include "src/ops/conv-run-internal.h"

typedef struct depthwise_context {
  const qeq_conv* conv;
  const uint8_t* input;
  const size_t* table;
  const uint8_t* zero_row;
  uint8_t* output;
  size_t output_stride;
  size_t output_pixels, tasks;
  const uint8_t** pointers; /* pointer_stride per task */
  size_t pointer_stride;
} depthwise_context;

/* A task's share of output pixels: each pixel's tap pointers from the table, then one kernel
 * call for all its channels. */
static void depthwise_task(void* opaque, size_t task) {
  const depthwise_context* ctx = opaque;
  const qeq_gemm* gemm = ctx->conv->depthwise;
  qeq_qu8s8_dwconv_ukernel_fn* kernel = (qeq_qu8s8_dwconv_ukernel_fn*)gemm->variant->fn;
  const size_t taps = gemm->k;
  const uint8_t** pointers = ctx->pointers + task * ctx->pointer_stride;
  const uint32_t input_xor = ctx->conv->input_is_signed ? 0x80 : 0;
  const size_t begin = ctx->output_pixels * task / ctx->tasks;
  const size_t end = ctx->output_pixels * (task + 1) / ctx->tasks;
  for (size_t p = begin; p < end; p++) {
    const size_t* offsets = ctx->table + p * taps;
    for (size_t t = 0; t < taps; t++) {
      pointers[t] = offsets[t] == QEQ_CONV_PADDING_TAP ? ctx->zero_row : ctx->input + offsets[t];
    }
    kernel(gemm->n, taps, pointers, input_xor, gemm->packed, gemm->needs_row_sums,
           ctx->output + p * ctx->output_stride, &gemm->params);
  }
}

qeq_status qeq_conv_run_depthwise(const char* fn, const qeq_conv* c, size_t batch, size_t height,
                                  size_t width, const uint8_t* input, uint8_t* output,
                                  const qeq_conv_run_shape* s, struct pthreadpool* pool) {
  const size_t taps = c->depthwise->k;
  const size_t tasks = qeq_conv_task_count(s->output_pixels, pool);
  if (taps > SIZE_MAX / sizeof(uint8_t*) - 64) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: %zu taps overflow", fn, taps);
  }
  const size_t task_bytes = (taps * sizeof(uint8_t*) + 63) / 64 * 64;
  qeq_conv_run_resources r;
  const qeq_status status =
      qeq_conv_acquire_resources(fn, c, batch, height, width, s, tasks, task_bytes, &r);
  if (status != QEQ_OK) return status;
  depthwise_context ctx = {c,
                           input,
                           r.table->offsets,
                           r.zero_row,
                           output,
                           s->output_stride,
                           s->output_pixels,
                           tasks,
                           (const uint8_t**)(void*)r.buffers,
                           task_bytes / sizeof(uint8_t*)};
  pthreadpool_parallelize_1d(pool, depthwise_task, &ctx, tasks, 0);
  qeq_conv_release_resources(c, &r);
  return QEQ_OK;
}
