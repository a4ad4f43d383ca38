// Benchmarks of the equalization API on whole layers: CLE of a pair of large conv weights,
// PyTorch's equalize() over a chain of convs, and batch-norm folding.
#ifndef QEQ_BENCH_EQUALIZE_BENCHMARKS_H
#define QEQ_BENCH_EQUALIZE_BENCHMARKS_H

#include <string>
#include <vector>

#include "qeq/qeq.h"

// One row of the summary: a registered benchmark and how to present it.
struct LayerBenchmarkRow {
  std::string name;       // the benchmark's registered name
  std::string operation;  // e.g. "cle_pair"
  std::string weights;    // what it works on
  double mib;             // weight bytes touched per call, MiB
  std::string isa;
  std::string baseline;  // the baseline benchmark's name its GB/s is compared with
};

// Registers the benchmarks for every ISA cap; GB/s are compared with the given baselines
// (measured on one 2048x2048x3x3 weight).
std::vector<LayerBenchmarkRow> register_layer_benchmarks(const std::vector<qeq_isa>& isas,
                                                         const std::string& read_baseline,
                                                         const std::string& read_write_baseline);

#endif  // QEQ_BENCH_EQUALIZE_BENCHMARKS_H
