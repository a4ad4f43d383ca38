// What every benchmark of qeq_bench_gemm shares, so qeq and its peers run the same work: the
// shapes, deterministic operands per shape, one quantization (per-channel symmetric qint8
// weights, quint8 activations with a nonzero zero point, a float bias, quint8 output, as
// PyTorch's quantized Linear under the onednn engine), and the all-core thread pool.
#ifndef QEQ_BENCH_GEMM_PROBLEM_H
#define QEQ_BENCH_GEMM_PROBLEM_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bench-pool.h"
#include "qeq/qeq.h"

namespace benchmark {
class State;
}

struct GemmShape {
  size_t m, n, k;
};

// The shapes of issue 9, in the order of the summary.
extern const GemmShape kGemmShapes[8];

std::string shape_tag(const GemmShape& s);  // "MxNxK"
double gemm_ops(const GemmShape& s);        // 2 * M * N * K

struct GemmProblem {
  GemmShape shape;
  std::vector<uint8_t> x;       // [m][k] quint8 activations
  std::vector<int8_t> w;        // [n][k] qint8 weights, PyTorch's layout
  std::vector<float> w_scales;  // per output channel (zero points all 0)
  std::vector<float> bias;      // [n], real units
  float x_scale;
  int32_t x_zero_point;  // nonzero, so the zero-point correction is part of the work
  float y_scale;
  int32_t y_zero_point;
  std::vector<float> x_float;  // x dequantized: the dynamic GEMM's float input
};

// Built on first use and kept for the whole run.
const GemmProblem& gemm_problem(const GemmShape& s);
// The same problem with 7-bit activations (x >> 1, zero point >> 1: values in [0, 127], what
// PyTorch's x86 qconfig produces within its calibrated range): no pair of u8 x s8 products
// leaves int16 there, so oneDNN's saturating AVX2 path is exact on it ("qeq_u7", "onednn_u7").
const GemmProblem& gemm_problem_u7(const GemmShape& s);

// qeq's config for the problem: quantized quint8 output, float output (dynamic), or int32.
qeq_gemm_config gemm_config(const GemmProblem& p, qeq_gemm_output output, bool dynamic);

// Requantization constants of column j exactly as qeq's onednn engine computes them (and as
// PyTorch hands them to oneDNN): the multiplier s_x * s_w / s_y and the bias divided by
// s_x, then by s_w, so a correctly set-up oneDNN matmul agrees with qeq except at ties.
float onednn_output_scale(const GemmProblem& p, size_t j);
float onednn_bias(const GemmProblem& p, size_t j);

// Benchmark names: "<impl>/<isa>/<threads>t/<MxNxK>" ("-" without a shape), e.g.
// "qeq_u8/avx512vnni/1t/1024x1024x1024" or "onednn_u8/avx2/2t/16x1024x1024".
std::string gemm_bench_name(const std::string& impl, const std::string& isa, size_t threads,
                            const GemmShape* shape);
// Reports 2*M*N*K per iteration as the "ops" rate counter (ops/s; the console shows G/s).
void report_gemm_ops(benchmark::State& state, const GemmShape& s);

#endif  // QEQ_BENCH_GEMM_PROBLEM_H
