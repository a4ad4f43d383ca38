/* Plain loops; the summation orders are the point (see float-ops.h). */
#include "tests/support/float-ops.h"

#include <math.h>

void f32_conv2d_forward(const f32_conv2d* c, size_t n, size_t h, size_t w, const float* x,
                        float* y) {
  const size_t oh = h + 2 * c->padding_h - c->kernel_h + 1;
  const size_t ow = w + 2 * c->padding_w - c->kernel_w + 1;
  const size_t cg = c->in_channels / c->groups, og = c->out_channels / c->groups;
  const size_t kk = c->kernel_h * c->kernel_w, taps = cg * kk;
  /* oneDNN's 1x1 and depthwise kernels start from the bias; its dense kernels sum from 0 and
   * add the bias last */
  const int bias_first = kk == 1 || cg == 1;
  for (size_t b = 0; b < n; b++) {
    for (size_t o = 0; o < c->out_channels; o++) {
      const size_t g = o / og;
      const float* wo = c->weight + o * cg * c->kernel_h * c->kernel_w;
      for (size_t oy = 0; oy < oh; oy++) {
        for (size_t ox = 0; ox < ow; ox++) {
          const float bias = c->bias != NULL ? c->bias[o] : 0.0f;
          float acc = bias_first ? bias : 0.0f;
          for (size_t t = 0; t < taps; t++) {
            /* tap t: (channel, ky, kx) with the channel outermost or innermost */
            const size_t ic = bias_first ? t / kk : t % cg;
            const size_t kpos = bias_first ? t % kk : t / cg;
            const size_t iy = oy + kpos / c->kernel_w, ix = ox + kpos % c->kernel_w; /* padded */
            if (iy < c->padding_h || iy >= h + c->padding_h) continue;
            if (ix < c->padding_w || ix >= w + c->padding_w) continue;
            const float* plane = x + ((b * c->in_channels) + g * cg + ic) * h * w;
            acc =
                fmaf(wo[ic * kk + kpos], plane[(iy - c->padding_h) * w + (ix - c->padding_w)], acc);
          }
          if (!bias_first) acc += bias;
          y[((b * c->out_channels + o) * oh + oy) * ow + ox] = acc;
        }
      }
    }
  }
}

void f32_linear_forward(size_t m, size_t in, size_t out, const float* weight, const float* bias,
                        const float* x, float* y) {
  for (size_t r = 0; r < m; r++) {
    for (size_t o = 0; o < out; o++) {
      float acc = 0.0f;
      for (size_t k = 0; k < in; k++) {
        const float product = weight[o * in + k] * x[r * in + k];
        acc += product;
      }
      y[r * out + o] = bias != NULL ? acc + bias[o] : acc;
    }
  }
}

void f32_relu(size_t count, float* x) {
  for (size_t i = 0; i < count; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void f32_add(size_t count, const float* a, const float* b, float* y) {
  for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

void f32_adaptive_avg_pool2d(size_t planes, size_t h, size_t w, size_t oh, size_t ow,
                             const float* x, float* y) {
  for (size_t p = 0; p < planes; p++) {
    for (size_t i = 0; i < oh; i++) {
      const size_t h0 = i * h / oh, h1 = ((i + 1) * h + oh - 1) / oh;
      for (size_t j = 0; j < ow; j++) {
        const size_t w0 = j * w / ow, w1 = ((j + 1) * w + ow - 1) / ow;
        float sum = 0.0f;
        for (size_t iy = h0; iy < h1; iy++) {
          for (size_t ix = w0; ix < w1; ix++) sum += x[(p * h + iy) * w + ix];
        }
        y[(p * oh + i) * ow + j] = sum / (float)(h1 - h0) / (float)(w1 - w0);
      }
    }
  }
}

void f32_max_pool2d(size_t planes, size_t h, size_t w, size_t k, const float* x, float* y) {
  const size_t oh = h / k, ow = w / k;
  for (size_t p = 0; p < planes; p++) {
    for (size_t i = 0; i < oh; i++) {
      for (size_t j = 0; j < ow; j++) {
        float m = x[(p * h + i * k) * w + j * k];
        for (size_t iy = i * k; iy < i * k + k; iy++) {
          for (size_t ix = j * k; ix < j * k + k; ix++) {
            const float v = x[(p * h + iy) * w + ix];
            m = v > m ? v : m;
          }
        }
        y[(p * oh + i) * ow + j] = m;
      }
    }
  }
}
