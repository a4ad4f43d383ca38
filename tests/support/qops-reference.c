/* Reference quantized ops: PyTorch 1.13's formulas one element at a time (see the header). */
#include "tests/support/qops-reference.h"

#include <math.h>

static size_t stride_of(const qeq_q8_tensor* t) {
  return t->pixel_stride_bytes ? t->pixel_stride_bytes : t->c;
}

int32_t ref_q8_get(const qeq_q8_tensor* t, const void* data, size_t pixel, size_t channel) {
  const size_t at = pixel * stride_of(t) + channel;
  return t->dtype == QEQ_DTYPE_QINT8 ? ((const int8_t*)data)[at] : ((const uint8_t*)data)[at];
}

void ref_q8_set(const qeq_q8_tensor* t, void* data, size_t pixel, size_t channel, int32_t q) {
  const size_t at = pixel * stride_of(t) + channel;
  if (t->dtype == QEQ_DTYPE_QINT8) {
    ((int8_t*)data)[at] = (int8_t)q;
  } else {
    ((uint8_t*)data)[at] = (uint8_t)q;
  }
}

static double clamp_d(double v, double lo, double hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

int32_t ref_q8_quantize(float v, const qeq_q8_tensor* t) {
  const float inv = 1.0f / t->scale;
  const float scaled = v * inv;
  /* rint of a float is exact in double; round first, then clamp (PyTorch's order). */
  const double q = rint((double)scaled) + t->zero_point;
  const double lo = t->dtype == QEQ_DTYPE_QINT8 ? -128 : 0, hi = lo + 255;
  return (int32_t)clamp_d(q, lo, hi);
}

/* PyTorch's vectorised dequantization in add and cat, fma(q, s, f32(s * -z)): q * s and its
 * sum with the float offset are exact in double, so one rounding gives the fused result. */
static float dequantize(const qeq_q8_tensor* t, int32_t q) {
  const float offset = t->scale * (float)(-t->zero_point);
  return (float)((double)q * (double)t->scale + (double)offset);
}

static size_t pixels_of(const qeq_q8_tensor* t) {
  return t->n * t->h * t->w;
}

/* The pixel of t that y's pixel (n, h, w) reads under broadcasting (size-1 axes repeat). */
static size_t broadcast_pixel(const qeq_q8_tensor* t, size_t n, size_t h, size_t w) {
  return ((t->n == 1 ? 0 : n) * t->h + (t->h == 1 ? 0 : h)) * t->w + (t->w == 1 ? 0 : w);
}

void ref_q8_add(const qeq_q8_tensor* a, const void* a_data, const qeq_q8_tensor* b,
                const void* b_data, int relu, const qeq_q8_tensor* y, void* y_data) {
  for (size_t n = 0; n < y->n; n++) {
    for (size_t h = 0; h < y->h; h++) {
      for (size_t w = 0; w < y->w; w++) {
        const size_t pa = broadcast_pixel(a, n, h, w), pb = broadcast_pixel(b, n, h, w);
        const size_t py = (n * y->h + h) * y->w + w;
        for (size_t c = 0; c < y->c; c++) {
          float sum = dequantize(a, ref_q8_get(a, a_data, pa, a->c == 1 ? 0 : c)) +
                      dequantize(b, ref_q8_get(b, b_data, pb, b->c == 1 ? 0 : c));
          if (relu && sum < 0.0f) sum = 0.0f;
          ref_q8_set(y, y_data, py, c, ref_q8_quantize(sum, y));
        }
      }
    }
  }
}

void ref_q8_cat(size_t count, const qeq_q8_tensor* inputs, const void* const* data,
                qeq_cat_axis axis, const qeq_q8_tensor* y, void* y_data) {
  size_t offset = 0; /* along the axis */
  for (size_t i = 0; i < count; i++) {
    const qeq_q8_tensor* x = &inputs[i];
    const size_t n0 = axis == QEQ_CAT_BATCH ? offset : 0, h0 = axis == QEQ_CAT_HEIGHT ? offset : 0;
    const size_t w0 = axis == QEQ_CAT_WIDTH ? offset : 0,
                 c0 = axis == QEQ_CAT_CHANNELS ? offset : 0;
    for (size_t n = 0; n < x->n; n++) {
      for (size_t h = 0; h < x->h; h++) {
        for (size_t w = 0; w < x->w; w++) {
          const size_t px = (n * x->h + h) * x->w + w;
          const size_t py = ((n0 + n) * y->h + h0 + h) * y->w + w0 + w;
          for (size_t c = 0; c < x->c; c++) {
            const float v = dequantize(x, ref_q8_get(x, data[i], px, c));
            ref_q8_set(y, y_data, py, c0 + c, ref_q8_quantize(v, y));
          }
        }
      }
    }
    offset += axis == QEQ_CAT_BATCH    ? x->n
              : axis == QEQ_CAT_HEIGHT ? x->h
              : axis == QEQ_CAT_WIDTH  ? x->w
                                       : x->c;
  }
}

size_t ref_pool_output(size_t in, size_t kernel, size_t stride, size_t pad, size_t dilation,
                       int ceil_mode) {
  const double extent =
      (double)in + 2.0 * (double)pad - (double)dilation * ((double)kernel - 1) - 1;
  const double steps = extent / (double)stride;
  long long out = (long long)(ceil_mode ? ceil(steps) : floor(steps)) + 1;
  /* In ceil mode the last window must start inside the input or the left padding. */
  if (ceil_mode && (out - 1) * (long long)stride >= (long long)(in + pad)) out--;
  return out < 1 ? 0 : (size_t)out;
}

void ref_q8_max_pool2d(const qeq_q8_tensor* x, const void* x_data, const qeq_pool2d_params* p,
                       const qeq_q8_tensor* y, void* y_data) {
  for (size_t n = 0; n < x->n; n++) {
    for (size_t oh = 0; oh < y->h; oh++) {
      for (size_t ow = 0; ow < y->w; ow++) {
        for (size_t c = 0; c < x->c; c++) {
          int32_t best = -1000;
          for (size_t i = 0; i < p->kernel_h; i++) {
            const long long h =
                (long long)(oh * p->stride_h + i * p->dilation_h) - (long long)p->padding_h;
            for (size_t j = 0; j < p->kernel_w; j++) {
              const long long w =
                  (long long)(ow * p->stride_w + j * p->dilation_w) - (long long)p->padding_w;
              if (h < 0 || w < 0 || h >= (long long)x->h || w >= (long long)x->w) continue;
              const int32_t q = ref_q8_get(x, x_data, (n * x->h + (size_t)h) * x->w + (size_t)w, c);
              if (q > best) best = q;
            }
          }
          if (best == -1000) best = x->dtype == QEQ_DTYPE_QINT8 ? -128 : 0; /* all padding */
          ref_q8_set(y, y_data, (n * y->h + oh) * y->w + ow, c, best);
        }
      }
    }
  }
}

/* Sum of (q - zp) over rows [h0, h1) x columns [w0, w1) of image n, channel c, then
 * rne(acc * f32(1 / divisor)) + zp clamped. */
static int32_t average(const qeq_q8_tensor* x, const void* x_data, size_t n, size_t c, long long h0,
                       long long h1, long long w0, long long w1, long long divisor) {
  long long acc = 0;
  for (long long h = h0; h < h1; h++) {
    for (long long w = w0; w < w1; w++) {
      acc += ref_q8_get(x, x_data, (n * x->h + (size_t)h) * x->w + (size_t)w, c) - x->zero_point;
    }
  }
  const float multiplier = (float)(1.0 / (double)divisor);
  const float v = (float)acc * multiplier;
  const double lo = x->dtype == QEQ_DTYPE_QINT8 ? -128 : 0;
  return (int32_t)clamp_d(rint((double)v) + x->zero_point, lo, lo + 255);
}

void ref_q8_avg_pool2d(const qeq_q8_tensor* x, const void* x_data, const qeq_pool2d_params* p,
                       const qeq_q8_tensor* y, void* y_data) {
  const long long H = (long long)x->h, W = (long long)x->w;
  for (size_t n = 0; n < x->n; n++) {
    for (size_t oh = 0; oh < y->h; oh++) {
      long long h0 = (long long)(oh * p->stride_h) - (long long)p->padding_h;
      long long h1 = h0 + (long long)p->kernel_h;
      if (h1 > H + (long long)p->padding_h) h1 = H + (long long)p->padding_h;
      const long long padded_h = h1 - h0;
      h0 = h0 < 0 ? 0 : h0;
      h1 = h1 > H ? H : h1;
      for (size_t ow = 0; ow < y->w; ow++) {
        long long w0 = (long long)(ow * p->stride_w) - (long long)p->padding_w;
        long long w1 = w0 + (long long)p->kernel_w;
        if (w1 > W + (long long)p->padding_w) w1 = W + (long long)p->padding_w;
        const long long padded_w = w1 - w0;
        w0 = w0 < 0 ? 0 : w0;
        w1 = w1 > W ? W : w1;
        long long divisor = p->divisor_override;
        if (divisor == 0)
          divisor = p->count_include_pad ? padded_h * padded_w : (h1 - h0) * (w1 - w0);
        for (size_t c = 0; c < x->c; c++) {
          ref_q8_set(y, y_data, (n * y->h + oh) * y->w + ow, c,
                     average(x, x_data, n, c, h0, h1, w0, w1, divisor));
        }
      }
    }
  }
}

void ref_q8_adaptive_avg_pool2d(const qeq_q8_tensor* x, const void* x_data, const qeq_q8_tensor* y,
                                void* y_data) {
  for (size_t n = 0; n < x->n; n++) {
    for (size_t oh = 0; oh < y->h; oh++) {
      const long long h0 = (long long)floor((double)(oh * x->h) / (double)y->h);
      const long long h1 = (long long)ceil((double)((oh + 1) * x->h) / (double)y->h);
      for (size_t ow = 0; ow < y->w; ow++) {
        const long long w0 = (long long)floor((double)(ow * x->w) / (double)y->w);
        const long long w1 = (long long)ceil((double)((ow + 1) * x->w) / (double)y->w);
        for (size_t c = 0; c < x->c; c++) {
          ref_q8_set(y, y_data, (n * y->h + oh) * y->w + ow, c,
                     average(x, x_data, n, c, h0, h1, w0, w1, (h1 - h0) * (w1 - w0)));
        }
      }
    }
  }
}

void ref_q8_clamp(const qeq_q8_tensor* x, const void* x_data, float min_val, float max_val,
                  const qeq_q8_tensor* y, void* y_data) {
  const int32_t lo = isinf(min_val) ? -1000 : ref_q8_quantize(min_val, x);
  const int32_t hi = isinf(max_val) ? 1000 : ref_q8_quantize(max_val, x);
  for (size_t p = 0; p < pixels_of(x); p++) {
    for (size_t c = 0; c < x->c; c++) {
      int32_t q = ref_q8_get(x, x_data, p, c);
      q = q < lo ? lo : q;
      q = q > hi ? hi : q;
      ref_q8_set(y, y_data, p, c, q);
    }
  }
}
