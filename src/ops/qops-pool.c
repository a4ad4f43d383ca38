/* Max, average and adaptive average pooling over NHWC 8-bit tensors: per output pixel, a list
 * of the input pixels of its window for the family's kernel. */
#include <math.h>
#include <qeq/qops.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/qops-pool-window.h"
#include "src/ops/qops-tensor.h"

/* The checks every pool shares: x, y, y's sizes and qparams, no overlap. */
static qeq_status check_pool_tensors(const char* fn, const qeq_q8_tensor* x, const void* x_data,
                                     const qeq_q8_tensor* y, const void* y_data, qeq_q8_view* xv,
                                     qeq_q8_view* yv) {
  qeq_status status = qeq_q8_tensor_check(fn, "x", x, x_data, xv);
  if (status == QEQ_OK) status = qeq_q8_tensor_check(fn, "y", y, y_data, yv);
  if (status == QEQ_OK) status = qeq_q8_check_sizes(fn, "x", x, "y", y, 1, 0, 0, 1);
  if (status == QEQ_OK) status = qeq_q8_check_same_qparams(fn, x, y);
  if (status != QEQ_OK) return status;
  if (x->h == 0 || x->w == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x->h %zu or x->w %zu is 0", fn, x->h, x->w);
  }
  if (qeq_ranges_overlap(x_data, xv->bytes, y_data, yv->bytes)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y_data overlaps x_data", fn);
  }
  return QEQ_OK;
}

static qeq_status check_output_size(const char* fn, const qeq_q8_tensor* y, size_t oh, size_t ow) {
  if (y->h != oh || y->w != ow) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: y is %zu x %zu, the pooling gives %zu x %zu", fn,
                    y->h, y->w, oh, ow);
  }
  return QEQ_OK;
}

static const uint8_t** alloc_rows(const char* fn, size_t count) {
  const uint8_t** rows = malloc(count * sizeof *rows); /* count <= 2^22 + a row: no overflow */
  if (rows == NULL) {
    qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: no memory for %zu window pointers", fn, count);
  }
  return rows;
}

qeq_status qeq_q8_max_pool2d(const qeq_q8_tensor* x, const void* x_data,
                             const qeq_pool2d_params* params, const qeq_q8_tensor* y,
                             void* y_data) {
  static const char fn[] = "qeq_q8_max_pool2d";
  qeq_q8_view xv, yv;
  size_t oh = 0, ow = 0;
  qeq_status status = check_pool_tensors(fn, x, x_data, y, y_data, &xv, &yv);
  if (status == QEQ_OK) status = qeq_pool2d_check(fn, params, 0, x->h, x->w, &oh, &ow);
  if (status == QEQ_OK) status = check_output_size(fn, y, oh, ow);
  if (status != QEQ_OK) return status;
  if (yv.bytes == 0) return QEQ_OK;
  const size_t taps = params->kernel_h * params->kernel_w;
  /* Window pointers, then the taps' byte offsets from a window's first pixel (for windows
   * wholly inside the image, which need no clipping). */
  const uint8_t** rows =
      alloc_rows(fn, taps + (taps * sizeof(size_t) + sizeof(void*) - 1) / sizeof(void*));
  if (rows == NULL) return QEQ_ERROR_OUT_OF_MEMORY;
  size_t* offsets = (size_t*)(void*)(rows + taps);
  for (size_t ki = 0, t = 0; ki < params->kernel_h; ki++) {
    for (size_t kj = 0; kj < params->kernel_w; kj++, t++) {
      offsets[t] = (ki * params->dilation_h * x->w + kj * params->dilation_w) * xv.stride;
    }
  }
  const size_t span_h = (params->kernel_h - 1) * params->dilation_h;
  const size_t span_w = (params->kernel_w - 1) * params->dilation_w;
  qeq_q8_maxpool_ukernel_fn* kernel = QEQ_DISPATCH(q8_maxpool);
  const uint8_t* in = (const uint8_t*)x_data;
  for (size_t n = 0; n < x->n; n++) {
    for (size_t i = 0; i < oh; i++) {
      const size_t top = i * params->stride_h; /* padded coordinates */
      const int rows_inside = top >= params->padding_h && top + span_h - params->padding_h < x->h;
      for (size_t j = 0; j < ow; j++) {
        const size_t left = j * params->stride_w;
        uint8_t* out = (uint8_t*)y_data + ((n * oh + i) * ow + j) * yv.stride;
        if (rows_inside && left >= params->padding_w && left + span_w - params->padding_w < x->w) {
          const uint8_t* first =
              in +
              ((n * x->h + top - params->padding_h) * x->w + left - params->padding_w) * xv.stride;
          for (size_t t = 0; t < taps; t++) rows[t] = first + offsets[t];
          kernel(taps, x->c, rows, xv.is_signed, out);
          continue;
        }
        size_t count = 0;
        for (size_t ki = 0; ki < params->kernel_h; ki++) {
          /* Padded coordinates: row = i * stride + ki * dilation - padding when inside. */
          const size_t hp = top + ki * params->dilation_h;
          if (hp < params->padding_h || hp - params->padding_h >= x->h) continue;
          for (size_t kj = 0; kj < params->kernel_w; kj++) {
            const size_t wp = left + kj * params->dilation_w;
            if (wp < params->padding_w || wp - params->padding_w >= x->w) continue;
            const size_t pixel =
                (n * x->h + hp - params->padding_h) * x->w + wp - params->padding_w;
            rows[count++] = in + pixel * xv.stride;
          }
        }
        if (count == 0) {
          /* Dilation can leave a window only padding: PyTorch writes the dtype's minimum. */
          memset(out, (uint8_t)xv.qmin, x->c);
        } else {
          kernel(count, x->c, rows, xv.is_signed, out);
        }
      }
    }
  }
  free(rows);
  return QEQ_OK;
}

