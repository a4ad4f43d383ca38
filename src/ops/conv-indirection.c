/* Builds the table of input pixel offsets each output pixel's taps read, and keeps the last
 * one per convolution so that runs on the same input shape reuse it. */
#include "src/ops/conv-indirection.h"

#include <stdint.h>
#include <stdlib.h>

/* The input coordinate a tap reads along one dimension, or -1 in the padding. */
static ptrdiff_t input_coordinate(size_t out, size_t tap, size_t stride, size_t padding,
                                  size_t dilation, size_t extent) {
  const size_t padded = out * stride + tap * dilation;
  if (padded < padding || padded - padding >= extent) return -1;
  return (ptrdiff_t)(padded - padding);
}

void qeq_conv_build_indirection(const qeq_conv_geometry* geo, size_t batch, size_t height,
                                size_t width, size_t output_height, size_t output_width,
                                size_t pixel_stride_bytes, size_t* table) {
  const size_t kh = geo->kernel_height, kw = geo->kernel_width;
  for (size_t n = 0; n < batch; n++) {
    for (size_t oy = 0; oy < output_height; oy++) {
      for (size_t ox = 0; ox < output_width; ox++) {
        for (size_t ky = 0; ky < kh; ky++) {
          const ptrdiff_t iy = input_coordinate(oy, ky, geo->stride_height, geo->padding_height,
                                                geo->dilation_height, height);
          for (size_t kx = 0; kx < kw; kx++, table++) {
            const ptrdiff_t ix = input_coordinate(ox, kx, geo->stride_width, geo->padding_width,
                                                  geo->dilation_width, width);
            *table = iy < 0 || ix < 0
                         ? QEQ_CONV_PADDING_TAP
                         : ((n * height + (size_t)iy) * width + (size_t)ix) * pixel_stride_bytes;
          }
        }
      }
    }
  }
}

static int table_matches(const qeq_conv_table* t, size_t batch, size_t height, size_t width,
                         size_t pixel_stride_bytes) {
  return t && t->batch == batch && t->height == height && t->width == width &&
         t->pixel_stride_bytes == pixel_stride_bytes;
}

/* The cache is the only mutable state of a packed convolution; runs take it const. */
static qeq_conv* mutable_conv(const qeq_conv* conv) {
  return (qeq_conv*)(uintptr_t)conv;
}

const qeq_conv_table* qeq_conv_acquire_table(const qeq_conv* conv, size_t batch, size_t height,
                                             size_t width, size_t output_height,
                                             size_t output_width, size_t pixel_stride_bytes) {
  qeq_conv* c = mutable_conv(conv);
  pthread_mutex_lock(&c->table_lock);
  qeq_conv_table* cached = c->table;
  if (table_matches(cached, batch, height, width, pixel_stride_bytes)) {
    cached->refs++;
    pthread_mutex_unlock(&c->table_lock);
    return cached;
  }
  pthread_mutex_unlock(&c->table_lock);

  const size_t taps = c->geometry.kernel_height * c->geometry.kernel_width;
  const size_t pixels = batch * output_height * output_width; /* checked by the caller */
  if (pixels > (SIZE_MAX - sizeof(qeq_conv_table)) / sizeof(size_t) / taps) return NULL;
  qeq_conv_table* fresh = malloc(sizeof *fresh + pixels * taps * sizeof(size_t));
  if (fresh == NULL) return NULL;
  fresh->batch = batch, fresh->height = height, fresh->width = width;
  fresh->pixel_stride_bytes = pixel_stride_bytes;
  qeq_conv_build_indirection(&c->geometry, batch, height, width, output_height, output_width,
                             pixel_stride_bytes, fresh->offsets);

  pthread_mutex_lock(&c->table_lock);
  qeq_conv_table* old = c->table;
  fresh->refs = 2; /* the cache and this run */
  c->table = fresh;
  if (old && --old->refs == 0) free(old);
  pthread_mutex_unlock(&c->table_lock);
  return fresh;
}

void qeq_conv_release_table(const qeq_conv* conv, const qeq_conv_table* table) {
  qeq_conv* c = mutable_conv(conv);
  qeq_conv_table* t = (qeq_conv_table*)(uintptr_t)table;
  pthread_mutex_lock(&c->table_lock);
  const int last = --t->refs == 0;
  pthread_mutex_unlock(&c->table_lock);
  if (last) free(t);
}
