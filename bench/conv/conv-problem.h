// What every benchmark of qeq_bench_conv shares, so qeq and its peers do the same work on
// the same data: deterministic operands per layer (quint8 NHWC activations with a nonzero
// zero point, per-channel symmetric qint8 weights in PyTorch's [O][C/groups][k][k] layout,
// a float bias, quint8 output with ReLU, as PyTorch's quantized ConvReLU2d), and the common
// face of the three implementations: prepared once, then run on those operands.
#ifndef QEQ_BENCH_CONV_PROBLEM_H
#define QEQ_BENCH_CONV_PROBLEM_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conv/conv-shape.h"
#include "qeq/qeq.h"

struct pthreadpool;
namespace benchmark {
class State;
}

struct ConvProblem {
  ConvShape shape;
  std::vector<uint8_t> x;        // [h][w][c] quint8
  std::vector<int8_t> x_signed;  // x - 128: the same data as qint8 (XNNPACK's qc8 input)
  std::vector<int8_t> w;         // [o][c / groups][k][k], PyTorch's layout
  std::vector<float> w_scales;   // per output channel (zero points all 0)
  std::vector<float> bias;       // [o], real units
  float x_scale;
  int32_t x_zero_point;  // nonzero, so the zero-point correction is part of the work
  float y_scale;
  int32_t y_zero_point;  // ReLU clamps here
};

// Built on first use and kept for the whole run (one per distinct geometry).
const ConvProblem& conv_problem(const ConvShape& s);
// The same problem with 7-bit activations (x >> 1, zero point >> 1: quint8 values in [0, 127],
// what PyTorch's x86 qconfig produces within its calibrated range): no pair of u8 x s8
// products leaves int16 there, so oneDNN's saturating AVX2 path is exact on it.
const ConvProblem& conv_problem_u7(const ConvShape& s);

// One implementation of one layer, prepared (weights packed, primitive created) outside
// any timing; run() computes the layer on the problem's input into its own output.
class ConvRunner {
 public:
  virtual ~ConvRunner() = default;
  virtual bool run() = 0;
  // The output after run(): o * oh * ow bytes, quint8 or (signed runners) qint8.
  virtual const void* output() const = 0;
  const std::string& label() const { return label_; }

 protected:
  std::string label_;
};

// qeq_conv on the problem: quint8 in and out, PyTorch's onednn engine (what is timed); or,
// `signed_qnnpack`, qint8 in and out (x_signed, zero points - 128) under the qnnpack engine,
// the configuration XNNPACK's results are checked against. pool NULL: this thread only.
// nullptr (and *error) if qeq refuses.
std::unique_ptr<ConvRunner> make_qeq_conv(const ConvProblem& p, bool signed_qnnpack,
                                          struct pthreadpool* pool, std::string* error);

// Reports conv_ops(s) per iteration as the "ops" rate counter (ops per wall-clock second).
void report_conv_ops(benchmark::State& state, const ConvShape& s);

#endif  // QEQ_BENCH_CONV_PROBLEM_H
