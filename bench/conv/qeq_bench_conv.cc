// qeq_bench_conv: qeq's int8 convolution beside oneDNN's and XNNPACK's (each when the build
// found it) on ResNet- and MobileNet-style layers, one thread and all cores, and on every
// convolution of ResNet-18 and MobileNetV2 at 224x224 (one thread, layer by layer; also
// with 7-bit activations, qeq_u7 and onednn_u7, where oneDNN's AVX2 path is exact), ending
// with summary tables (conv-summary.h). GOPS: 2 x multiply-adds of the convolution per
// second of wall time (padding taps included, as every library counts them).
//
//   qeq_bench_conv [Google Benchmark flags]
//
// Before timing, each peer's outputs are checked against qeq's (conv-peer-check.h).
#include <benchmark/benchmark.h>

#include <cstdio>

#include "common/bench-pool.h"
#include "conv/conv-benchmarks.h"
#include "conv/conv-peer-check.h"
#include "conv/conv-summary.h"

namespace {

constexpr double kMinTime = 0.1;  // seconds per benchmark and repetition

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  ConvSummarySetup setup;
  setup.impls = conv_impls();
  setup.threads = {1};
  if (bench_threads() > 1) setup.threads.push_back(bench_threads());
  std::printf("qeq %s; best detected ISA %s; implementations:", qeq_version_string(),
              qeq_isa_name(qeq_isa_best_detected()));
  for (const ConvImpl& impl : setup.impls) std::printf(" %s", impl.title.c_str());
  std::printf("; threads:");
  for (size_t t : setup.threads) std::printf(" %zu", t);
  std::printf("\n");
  for (size_t i = 1; i < setup.impls.size(); i++) {
    std::string verdict;
    setup.agreed[setup.impls[i].name] = check_conv_peer(setup.impls[i], stdout, &verdict);
    setup.verdicts.push_back(verdict);
  }
  setup.u7_impls = conv_u7_impls();
  for (size_t i = 1; i < setup.u7_impls.size(); i++) {
    std::string verdict;
    setup.agreed[setup.u7_impls[i].name] = check_conv_peer(setup.u7_impls[i], stdout, &verdict);
    setup.verdicts.push_back(verdict);
  }
  std::fflush(stdout);

  register_conv_benchmarks(setup.impls, setup.threads, kMinTime);
  register_conv_network_benchmarks(setup.u7_impls, kMinTime);
  ConvSummaryReporter reporter(setup);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
