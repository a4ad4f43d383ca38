// A convolution layer of the benchmarks: batch 1, an h x w x c NHWC input, o outputs, a
// square k x k kernel with equal stride and padding on both axes, dilation 1.
#ifndef QEQ_BENCH_CONV_SHAPE_H
#define QEQ_BENCH_CONV_SHAPE_H

#include <cstddef>

struct ConvShape {
  const char* name;
  size_t h, w, c, o, groups, k, stride, pad;
};

// A network's convolutions in the order they run.
struct ConvNetwork {
  const char* name;
  const ConvShape* layers;
  size_t count;
};

inline size_t conv_output_height(const ConvShape& s) {
  return (s.h + 2 * s.pad - s.k) / s.stride + 1;
}
inline size_t conv_output_width(const ConvShape& s) {
  return (s.w + 2 * s.pad - s.k) / s.stride + 1;
}
// 2 x the multiply-adds, padding taps included (as every library counts them).
inline double conv_ops(const ConvShape& s) {
  return 2.0 * static_cast<double>(conv_output_height(s) * conv_output_width(s) * s.o *
                                   (s.c / s.groups) * s.k * s.k);
}
inline bool conv_is_depthwise(const ConvShape& s) {
  return s.groups > 1 && s.groups == s.c && s.groups == s.o;
}

#endif  // QEQ_BENCH_CONV_SHAPE_H