/* The multiplier PyTorch's own average pools use: scale / scale / divisor, in double. */
static float onednn_multiplier(int64_t divisor) {
  return (float)(1.0 / (double)divisor);
}

/* QNNPACK's average pooling multiplier (pytorch_qnnp_create_average_pooling2d_nhwc_q8 with the
 * input's scale on both sides, as PyTorch calls it): s / (s * window), each step in float. */
static float qnnpack_multiplier(float scale, size_t window) {
  const float denominator = scale * (float)window;
  return scale / denominator;
}

/* Sums windows [hw.begin, hw.end) x [ww.begin, ww.end) of image n and requantizes with
 * `multiplier` (either engine's: the windows' padding adds zero to the sum of x - z). */
static void average_window(const qeq_q8_tensor* x, const qeq_q8_view* xv, const uint8_t* in,
                           size_t n, qeq_window_1d hw, qeq_window_1d ww, float multiplier,
                           const uint8_t** rows, qeq_q8_avgpool_ukernel_fn* kernel, uint8_t* out) {
  size_t count = 0;
  for (size_t h = hw.begin; h < hw.end; h++) {
    for (size_t w = ww.begin; w < ww.end; w++) {
      rows[count++] = in + ((n * x->h + h) * x->w + w) * xv->stride;
    }
  }
  qeq_q8_avgpool_params p;
  p.bias = -x->zero_point * (int32_t)count;
  p.out = qeq_q8_quant_params_make(multiplier, x->zero_point, xv->qmin, xv->qmax);
  kernel(count, x->c, rows, xv->is_signed, &p, out);
}

static qeq_status check_engine(const char* fn, qeq_qops_engine engine) {
  if (engine == QEQ_QOPS_ENGINE_ONEDNN || engine == QEQ_QOPS_ENGINE_QNNPACK) return QEQ_OK;
  return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: engine %d is not a qeq_qops_engine", fn,
                  (int)engine);
}

/* What QNNPACK's average pooling refuses (PyTorch raises): a 1 x 1 window, a scale that is not
 * a normal float. */
