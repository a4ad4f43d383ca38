/* Runs a packed convolution: checks the call, then either hands the pixels to the GEMM as its
 * rows (1x1, stride 1, no padding), or hands a depthwise convolution to conv-run-depthwise.c,
 * or per tile of MR output pixels turns the table's offsets into pointers and calls the
 * indirect GEMM microkernel (qu8s8_igemm) for every group, or, where that kernel does not apply
 * (see conv.c), gathers each pixel's taps through the table into a small MR x K tile (in
 * cache, one per task) and calls the GEMM microkernel on it for every group. */
#include <pthreadpool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qeq/conv.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/conv-indirection.h"
#include "src/ops/conv-internal.h"
#include "src/ops/conv-run-internal.h"

static qeq_status check_run(const char* fn, const qeq_conv* conv, size_t batch, size_t height,
                            size_t width, const void* input, size_t input_pixel_stride_bytes,
                            const void* output, size_t output_pixel_stride_bytes,
                            qeq_conv_run_shape* s) {
  if (conv == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: conv is NULL", fn);
  if (input == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: input is NULL", fn);
  if (output == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: output is NULL", fn);
  if (batch == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: batch is 0", fn);
  qeq_status status =
      qeq_conv_output_size_for(fn, conv, height, width, &s->output_height, &s->output_width);
  if (status != QEQ_OK) return status;
  const size_t in_row = conv->input_channels;
  const size_t out_row = conv->output_channels * conv->output_bytes;
  s->input_stride = input_pixel_stride_bytes ? input_pixel_stride_bytes : in_row;
  s->output_stride = output_pixel_stride_bytes ? output_pixel_stride_bytes : out_row;
  if (s->input_stride < in_row) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: input_pixel_stride_bytes %zu is shorter than a pixel (%zu bytes)", fn,
                    s->input_stride, in_row);
  }
  if (s->output_stride < out_row) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: output_pixel_stride_bytes %zu is shorter than a pixel (%zu bytes)", fn,
                    s->output_stride, out_row);
  }
  if (height > SIZE_MAX / width || s->output_height > SIZE_MAX / s->output_width ||
      batch > SIZE_MAX / (height * width) ||
      batch > SIZE_MAX / (s->output_height * s->output_width)) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: batch %zu x %zu x %zu pixels overflow", fn, batch,
                    height, width);
  }
  status = qeq_gemm_check_output_alignment(fn, "output_pixel_stride_bytes", output,
                                           s->output_stride, conv->output_bytes);
  if (status != QEQ_OK) return status;
  s->pixels = batch * height * width;
  s->output_pixels = batch * s->output_height * s->output_width;
  size_t in_span, out_span;
  if (!qeq_span_fits(s->pixels, in_row, s->input_stride, &in_span) ||
      !qeq_span_fits(s->output_pixels, out_row, s->output_stride, &out_span)) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW,
                    "%s: the pixels at these strides span more than PTRDIFF_MAX bytes", fn);
  }
  const qeq_buffer buffers[2] = {{"output", output, out_span, 1, 0},
                                 {"input", input, in_span, 0, 0}};
  status = qeq_check_overlaps(fn, buffers, 2);
  if (status != QEQ_OK) return status;
  return qeq_gemm_check_variant(fn, qeq_conv_packed(conv));
}

typedef struct gather_context {
  const qeq_conv* conv;
  const uint8_t* input;
  const size_t* table; /* taps offsets per output pixel (indirect runs only) */
  const uint8_t* zero_row;
  uint8_t* output;
  size_t output_stride;
  size_t output_pixels;
  size_t tiles, tasks;
  uint8_t* tiles_buffer; /* tasks x tile_bytes */
  size_t tile_bytes;
  /* The input and output shapes, from which gathered runs find each tap's input pixel */
  size_t height, width, input_stride, output_height, output_width;
} gather_context;

/* A run of taps' channels: 16-byte blocks the compiler turns into vector moves (runs are
 * short, so a libc call per tap would cost as much as the copy), the end by one overlapping move,
 * and short runs (3-channel first layers) by two overlapping 8- or 4-byte moves. */
