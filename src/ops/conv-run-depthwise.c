/* The depthwise run path, an output row at a time: the row's input columns as one array of
 * column pointers (kernel_height per input column, a zero-point row for padding), then
 * qu8s8_dwconv kernel calls of up to SEGMENT pixels each. The weights are packed tap column by
 * tap column (conv.c), so pixel x + 1's taps start stride_width columns after pixel x's and
 * the pixels share the array (input_step = stride_width * kernel_height); with a dilated
 * width each pixel's taps are first copied out of it. */
#include <pthreadpool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/error.h"
#include "src/ops/conv-run-internal.h"

/* Pixels per kernel call: the kernel keeps a channel panel's weights in registers across them;
 * few enough that their input rows stay in L1 from one panel to the next. */
enum { SEGMENT = 32 };

typedef struct depthwise_context {
  const qeq_conv* conv;
  const uint8_t* input;
  const uint8_t* zero_row;
  uint8_t* output;
  size_t height, width, input_stride;
  size_t output_height, output_width, output_stride;
  size_t rows, tasks;       /* batch x output_height rows, split over the tasks */
  size_t columns;           /* input columns one output row reads, padding included */
  const uint8_t** pointers; /* pointer_stride per task */
  size_t pointer_stride;
} depthwise_context;

/* Pointers to the kernel_height input pixels of every column output row `row` reads. */
static void column_pointers(const depthwise_context* ctx, size_t row, const uint8_t** columns) {
  const qeq_conv_geometry* g = &ctx->conv->geometry;
  const size_t n = row / ctx->output_height, oy = row % ctx->output_height;
  for (size_t ky = 0; ky < g->kernel_height; ky++) {
    /* padded coordinates: inside the input when in [padding, padding + extent) */
    const size_t iy = oy * g->stride_height + ky * g->dilation_height;
    const int row_inside = iy >= g->padding_height && iy - g->padding_height < ctx->height;
    const uint8_t* line = row_inside ? ctx->input + (n * ctx->height + (iy - g->padding_height)) *
                                                        ctx->width * ctx->input_stride
                                     : ctx->zero_row;
    for (size_t j = 0; j < ctx->columns; j++) {
      const int inside = row_inside && j >= g->padding_width && j - g->padding_width < ctx->width;
      columns[j * g->kernel_height + ky] =
          inside ? line + (j - g->padding_width) * ctx->input_stride : ctx->zero_row;
    }
  }
}

static void depthwise_task(void* opaque, size_t task) {
  const depthwise_context* ctx = opaque;
  const qeq_conv_geometry* g = &ctx->conv->geometry;
  const qeq_gemm* gemm = ctx->conv->depthwise;
  qeq_qu8s8_dwconv_ukernel_fn* kernel = (qeq_qu8s8_dwconv_ukernel_fn*)gemm->variant->fn;
  const size_t kh = g->kernel_height, taps = gemm->k;
  const uint8_t** columns = ctx->pointers + task * ctx->pointer_stride;
  const uint8_t** pixels_taps = columns + ctx->columns * kh; /* dilated width only */
  const int shared = g->dilation_width == 1;
  const size_t step = shared ? g->stride_width * kh : taps;
  const uint32_t input_xor = ctx->conv->input_is_signed ? 0x80 : 0;
  const size_t begin = ctx->rows * task / ctx->tasks;
  const size_t end = ctx->rows * (task + 1) / ctx->tasks;
  for (size_t row = begin; row < end; row++) {
    column_pointers(ctx, row, columns);
    for (size_t x0 = 0; x0 < ctx->output_width; x0 += SEGMENT) {
      const size_t pixels = ctx->output_width - x0 < SEGMENT ? ctx->output_width - x0 : SEGMENT;
      const uint8_t* const* input = columns + x0 * g->stride_width * kh;
      if (!shared) {
        for (size_t p = 0; p < pixels; p++) {
          const uint8_t* const* first = columns + (x0 + p) * g->stride_width * kh;
          for (size_t kx = 0; kx < g->kernel_width; kx++) {
            memcpy(pixels_taps + p * taps + kx * kh, first + kx * g->dilation_width * kh,
                   kh * sizeof(uint8_t*));
          }
        }
        input = pixels_taps;
      }
      kernel(pixels, gemm->n, taps, input, step, input_xor, gemm->packed, gemm->needs_row_sums,
             ctx->output + (row * ctx->output_width + x0) * ctx->output_stride, ctx->output_stride,
             &gemm->params);
    }
  }
}

qeq_status qeq_conv_run_depthwise(const char* fn, const qeq_conv* c, size_t batch, size_t height,
                                  size_t width, const uint8_t* input, uint8_t* output,
                                  const qeq_conv_run_shape* s, struct pthreadpool* pool) {
  const qeq_conv_geometry* g = &c->geometry;
  const size_t taps = c->depthwise->k;
  const size_t rows = batch * s->output_height;
  const size_t tasks = qeq_conv_task_count(rows, pool);
  /* output columns and the kernel span fit in the padded width, checked with the shape */
  const size_t columns =
      (s->output_width - 1) * g->stride_width + (g->kernel_width - 1) * g->dilation_width + 1;
  const size_t per_task_max = (SIZE_MAX / sizeof(uint8_t*) - 64) / tasks;
  const size_t dilated = g->dilation_width != 1 ? SEGMENT : 0; /* pixels' own tap copies */
  if (columns > per_task_max / g->kernel_height / 2 || taps > per_task_max / 2 / SEGMENT) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: %zu input columns x %zu taps overflow", fn,
                    columns, taps);
  }
  const size_t pointers = columns * g->kernel_height + dilated * taps;
  const size_t task_bytes = (pointers * sizeof(uint8_t*) + 63) / 64 * 64;
  const uint8_t** buffers = aligned_alloc(64, tasks * task_bytes);
  uint8_t* zero_row = malloc(c->input_channels);
  if (buffers == NULL || zero_row == NULL) {
    free(buffers), free(zero_row);
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY,
                    "%s: cannot allocate the input pointers of %zu columns x %zu taps", fn, columns,
                    taps);
  }
  memset(zero_row, c->input_zero_byte, c->input_channels);
  depthwise_context ctx = {
      c,     input,           zero_row,         output,          height,
      width, s->input_stride, s->output_height, s->output_width, s->output_stride,
      rows,  tasks,           columns,          buffers,         task_bytes / sizeof(uint8_t*)};
  pthreadpool_parallelize_1d(pool, depthwise_task, &ctx, tasks, 0);
  free(buffers), free(zero_row);
  return QEQ_OK;
}
