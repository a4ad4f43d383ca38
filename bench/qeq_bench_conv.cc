// qeq_bench_conv: qeq's int8 convolution on ResNet- and MobileNet-style layers, single
// thread, GOPS (2 x multiply-adds of the convolution per second; depthwise counts its own
// multiply-adds, padding taps included as every library counts them).
//
//   qeq_bench_conv [Google Benchmark flags]
//
// Each layer runs on the kernel dispatch selects (best ISA), quint8 in and out, per-channel
// weights, bias, ReLU, the onednn engine; beside it oneDNN's own int8 convolution on the same
// shape when the build found oneDNN (the two alternate shape by shape in one run).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <qeq/qeq.h>

#include "peer-onednn-conv.h"

namespace {

// ResNet-18/50 3x3 and 1x1 layers, a strided 3x3, and MobileNet depthwise layers.
const ConvShape kShapes[] = {
    {"56x56x64_3x3_64", 56, 56, 64, 64, 1, 3, 1, 1},
    {"28x28x128_3x3_128", 28, 28, 128, 128, 1, 3, 1, 1},
    {"14x14x256_3x3_256", 14, 14, 256, 256, 1, 3, 1, 1},
    {"56x56x64_3x3s2_128", 56, 56, 64, 128, 1, 3, 2, 1},
    {"14x14x256_1x1_64", 14, 14, 256, 64, 1, 1, 1, 0},
    {"14x14x256_1x1_1024", 14, 14, 256, 1024, 1, 1, 1, 0},
    {"112x112x32_dw3x3", 112, 112, 32, 32, 32, 3, 1, 1},
    {"56x56x144_dw3x3", 56, 56, 144, 144, 144, 3, 1, 1},
};

void report_ops(benchmark::State& state, const ConvShape& s) {
  const size_t oh = (s.h + 2 * s.pad - s.k) / s.stride + 1;
  const size_t ow = (s.w + 2 * s.pad - s.k) / s.stride + 1;
  const double ops = 2.0 * static_cast<double>(oh * ow * s.o * (s.c / s.groups) * s.k * s.k);
  state.counters["GOPS"] =
      benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_qeq_conv(benchmark::State& state, ConvShape s) {
  std::mt19937 rng(42);
  const size_t cg = s.c / s.groups;
  std::vector<int8_t> w(s.o * cg * s.k * s.k);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  std::vector<float> scales(s.o), bias(s.o);
  for (size_t i = 0; i < s.o; i++) scales[i] = 0.002f + 0.001f * static_cast<float>(i % 7);
  for (size_t i = 0; i < s.o; i++) bias[i] = 0.01f * static_cast<float>(i % 13) - 0.05f;
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = s.c, c.output_channels = s.o, c.groups = s.groups;
  c.kernel_height = c.kernel_width = s.k;
  c.stride_height = c.stride_width = s.stride;
  c.padding_height = c.padding_width = s.pad;
  c.weights = w.data(), c.weight_qparam_count = s.o, c.weight_scales = scales.data();
  c.bias = bias.data();
  c.input_scale = 0.02f, c.input_zero_point = 3;
  c.output_scale = 0.1f, c.output_zero_point = 0, c.clamp = QEQ_GEMM_CLAMP_RELU;
  qeq_conv* conv = nullptr;
  if (qeq_conv_create(&c, &conv) != QEQ_OK) {
    state.SkipWithError(qeq_last_error());
    return;
  }
  size_t oh = 0, ow = 0;
  qeq_conv_output_size(conv, s.h, s.w, &oh, &ow);
  std::vector<uint8_t> x(s.h * s.w * s.c), y(oh * ow * s.o);
  for (auto& v : x) v = static_cast<uint8_t>(rng());
  for (auto _ : state) {
    if (qeq_conv_run(conv, 1, s.h, s.w, x.data(), 0, y.data(), 0, nullptr) != QEQ_OK) {
      state.SkipWithError(qeq_last_error());
      break;
    }
    benchmark::DoNotOptimize(y.data());
  }
  report_ops(state, s);
  state.SetLabel(qeq_conv_kernel_name(conv));
  qeq_conv_destroy(conv);
}

}  // namespace

int main(int argc, char** argv) {
  for (const ConvShape& s : kShapes) {
    benchmark::RegisterBenchmark((std::string("qeq_conv/") + s.name).c_str(), BM_qeq_conv, s)
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(0.2);
#ifdef QEQ_BENCH_HAVE_ONEDNN
    benchmark::RegisterBenchmark((std::string("onednn_conv/") + s.name).c_str(),
                                 [s](benchmark::State& st) {
                                   run_onednn_conv(st, s);
                                   report_ops(st, s);
                                 })
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(0.2);
#endif
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