static inline void copy_run(uint8_t* dst, const uint8_t* src, size_t bytes) {
  if (bytes >= 16) {
    size_t i = 0;
    for (; i + 16 <= bytes; i += 16) memcpy(dst + i, src + i, 16);
    if (i < bytes) memcpy(dst + bytes - 16, src + bytes - 16, 16);
  } else if (bytes >= 8) {
    memcpy(dst, src, 8);
    memcpy(dst + bytes - 8, src + bytes - 8, 8);
  } else if (bytes >= 4) {
    memcpy(dst, src, 4);
    memcpy(dst + bytes - 4, src + bytes - 4, 4);
  } else {
    for (size_t i = 0; i < bytes; i++) dst[i] = src[i];
  }
}

/* The input coordinate a tap at padded position `padded` reads along one dimension of
 * `extent` pixels (padding before it), or -1 in the padding; as the indirection table's. */
static inline ptrdiff_t input_coordinate(size_t padded, size_t padding, size_t extent) {
  return padded < padding || padded - padding >= extent ? -1 : (ptrdiff_t)(padded - padding);
}

/* Copies the taps of `rows` output pixels for one group into tile rows of k bytes, moving
 * qint8 to uint8 (x ^ 0x80 = x + 128) on the way. Each tap's input pixel comes from the
 * geometry, not from the indirection table: the table holds 8 bytes per tap, far more than the
 * pixels a gathered convolution (few channels per tap) reads, and streaming it from memory
 * cost more than the copies. A kernel row whose taps' channels lie back to back in the input
 * (ungrouped, densely stored, dilation 1, the whole row inside the image) is one copy: a 7x7
 * layer on 3 channels copies 7 runs of 21 bytes per pixel, not 49 of 3; a kernel row above or
 * below the image is the zero point throughout. */
static void gather_tile(const gather_context* ctx, size_t first, size_t rows, size_t group,
                        uint8_t* tile) {
  const qeq_conv* c = ctx->conv;
  const qeq_conv_geometry* geo = &c->geometry;
  const size_t kh = geo->kernel_height, kw = geo->kernel_width;
  const size_t run = c->group_input_channels, channel = group * run;
  const size_t row_bytes = kw * run;
  const size_t stride = ctx->input_stride, width = ctx->width;
  const int dense = kw == 1 || (geo->dilation_width == 1 && stride == run);
  size_t ox = first % ctx->output_width;
  size_t oy = first / ctx->output_width % ctx->output_height;
  size_t n = first / ctx->output_width / ctx->output_height;
  for (size_t r = 0; r < rows; r++) {
    uint8_t* dst = tile + r * c->k;
    const size_t x0 = ox * geo->stride_width;
    const size_t x_last = x0 + (kw - 1) * geo->dilation_width;
    const int row_inside = x0 >= geo->padding_width && x_last - geo->padding_width < width;
    for (size_t ky = 0; ky < kh; ky++, dst += row_bytes) {
      const ptrdiff_t iy = input_coordinate(oy * geo->stride_height + ky * geo->dilation_height,
                                            geo->padding_height, ctx->height);
      if (iy < 0) {
        memset(dst, c->input_zero_byte, row_bytes);
        continue;
      }
      const uint8_t* line = ctx->input + (n * ctx->height + (size_t)iy) * width * stride + channel;
      if (dense && row_inside) {
        copy_run(dst, line + (x0 - geo->padding_width) * stride, row_bytes);
        continue;
      }
      for (size_t kx = 0; kx < kw; kx++) {
        const ptrdiff_t ix =
            input_coordinate(x0 + kx * geo->dilation_width, geo->padding_width, width);
        copy_run(dst + kx * run, ix < 0 ? ctx->zero_row + channel : line + (size_t)ix * stride,
                 run);
      }
    }
    if (c->input_is_signed) {
      for (size_t i = 0; i < c->k; i++) tile[r * c->k + i] ^= 0x80;
    }
    if (++ox == ctx->output_width) {
      ox = 0;
      if (++oy == ctx->output_height) oy = 0, n++;
    }
  }
}

