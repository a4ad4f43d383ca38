// qeq_bench_conv's reporter: the usual console output, then summary tables: GOPS per layer
// for qeq and each peer, one thread and all cores; per network the sum of the layer times
// and the layers where qeq is furthest behind the faster peer.
#ifndef QEQ_BENCH_CONV_SUMMARY_H
#define QEQ_BENCH_CONV_SUMMARY_H

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "conv/conv-benchmarks.h"

struct ConvSummarySetup {
  std::vector<ConvImpl> impls;         // qeq first
  std::vector<ConvImpl> u7_impls;      // qeq_u7 first: the networks on 7-bit activations
  std::vector<size_t> threads;         // 1 and the pool's count
  std::map<std::string, bool> agreed;  // by impl name: the peer check passed
  std::vector<std::string> verdicts;   // the peer checks, one line each
};

class ConvSummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit ConvSummaryReporter(ConvSummarySetup setup);

  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  // GOPS of a layer benchmark from its median run time; 0 if it did not run.
  double gops(const ConvImpl& impl, size_t threads, const ConvShape& s) const;
  std::string title(const ConvImpl& impl) const;  // with " (!)" if its check failed

  void print_layers(std::FILE* out) const;
  void print_networks(std::FILE* out) const;
  void print_networks_u7(std::FILE* out) const;
  void print_worst_layers(std::FILE* out) const;
  void print_notes(std::FILE* out) const;

  ConvSummarySetup setup_;
  std::map<std::string, std::string> labels_;  // by benchmark name
};

#endif  // QEQ_BENCH_CONV_SUMMARY_H
