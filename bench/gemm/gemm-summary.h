// qeq_bench_gemm's reporter: the usual console output, then summary tables of GOPS per shape
// (qeq's best kernel against oneDNN and XNNPACK, one thread and all cores, as fractions of
// the measured peak), every ISA cap, other outputs, and the peak loops.
#ifndef QEQ_BENCH_GEMM_SUMMARY_H
#define QEQ_BENCH_GEMM_SUMMARY_H

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "gemm/gemm-benchmarks.h"
#include "gemm/vnni-peak.h"

struct GemmSummarySetup {
  std::vector<GemmIsa> isas;  // distinct caps benchmarked
  GemmIsa best;               // the one dispatch picks uncapped
  std::vector<PeakLoop> peaks;
  std::vector<PeakLoop> maddubs_peaks;  // the saturating sequences, for reference
  std::vector<size_t> threads;          // 1 and the pool's count
  std::string onednn_isa;               // empty without the oneDNN peer
  bool have_xnnpack = false;
  bool onednn_checked_ok = true, xnnpack_checked_ok = true;
  bool onednn_u7_exact = false;       // oneDNN agreed with qeq on 7-bit activations
  std::string skipped;                // caps not benchmarked separately
  std::vector<std::string> verdicts;  // the peers' correctness checks, one line each
};

class GemmSummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit GemmSummaryReporter(GemmSummarySetup setup);

  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

  // Means of another run of this program (e.g. oneDNN under ONEDNN_MAX_CPU_ISA=AVX2), merged
  // under their own names with its check verdicts; and this run's, saved for such a merge:
  // "name gops ms" lines and "#note verdict" lines.
  bool load(const std::string& path);
  void save_to(const std::string& path) { save_path_ = path; }

 private:
  struct Result {
    double gops_sum = 0, ms_sum = 0, gops_max = 0;
    int count = 0;
    std::string label;
    double gops() const { return count ? gops_sum / count : 0.0; }
    double ms() const { return count ? ms_sum / count : 0.0; }
  };
  const Result* find(const std::string& name) const;
  double gops(const std::string& impl, const std::string& isa, size_t threads,
              const GemmShape& s) const;
  // GOPS of that loop, the best of its repetitions (interference only ever slows it), 0 if
  // none; GEMM figures are means.
  double peak(qeq_isa isa, size_t threads, const char* name = "peak") const;
  double best_peak(size_t threads) const;  // the machine's: the best loop

  void print_peaks(std::FILE* out) const;
  void print_headline(std::FILE* out) const;
  void print_u7(std::FILE* out) const;
  void print_isas(std::FILE* out) const;
  void print_outputs(std::FILE* out) const;
  void print_notes(std::FILE* out) const;

  GemmSummarySetup setup_;
  std::map<std::string, Result> results_;
  std::string save_path_;
  std::vector<std::string> loaded_verdicts_;
};

#endif  // QEQ_BENCH_GEMM_SUMMARY_H
