/* NCHW <-> NHWC: a transpose of the channel axis with the pixel axis, per image (float32 here,
 * bytes through the x8_transpose kernels); the 8-bit channel shuffle, a transpose per pixel. */
#include <stdint.h>
#include <string.h>

#include <qeq/nhwc.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"

static qeq_status check(const char* fn, size_t batch, size_t channels, size_t height, size_t width,
                        const float* x, const float* y) {
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (y == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  if (batch == 0 || channels == 0 || height == 0 || width == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: a size is 0 (batch %zu, channels %zu, height %zu, width %zu)", fn, batch,
                    channels, height, width);
  }
  qeq_shape shape;
  const size_t dims[4] = {batch, channels, height, width};
  size_t numel = 0;
  qeq_status status = qeq_shape_init_for(fn, &shape, 4, dims);
  if (status == QEQ_OK) status = qeq_shape_check(fn, &shape, &numel);
  if (status != QEQ_OK) return status;
  if (qeq_ranges_overlap(x, numel * sizeof *x, y, numel * sizeof *y)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y overlaps x", fn);
  }
  return QEQ_OK;
}

/* Per image: dst[p * channels + c] = src[c * pixels + p] (to_nhwc) or the reverse. */
static void transpose(size_t batch, size_t channels, size_t pixels, const float* x, float* y,
                      int to_nhwc) {
  for (size_t n = 0; n < batch; n++, x += channels * pixels, y += channels * pixels) {
    for (size_t c = 0; c < channels; c++) {
      for (size_t p = 0; p < pixels; p++) {
        if (to_nhwc) {
          y[p * channels + c] = x[c * pixels + p];
        } else {
          y[c * pixels + p] = x[p * channels + c];
        }
      }
    }
  }
}

qeq_status qeq_nchw_to_nhwc_f32(size_t batch, size_t channels, size_t height, size_t width,
                                const float* x, float* y) {
  static const char fn[] = "qeq_nchw_to_nhwc_f32";
  const qeq_status status = check(fn, batch, channels, height, width, x, y);
  if (status == QEQ_OK) transpose(batch, channels, height * width, x, y, 1);
  return status;
}

qeq_status qeq_nhwc_to_nchw_f32(size_t batch, size_t channels, size_t height, size_t width,
                                const float* x, float* y) {
  static const char fn[] = "qeq_nhwc_to_nchw_f32";
  const qeq_status status = check(fn, batch, channels, height, width, x, y);
  if (status == QEQ_OK) transpose(batch, channels, height * width, x, y, 0);
  return status;
}

/* Byte tensors: every size >= 1, their product within size_t and PTRDIFF_MAX bytes, y apart
 * from x. names[i] names sizes[i] in the messages. */
static qeq_status check_x8(const char* fn, size_t count, const size_t* sizes,
                           const char* const* names, const void* x, const void* y, size_t* bytes) {
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (y == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  for (size_t i = 0; i < count; i++) {
    if (sizes[i] == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is 0", fn, names[i]);
  }
  size_t total = 1;
  for (size_t i = 0; i < count; i++) {
    if (total > QEQ_MAX_BYTES / sizes[i]) {
      return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW,
                      "%s: the byte count overflows PTRDIFF_MAX at %s (%zu)", fn, names[i],
                      sizes[i]);
    }
    total *= sizes[i];
  }
  if (qeq_ranges_overlap(x, total, y, total)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y overlaps x", fn);
  }
  *bytes = total;
  return QEQ_OK;
}

static const char* const layout_names[4] = {"batch", "channels", "height", "width"};

/* Per image, rows x cols bytes transposed: rows = channels for to_nhwc, else pixels. */
static qeq_status transpose_x8(const char* fn, size_t batch, size_t channels, size_t height,
                               size_t width, const void* x, void* y, int to_nhwc) {
  const size_t sizes[4] = {batch, channels, height, width};
  size_t bytes = 0;
  const qeq_status status = check_x8(fn, 4, sizes, layout_names, x, y, &bytes);
  if (status != QEQ_OK) return status;
  qeq_x8_transpose_ukernel_fn* kernel = QEQ_DISPATCH(x8_transpose);
  const size_t pixels = height * width, image = channels * pixels;
  const size_t rows = to_nhwc ? channels : pixels, cols = to_nhwc ? pixels : channels;
  const uint8_t* px = (const uint8_t*)x;
  uint8_t* py = (uint8_t*)y;
  for (size_t n = 0; n < batch; n++) {
    kernel(rows, cols, px + n * image, cols, py + n * image, rows);
  }
  return QEQ_OK;
}

qeq_status qeq_nchw_to_nhwc_x8(size_t batch, size_t channels, size_t height, size_t width,
                               const void* x, void* y) {
  return transpose_x8("qeq_nchw_to_nhwc_x8", batch, channels, height, width, x, y, 1);
}

qeq_status qeq_nhwc_to_nchw_x8(size_t batch, size_t channels, size_t height, size_t width,
                               const void* x, void* y) {
  return transpose_x8("qeq_nhwc_to_nchw_x8", batch, channels, height, width, x, y, 0);
}

qeq_status qeq_x8_channel_shuffle(size_t pixels, size_t groups, size_t channels_per_group,
                                  const void* x, void* y) {
  static const char fn[] = "qeq_x8_channel_shuffle";
  static const char* const names[3] = {"pixels", "groups", "channels_per_group"};
  const size_t sizes[3] = {pixels, groups, channels_per_group};
  size_t bytes = 0;
  const qeq_status status = check_x8(fn, 3, sizes, names, x, y, &bytes);
  if (status != QEQ_OK) return status;
  const size_t channels = groups * channels_per_group;
  const uint8_t* px = (const uint8_t*)x;
  uint8_t* py = (uint8_t*)y;
  if (groups == 1 || channels_per_group == 1) {
    memcpy(py, px, bytes); /* a 1 x k or k x 1 matrix is its own transpose */
  } else if (groups == 2) {
    qeq_x8_zip2_ukernel_fn* zip = QEQ_DISPATCH(x8_zip2);
    for (size_t p = 0; p < pixels; p++, px += channels, py += channels) {
      zip(channels_per_group, px, px + channels_per_group, py);
    }
  } else {
    qeq_x8_transpose_ukernel_fn* kernel = QEQ_DISPATCH(x8_transpose);
    for (size_t p = 0; p < pixels; p++, px += channels, py += channels) {
      kernel(groups, channels_per_group, px, channels_per_group, py, groups);
    }
  }
  return QEQ_OK;
}