static qeq_status check_qnnpack_pool(const char* fn, const qeq_q8_tensor* x, size_t kernel_h,
                                     size_t kernel_w) {
  if (kernel_h * kernel_w == 1) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: QNNPACK's average pooling refuses a 1 x 1 window (PyTorch raises)", fn);
  }
  if (!isnormal(x->scale)) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: QNNPACK's average pooling takes a normal float scale only (%g)", fn,
                    (double)x->scale);
  }
  return QEQ_OK;
}

static qeq_status avg_pool2d(const char* fn, const qeq_q8_tensor* x, const void* x_data,
                             const qeq_pool2d_params* params, const qeq_q8_tensor* y, void* y_data,
                             qeq_qops_engine engine) {
  qeq_q8_view xv, yv;
  size_t oh = 0, ow = 0;
  qeq_status status = check_engine(fn, engine);
  if (status == QEQ_OK) status = check_pool_tensors(fn, x, x_data, y, y_data, &xv, &yv);
  if (status == QEQ_OK) status = qeq_pool2d_check(fn, params, 1, x->h, x->w, &oh, &ow);
  if (status == QEQ_OK) status = check_output_size(fn, y, oh, ow);
  if (status != QEQ_OK) return status;
  /* PyTorch's qnnpack engine hands quint8 pools without ceil_mode to QNNPACK. */
  const int qnnpack =
      engine == QEQ_QOPS_ENGINE_QNNPACK && x->dtype == QEQ_DTYPE_QUINT8 && !params->ceil_mode;
  if (qnnpack) {
    status = check_qnnpack_pool(fn, x, params->kernel_h, params->kernel_w);
    if (status != QEQ_OK) return status;
  }
  const float qnnpack_mult =
      qnnpack ? qnnpack_multiplier(x->scale, params->kernel_h * params->kernel_w) : 0.0f;
  if (yv.bytes == 0) return QEQ_OK;
  const uint8_t** rows = alloc_rows(fn, params->kernel_h * params->kernel_w);
  if (rows == NULL) return QEQ_ERROR_OUT_OF_MEMORY;
  qeq_q8_avgpool_ukernel_fn* kernel = QEQ_DISPATCH(q8_avgpool);
  for (size_t n = 0; n < x->n; n++) {
    for (size_t i = 0; i < oh; i++) {
      const qeq_window_1d hw =
          qeq_avg_window(i, x->h, params->kernel_h, params->stride_h, params->padding_h);
      for (size_t j = 0; j < ow; j++) {
        const qeq_window_1d ww =
            qeq_avg_window(j, x->w, params->kernel_w, params->stride_w, params->padding_w);
        float multiplier = qnnpack_mult; /* QNNPACK: the whole window, padding included */
        if (!qnnpack) {
          int64_t divisor = params->divisor_override;
          if (divisor == 0) {
            divisor = params->count_include_pad
                          ? (int64_t)(hw.padded_size * ww.padded_size)
                          : (int64_t)((hw.end - hw.begin) * (ww.end - ww.begin));
          }
          multiplier = onednn_multiplier(divisor);
        }
        average_window(x, &xv, (const uint8_t*)x_data, n, hw, ww, multiplier, rows, kernel,
                       (uint8_t*)y_data + ((n * oh + i) * ow + j) * yv.stride);
      }
    }
  }
  free(rows);
  return QEQ_OK;
}

qeq_status qeq_q8_avg_pool2d(const qeq_q8_tensor* x, const void* x_data,
                             const qeq_pool2d_params* params, const qeq_q8_tensor* y,
                             void* y_data) {
  return avg_pool2d("qeq_q8_avg_pool2d", x, x_data, params, y, y_data, QEQ_QOPS_ENGINE_ONEDNN);
}

qeq_status qeq_q8_avg_pool2d_ex(const qeq_q8_tensor* x, const void* x_data,
                                const qeq_pool2d_params* params, const qeq_q8_tensor* y,
                                void* y_data, qeq_qops_engine engine) {
  return avg_pool2d("qeq_q8_avg_pool2d_ex", x, x_data, params, y, y_data, engine);
}

