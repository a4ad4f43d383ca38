/* Pooling windows as PyTorch 1.13 computes them (aten/src/ATen/native/Pool.h's rules). */
#include "src/ops/qops-pool-window.h"

#include "src/base/error.h"

#define QEQ_POOL_LIMIT ((size_t)1 << 31)

qeq_pool2d_params qeq_pool2d_params_make(size_t kernel_h, size_t kernel_w) {
  qeq_pool2d_params p = {kernel_h, kernel_w, kernel_h, kernel_w, 0, 0, 1, 1, 0, 1, 0};
  return p;
}

/* PyTorch's pooling_output_shape: floor or ceil of the window count, and in ceil mode no
 * window may start inside the right padding. */
static int64_t output_1d(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                         int ceil_mode) {
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) out--;
  return out;
}

static qeq_status check_axis(const char* fn, const char* axis, size_t in, size_t kernel,
                             size_t stride, size_t pad, size_t dilation, int ceil_mode,
                             size_t* out) {
  if (in >= QEQ_POOL_LIMIT || kernel >= QEQ_POOL_LIMIT || stride >= QEQ_POOL_LIMIT ||
      pad >= QEQ_POOL_LIMIT || dilation >= QEQ_POOL_LIMIT) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: a size or parameter along %s is 2^31 or more", fn,
                    axis);
  }
  if (kernel == 0 || stride == 0 || dilation == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: params kernel_%s %zu, stride_%s %zu, dilation_%s %zu must be >= 1", fn,
                    axis, kernel, axis, stride, axis, dilation);
  }
  if (pad > kernel / 2) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: params padding_%s %zu is more than half of kernel_%s %zu", fn, axis, pad,
                    axis, kernel);
  }
  const int64_t o = output_1d((int64_t)in, (int64_t)kernel, (int64_t)stride, (int64_t)pad,
                              (int64_t)dilation, ceil_mode);
  if (o < 1) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: the output %s would be %lld: input %zu too small for the window", fn, axis,
                    (long long)o, in);
  }
  *out = (size_t)o;
  return QEQ_OK;
}

qeq_status qeq_pool2d_check(const char* fn, const qeq_pool2d_params* p, int average, size_t in_h,
                            size_t in_w, size_t* out_h, size_t* out_w) {
  if (p == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: params is NULL", fn);
  if (p->ceil_mode != 0 && p->ceil_mode != 1) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: params->ceil_mode %d is not 0 or 1", fn,
                    p->ceil_mode);
  }
  if (average) {
    if (p->dilation_h != 1 || p->dilation_w != 1) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: params dilation %zu x %zu: average pooling has no dilation (use 1)", fn,
                      p->dilation_h, p->dilation_w);
    }
    if (p->count_include_pad != 0 && p->count_include_pad != 1) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: params->count_include_pad %d is not 0 or 1",
                      fn, p->count_include_pad);
    }
    if (p->divisor_override < 0) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: params->divisor_override %lld must be 0 (none) or positive", fn,
                      (long long)p->divisor_override);
    }
  }
  size_t oh = 0, ow = 0;
  qeq_status status = check_axis(fn, "h", in_h, p->kernel_h, p->stride_h, p->padding_h,
                                 p->dilation_h, p->ceil_mode, &oh);
  if (status == QEQ_OK) {
    status = check_axis(fn, "w", in_w, p->kernel_w, p->stride_w, p->padding_w, p->dilation_w,
                        p->ceil_mode, &ow);
  }
  if (status != QEQ_OK) return status;
  if (p->kernel_h * p->kernel_w > QEQ_POOL_MAX_WINDOW) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED, "%s: a %zu x %zu window is more than 2^22 pixels", fn,
                    p->kernel_h, p->kernel_w);
  }
  *out_h = oh;
  *out_w = ow;
  return QEQ_OK;
}

qeq_status qeq_pool2d_output_size(const qeq_pool2d_params* params, size_t in_h, size_t in_w,
                                  size_t* out_h, size_t* out_w) {
  static const char fn[] = "qeq_pool2d_output_size";
  if (out_h == NULL || out_w == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: out_h or out_w is NULL", fn);
  }
  return qeq_pool2d_check(fn, params, 0, in_h, in_w, out_h, out_w);
}

qeq_window_1d qeq_avg_window(size_t o, size_t in, size_t kernel, size_t stride, size_t padding) {
  /* In padded coordinates (shifted by padding) everything stays unsigned. */
  const size_t start = o * stride, limit = in + 2 * padding;
  const size_t end = start + kernel < limit ? start + kernel : limit;
  qeq_window_1d w;
  w.padded_size = end - start;
  w.begin = start > padding ? start - padding : 0;
  w.end = end - padding < in ? end - padding : in;
  return w;
}

qeq_window_1d qeq_adaptive_window(size_t o, size_t in, size_t out) {
  qeq_window_1d w;
  w.begin = (size_t)((uint64_t)o * in / out);
  w.end = (size_t)(((uint64_t)(o + 1) * in + out - 1) / out);
  w.padded_size = w.end - w.begin;
  return w;
}