static void gather_task(void* opaque, size_t task) {
  const gather_context* ctx = opaque;
  const qeq_conv* c = ctx->conv;
  const qeq_gemm* first_gemm = c->group_gemms[0];
  const size_t mr = first_gemm->variant->mr;
  qeq_qu8s8_gemm_ukernel_fn* kernel = (qeq_qu8s8_gemm_ukernel_fn*)first_gemm->variant->fn;
  uint8_t* tile = ctx->tiles_buffer + task * ctx->tile_bytes;
  int32_t* row_sums = (int32_t*)(tile + ctx->tile_bytes - mr * sizeof(int32_t));
  const size_t tile_begin = ctx->tiles * task / ctx->tasks;
  const size_t tile_end = ctx->tiles * (task + 1) / ctx->tasks;
  for (size_t t = tile_begin; t < tile_end; t++) {
    const size_t first = t * mr;
    const size_t rows = ctx->output_pixels - first < mr ? ctx->output_pixels - first : mr;
    for (size_t g = 0; g < c->groups; g++) {
      const qeq_gemm* gemm = c->group_gemms[g];
      gather_tile(ctx, first, rows, g, tile);
      if (gemm->needs_row_sums) qeq_gemm_row_sums(rows, c->k, tile, c->k, row_sums);
      kernel(
          rows, gemm->n, c->k, tile, c->k, gemm->needs_row_sums ? row_sums : NULL, gemm->packed,
          ctx->output + first * ctx->output_stride + g * c->group_output_channels * c->output_bytes,
          ctx->output_stride, &gemm->params);
    }
  }
}

/* Per tile of MR output pixels: the pointers of its taps (tap-major, as the indirect kernel
 * reads them) from the table, then one indirect GEMM call per group, the group's channels
 * selected by the kernel's a_offset. The pointer block is per task, so concurrent runs and
 * tasks share only the read-only table. */
static void indirect_task(void* opaque, size_t task) {
  const gather_context* ctx = opaque;
  const qeq_conv* c = ctx->conv;
  const size_t mr = c->group_gemms[0]->variant->mr;
  const size_t taps = c->geometry.kernel_height * c->geometry.kernel_width;
  qeq_qu8s8_igemm_ukernel_fn* kernel = (qeq_qu8s8_igemm_ukernel_fn*)c->group_gemms[0]->variant->fn;
  const uint8_t** pointers = (const uint8_t**)(void*)(ctx->tiles_buffer + task * ctx->tile_bytes);
  const size_t tile_begin = ctx->tiles * task / ctx->tasks;
  const size_t tile_end = ctx->tiles * (task + 1) / ctx->tasks;
  for (size_t t = tile_begin; t < tile_end; t++) {
    const size_t first = t * mr;
    const size_t rows = ctx->output_pixels - first < mr ? ctx->output_pixels - first : mr;
    for (size_t r = 0; r < rows; r++) {
      const size_t* offsets = ctx->table + (first + r) * taps;
      for (size_t tap = 0; tap < taps; tap++) {
        pointers[tap * rows + r] =
            offsets[tap] == QEQ_CONV_PADDING_TAP ? ctx->zero_row : ctx->input + offsets[tap];
      }
    }
    for (size_t g = 0; g < c->groups; g++) {
      const qeq_gemm* gemm = c->group_gemms[g];
      kernel(
          rows, gemm->n, c->group_input_channels, taps, pointers, g * c->group_input_channels,
          gemm->packed,
          ctx->output + first * ctx->output_stride + g * c->group_output_channels * c->output_bytes,
          ctx->output_stride, &gemm->params);
    }
  }
}

/* What a table-driven run allocates: `tasks` scratch buffers of task_bytes (64-byte aligned),
 * the zero-point row padding taps read, and the indirection table (indirect runs only:
 * gathered ones find their taps from the geometry). */
typedef struct run_resources {
  uint8_t* buffers;
  uint8_t* zero_row;
  const qeq_conv_table* table;
} run_resources;

