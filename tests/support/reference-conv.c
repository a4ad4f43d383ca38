/* A direct convolution from the definition: NCHW-style index loops over PyTorch's weight
 * layout, padding taps skipped (they read the zero point and contribute 0), an int64 sum,
 * then the output formulas of docs/numerics.md#gemm-and-convolution-requantization
 * (ref_gemm_store). No indirection, packing or GEMM. */
#include "tests/support/test-support.h"

/* The output qparams of a conv config, as the GEMM reference reads them (n = O). */
static qeq_gemm_config output_view(const qeq_conv_config* c) {
  qeq_gemm_config g = qeq_gemm_config_default();
  g.n = c->output_channels;
  g.quant = c->quant;
  return g;
}

static int64_t input_at(const qeq_conv_config* c, const uint8_t* x, size_t h, size_t w, size_t n,
                        size_t ch, ptrdiff_t iy, ptrdiff_t ix) {
  if (iy < 0 || ix < 0 || (size_t)iy >= h || (size_t)ix >= w) return c->quant.input_zero_point;
  const uint8_t v = x[((n * h + (size_t)iy) * w + (size_t)ix) * c->input_channels + ch];
  return c->quant.input_dtype == QEQ_DTYPE_QINT8 ? (int8_t)v : v;
}

void ref_conv(const qeq_conv_config* c, size_t batch, size_t h, size_t w, const uint8_t* x,
              size_t oh, size_t ow, uint8_t* y) {
  const qeq_gemm_config out = output_view(c);
  const size_t cg = c->input_channels / c->groups, og = c->output_channels / c->groups;
  const size_t kh = c->kernel_height, kw = c->kernel_width;
  const size_t bytes = c->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? 1 : 4;
  for (size_t n = 0; n < batch; n++) {
    for (size_t o = 0; o < c->output_channels; o++) {
      const size_t g = o / og;
      const size_t q = c->quant.weight_qparam_count == 1 ? 0 : o;
      const int64_t zw = c->quant.weight_zero_points ? c->quant.weight_zero_points[q] : 0;
      for (size_t oy = 0; oy < oh; oy++) {
        for (size_t ox = 0; ox < ow; ox++) {
          int64_t acc = 0;
          for (size_t ci = 0; ci < cg; ci++) {
            for (size_t ky = 0; ky < kh; ky++) {
              for (size_t kx = 0; kx < kw; kx++) {
                const ptrdiff_t iy = (ptrdiff_t)(oy * c->stride_height + ky * c->dilation_height) -
                                     (ptrdiff_t)c->padding_height;
                const ptrdiff_t ix = (ptrdiff_t)(ox * c->stride_width + kx * c->dilation_width) -
                                     (ptrdiff_t)c->padding_width;
                const int64_t xv = input_at(c, x, h, w, n, g * cg + ci, iy, ix);
                const int64_t wv = c->weights[((o * cg + ci) * kh + ky) * kw + kx];
                acc += (xv - c->quant.input_zero_point) * (wv - zw);
              }
            }
          }
          /* ref_gemm_store writes column o at pixel + o * bytes */
          ref_gemm_store(&out, o, acc, y + ((n * oh + oy) * ow + ox) * c->output_channels * bytes);
        }
      }
    }
  }
}
