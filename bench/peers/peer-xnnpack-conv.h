// XNNPACK (Debian's libxnnpack-dev, a February 2022 snapshot) as the convolution's second
// peer, when the build found it: xnn_create_convolution2d_nhwc_qc8, the operator whose
// quantization matches the benchmark's per-output-channel weight scales (qs8 and qu8 take
// one weight scale per tensor, and XNNPACK has no per-channel quint8 variant). qc8 takes
// qint8 activations, so it reads the problem's quint8 input shifted by 128 (x - 128, zero
// point - 128: the same products) and writes qint8 (output zero point - 128, ReLU as
// output_min = zero point); its bias is int32 at the accumulator's scale, rounded as
// PyTorch's qnnpack engine rounds it. Weights go in as XNNPACK wants them, [O][k][k][C/g]
// (PyTorch's [O][C/g][k][k] transposed once); depthwise layers (groups = C = O) are
// groups of one channel, which XNNPACK runs on its depthwise microkernels.
// Operator creation (weight packing) is outside the timed loop; setup and run are inside,
// as for the GEMM peer. Threads: a pthreadpool, or none.
#ifndef QEQ_BENCH_PEER_XNNPACK_CONV_H
#define QEQ_BENCH_PEER_XNNPACK_CONV_H

#include <memory>
#include <string>

#include "conv/conv-problem.h"

// The operator for the problem; run() uses pool (NULL: this thread). nullptr and *error if
// XNNPACK refuses.
std::unique_ptr<ConvRunner> make_xnnpack_conv(const ConvProblem& p, struct pthreadpool* pool,
                                              std::string* error);

#endif  // QEQ_BENCH_PEER_XNNPACK_CONV_H