static qeq_status adaptive_avg_pool2d(const char* fn, const qeq_q8_tensor* x, const void* x_data,
                                      const qeq_q8_tensor* y, void* y_data,
                                      qeq_qops_engine engine) {
  qeq_q8_view xv, yv;
  qeq_status status = check_engine(fn, engine);
  if (status == QEQ_OK) status = check_pool_tensors(fn, x, x_data, y, y_data, &xv, &yv);
  if (status != QEQ_OK) return status;
  if (y->h == 0 || y->w == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y->h %zu or y->w %zu is 0", fn, y->h, y->w);
  }
  /* PyTorch's qnnpack engine: quint8 with evenly dividing sizes other than the identity is an
   * average pool with kernel = stride = in / out (its window is never 1 x 1). */
  if (engine == QEQ_QOPS_ENGINE_QNNPACK && x->dtype == QEQ_DTYPE_QUINT8 && x->h % y->h == 0 &&
      x->w % y->w == 0 && !(x->h == y->h && x->w == y->w)) {
    qeq_pool2d_params params = qeq_pool2d_params_make(x->h / y->h, x->w / y->w);
    params.count_include_pad = 0; /* as PyTorch passes it; QNNPACK ignores it, no padding */
    return avg_pool2d(fn, x, x_data, &params, y, y_data, engine);
  }
  const size_t limit = (size_t)1 << 31; /* keeps o * in of the window bounds in 64 bits */
  if (x->h >= limit || x->w >= limit || y->h >= limit || y->w >= limit) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: x or y has h or w of 2^31 or more", fn);
  }
  /* The largest window: ceil(in / out) + 1 rows (or in when out is 1) per axis. */
  const size_t max_h = x->h / y->h + 2 < x->h ? x->h / y->h + 2 : x->h;
  const size_t max_w = x->w / y->w + 2 < x->w ? x->w / y->w + 2 : x->w;
  if (max_h * max_w > QEQ_POOL_MAX_WINDOW) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED, "%s: windows of up to %zu x %zu pixels: over 2^22", fn,
                    max_h, max_w);
  }
  if (yv.bytes == 0) return QEQ_OK;
  const uint8_t** rows = alloc_rows(fn, max_h * max_w);
  if (rows == NULL) return QEQ_ERROR_OUT_OF_MEMORY;
  qeq_q8_avgpool_ukernel_fn* kernel = QEQ_DISPATCH(q8_avgpool);
  for (size_t n = 0; n < x->n; n++) {
    for (size_t i = 0; i < y->h; i++) {
      const qeq_window_1d hw = qeq_adaptive_window(i, x->h, y->h);
      for (size_t j = 0; j < y->w; j++) {
        const qeq_window_1d ww = qeq_adaptive_window(j, x->w, y->w);
        const int64_t divisor = (int64_t)(hw.padded_size * ww.padded_size);
        average_window(x, &xv, (const uint8_t*)x_data, n, hw, ww, onednn_multiplier(divisor), rows,
                       kernel, (uint8_t*)y_data + ((n * y->h + i) * y->w + j) * yv.stride);
      }
    }
  }
  free(rows);
  return QEQ_OK;
}

qeq_status qeq_q8_adaptive_avg_pool2d(const qeq_q8_tensor* x, const void* x_data,
                                      const qeq_q8_tensor* y, void* y_data) {
  return adaptive_avg_pool2d("qeq_q8_adaptive_avg_pool2d", x, x_data, y, y_data,
                             QEQ_QOPS_ENGINE_ONEDNN);
}

qeq_status qeq_q8_adaptive_avg_pool2d_ex(const qeq_q8_tensor* x, const void* x_data,
                                         const qeq_q8_tensor* y, void* y_data,
                                         qeq_qops_engine engine) {
  return adaptive_avg_pool2d("qeq_q8_adaptive_avg_pool2d_ex", x, x_data, y, y_data, engine);
}
