/* Builds the table of input pixel offsets each output pixel's taps read. */
#include "src/ops/conv-indirection.h"

/* The input coordinate a tap reads along one dimension, or -1 in the padding. */
static ptrdiff_t input_coordinate(size_t out, size_t tap, size_t stride, size_t padding,
                                  size_t dilation, size_t extent) {
  const size_t padded = out * stride + tap * dilation;
  if (padded < padding || padded - padding >= extent) return -1;
  return (ptrdiff_t)(padded - padding);
}

void qeq_conv_build_indirection(const qeq_conv_geometry* geo, size_t batch, size_t height,
                                size_t width, size_t output_height, size_t output_width,
                                size_t pixel_stride, size_t* table) {
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
                         : ((n * height + (size_t)iy) * width + (size_t)ix) * pixel_stride;
          }
        }
      }
    }
  }
}
