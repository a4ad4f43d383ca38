// XNNPACK (Debian's libxnnpack-dev, a February 2022 snapshot) as qeq's GEMM peer, registered
// only when the build found it. That snapshot has no per-channel fully connected operator
// (xnn_create_fully_connected_nc_qc8 came later); its per-channel int8 GEMM is reached as a
// 1x1 convolution, xnn_create_convolution2d_nhwc_qc8 with M images of 1x1 pixels, which
// XNNPACK runs as a plain GEMM. qc8 takes qint8 activations, so the benchmark feeds qeq's
// quint8 activations shifted by 128 (x - 128, zero point - 128: the same products) and writes
// qint8; its bias is int32 at the accumulator's scale, as PyTorch's qnnpack engine rounds it.
// Operator creation (weight packing) is outside the timed loop; setup and run are inside,
// as a caller with new buffers each call does. Threads: the shared pthreadpool, or none.
#ifndef QEQ_BENCH_PEER_XNNPACK_GEMM_H
#define QEQ_BENCH_PEER_XNNPACK_GEMM_H

#include <cstdio>
#include <string>
#include <vector>

#include "gemm/gemm-problem.h"

// Registers "xnnpack_qc8/-/<threads>t/<shape>" for every shape and thread count.
void register_xnnpack_gemm_benchmarks(const std::vector<size_t>& thread_counts, double min_time);

// Once, outside timing: XNNPACK's output against qeq configured the same way (qint8 in and
// out, the qnnpack engine) on a small odd shape and a benchmark shape; prints the agreement
// and returns false when any output differs by more than 1. Appends a one-line verdict.
bool check_xnnpack_gemm(std::FILE* out, std::vector<std::string>* verdicts);

#endif  // QEQ_BENCH_PEER_XNNPACK_GEMM_H