static qeq_status acquire_resources(const char* fn, const qeq_conv* c, size_t batch, size_t height,
                                    size_t width, const qeq_conv_run_shape* s, size_t tasks,
                                    size_t task_bytes, run_resources* r) {
  const size_t taps = c->geometry.kernel_height * c->geometry.kernel_width;
  r->buffers = tasks <= SIZE_MAX / task_bytes ? aligned_alloc(64, tasks * task_bytes) : NULL;
  r->zero_row = malloc(c->input_channels);
  r->table = NULL;
  if (r->buffers && r->zero_row && c->indirect) {
    r->table = qeq_conv_acquire_table(c, batch, height, width, s->output_height, s->output_width,
                                      s->input_stride);
  }
  if (r->buffers == NULL || r->zero_row == NULL || (c->indirect && r->table == NULL)) {
    free(r->buffers), free(r->zero_row);
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY,
                    "%s: cannot allocate the indirection table of %zu pixels x %zu taps", fn,
                    s->output_pixels, taps);
  }
  memset(r->zero_row, c->input_zero_byte, c->input_channels);
  return QEQ_OK;
}

static void release_resources(const qeq_conv* c, run_resources* r) {
  if (r->table) qeq_conv_release_table(c, r->table);
  free(r->buffers), free(r->zero_row);
}

static qeq_status run_gathered(const char* fn, const qeq_conv* c, size_t batch, size_t height,
                               size_t width, const uint8_t* input, uint8_t* output,
                               const qeq_conv_run_shape* s, struct pthreadpool* pool) {
  const size_t mr = c->group_gemms[0]->variant->mr;
  const size_t taps = c->geometry.kernel_height * c->geometry.kernel_width;
  const size_t tiles = s->output_pixels / mr + (s->output_pixels % mr != 0);
  const size_t tasks = qeq_conv_task_count(tiles, pool);
  /* indirect: mr x taps pointers; else a tile of mr x k bytes, then mr row sums; rounded to
   * cache lines (neither overflows: k and taps were multiplied by the channels at creation) */
  const size_t tile_bytes = c->indirect ? (mr * taps * sizeof(uint8_t*) + 63) / 64 * 64
                                        : (mr * c->k + mr * sizeof(int32_t) + 63) / 64 * 64;
  run_resources r;
  const qeq_status status =
      acquire_resources(fn, c, batch, height, width, s, tasks, tile_bytes, &r);
  if (status != QEQ_OK) return status;
  gather_context ctx = {c,
                        input,
                        r.table ? r.table->offsets : NULL,
                        r.zero_row,
                        output,
                        s->output_stride,
                        s->output_pixels,
                        tiles,
                        tasks,
                        r.buffers,
                        tile_bytes,
                        height,
                        width,
                        s->input_stride,
                        s->output_height,
                        s->output_width};
  pthreadpool_parallelize_1d(pool, c->indirect ? indirect_task : gather_task, &ctx, tasks, 0);
  release_resources(c, &r);
  return QEQ_OK;
}

qeq_status qeq_conv_run(const qeq_conv* conv, size_t batch, size_t height, size_t width,
                        const void* input, size_t input_pixel_stride_bytes, void* output,
                        size_t output_pixel_stride_bytes, struct pthreadpool* pool) {
  static const char fn[] = "qeq_conv_run";
  qeq_conv_run_shape s;
  const qeq_status status =
      check_run(fn, conv, batch, height, width, input, input_pixel_stride_bytes, output,
                output_pixel_stride_bytes, &s);
  if (status != QEQ_OK) return status;
  if (conv->direct) {
    return qeq_gemm_run_prechecked(fn, conv->group_gemms[0], s.pixels, input, s.input_stride,
                                   output, s.output_stride, pool);
  }
  if (conv->depthwise) {
    return qeq_conv_run_depthwise(fn, conv, batch, height, width, input, output, &s, pool);
  }
  return run_gathered(fn, conv, batch, height, width, input, output, &s, pool);
}
