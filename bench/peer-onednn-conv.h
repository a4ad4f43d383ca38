// oneDNN (Debian's libdnnl-dev 2.6) as the convolution's peer, when the build found it:
// convolution_forward u8 x s8 -> u8 on NHWC (tag nhwc) activations, weights reordered once
// into the layout the primitive asks for, per-output-channel output scales, a source zero
// point and an f32 bias, primitive created outside the timed loop, on one OpenMP thread.
#ifndef QEQ_BENCH_PEER_ONEDNN_CONV_H
#define QEQ_BENCH_PEER_ONEDNN_CONV_H

#include <benchmark/benchmark.h>

#include <cstddef>

// One convolution layer: an h x w x c input, o outputs, a k x k kernel.
struct ConvShape {
  const char* name;
  size_t h, w, c, o, groups, k, stride, pad;
};

// Runs oneDNN's int8 convolution on shape s (batch 1) for the benchmark's iterations and sets
// the label to its implementation name; skips with oneDNN's message if it refuses.
void run_onednn_conv(benchmark::State& state, const ConvShape& s);

#endif  // QEQ_BENCH_PEER_ONEDNN_CONV_H
