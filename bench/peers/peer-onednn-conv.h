// oneDNN (Debian's libdnnl-dev 2.6) as the convolution's peer, when the build found it:
// convolution_forward u8 x s8 -> u8 on NHWC (tag nhwc) activations, weights reordered once
// into the layout the primitive asks for, per-output-channel output scales and the f32 bias
// as PyTorch's onednn engine hands them over (s_x s_w / s_y; bias / s_x / s_w), source and
// destination zero points, a ReLU post-op; the primitive is created outside the timed loop.
// Threads: OpenMP, set with omp_set_num_threads before creation and before every run.
#ifndef QEQ_BENCH_PEER_ONEDNN_CONV_H
#define QEQ_BENCH_PEER_ONEDNN_CONV_H

#include <cstddef>
#include <memory>
#include <string>

#include "conv/conv-problem.h"

// The primitive for the problem on `threads` OpenMP threads; its label is oneDNN's
// implementation name. nullptr (and oneDNN's message in *error) if oneDNN refuses.
std::unique_ptr<ConvRunner> make_onednn_conv(const ConvProblem& p, size_t threads,
                                             std::string* error);

#endif  // QEQ_BENCH_PEER_ONEDNN_CONV_H
