// qeq_bench_conv's benchmarks: every implementation (qeq and the peers the build found) on
// every layer of kConvLayers, one thread and all cores, and on the convolutions of whole
// networks (conv-networks.h), one thread, timed layer by layer.
#ifndef QEQ_BENCH_CONV_BENCHMARKS_H
#define QEQ_BENCH_CONV_BENCHMARKS_H

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conv/conv-problem.h"
#include "conv/conv-shape.h"

// The layers: ResNet 3x3 and 1x1 convolutions, a strided 3x3, MobileNet depthwise,
// and MobileNetV2's narrow pointwise projections (O = 24, 24, 16).
extern const ConvShape kConvLayers[11];

// One implementation: how to prepare a layer on a thread count, and whether its output is
// the problem's data shifted to qint8 (checked against qeq's qint8 / qnnpack configuration).
struct ConvImpl {
  std::string name;   // "qeq", "onednn", "xnnpack": the first part of benchmark names
  std::string title;  // for tables
  bool signed_output;
  std::function<std::unique_ptr<ConvRunner>(const ConvProblem&, size_t threads, std::string*)> make;
  bool u7 = false;  // runs on the 7-bit-activation problems (conv_problem_u7)
};

// qeq first, then oneDNN and XNNPACK when built.
std::vector<ConvImpl> conv_impls();
// The same on 7-bit activations: "qeq_u7", then "onednn_u7" when built.
std::vector<ConvImpl> conv_u7_impls();
// The layer's problem as impl runs it: full-range or 7-bit activations.
const ConvProblem& conv_problem_of(const ConvImpl& impl, const ConvShape& s);

// "<impl>/<threads>t/<layer>" and, for networks, "<impl>/1t/<network>".
std::string conv_bench_name(const std::string& impl, size_t threads, const std::string& what);

// Registers the layer benchmarks (every impl, every thread count; min_time seconds each) and
// the network ones (three times as long).
void register_conv_benchmarks(const std::vector<ConvImpl>& impls,
                              const std::vector<size_t>& thread_counts, double min_time);
// The network benchmarks alone (one thread), for the 7-bit implementations.
void register_conv_network_benchmarks(const std::vector<ConvImpl>& impls, double min_time);

// Every timed run's seconds are kept, by key: a layer benchmark's name, or a network
// benchmark's name with "#<layer index>". The summary uses medians: a run preempted by another
// process on a shared machine moves the mean, not the median.
std::string network_layer_key(const std::string& network_bench, size_t layer);
double median_run_us(const std::string& key);  // 0 without runs

#endif  // QEQ_BENCH_CONV_BENCHMARKS_H
