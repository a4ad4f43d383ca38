/* float32 NCHW <-> NHWC: a transpose of the channel axis with the pixel axis, per image. */
#include <stdint.h>

#include <qeq/nhwc.h>

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
