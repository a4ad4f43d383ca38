// qeq_bench_gemm: qeq's int8 GEMM against oneDNN and XNNPACK (when built) and the core's
// measured multiply-add peak, all in one run, ending with summary tables (gemm-summary.h).
//
//   qeq_bench_gemm [Google Benchmark flags] [--min_time=S] [--save_results=FILE]
//                  [--load_results=FILE]
//
// --min_time: minimum seconds per benchmark (default 0.2). --save_results writes this run's
// means; --load_results merges such a file into the summary, so a run under
// ONEDNN_MAX_CPU_ISA=AVX2 (an environment variable oneDNN reads once per process) can give
// the table its oneDNN AVX2 column (scripts/run-benchmark.sh does both).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gemm/gemm-benchmarks.h"
#include "gemm/gemm-problem.h"
#include "gemm/gemm-summary.h"
#include "gemm/vnni-peak.h"
#ifdef QEQ_BENCH_HAVE_ONEDNN
#include "peers/peer-onednn-gemm.h"
#endif
#ifdef QEQ_BENCH_HAVE_XNNPACK
#include "peers/peer-xnnpack-gemm.h"
#endif

namespace {

// Takes "--name=value" out of argv; returns whether it was there.
bool take_flag(int* argc, char** argv, const char* name, std::string* value) {
  const size_t len = std::strlen(name);
  for (int i = 1; i < *argc; i++) {
    if (std::strncmp(argv[i], name, len) == 0 && argv[i][len] == '=') {
      *value = argv[i] + len + 1;
      for (int j = i; j + 1 < *argc; j++) argv[j] = argv[j + 1];
      (*argc)--;
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string min_time_arg = "0.2", save_path, load_path;
  take_flag(&argc, argv, "--min_time", &min_time_arg);
  take_flag(&argc, argv, "--save_results", &save_path);
  take_flag(&argc, argv, "--load_results", &load_path);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const double min_time = std::atof(min_time_arg.c_str());

  GemmSummarySetup setup;
  setup.isas = distinct_gemm_isas(&setup.skipped);
  if (setup.isas.empty()) {
    std::fprintf(stderr, "qeq_bench_gemm: no GEMM kernel could be created: %s\n", qeq_last_error());
    return 1;
  }
  setup.best = default_gemm_isa(setup.isas);
  setup.peaks = peak_loops();
  setup.maddubs_peaks = maddubs_peak_loops();
  setup.threads = {1};
  if (bench_threads() > 1) setup.threads.push_back(bench_threads());

  std::printf("qeq %s; best detected ISA %s; GEMM kernels:", qeq_version_string(),
              qeq_isa_name(qeq_isa_best_detected()));
  for (const GemmIsa& g : setup.isas) std::printf(" %s", g.kernel.c_str());
  std::printf("; threads:");
  for (size_t t : setup.threads) std::printf(" %zu", t);
  std::printf("\n");

  register_peak_benchmarks(setup.peaks, setup.threads, min_time);
  register_peak_benchmarks(setup.maddubs_peaks, setup.threads, min_time);
  register_qeq_gemm_benchmarks(setup.isas, setup.best.isa, setup.threads, min_time);
#ifdef QEQ_BENCH_HAVE_ONEDNN
  setup.onednn_isa = onednn_isa_name();
  setup.onednn_checked_ok = check_onednn_gemm(stdout, &setup.verdicts, &setup.onednn_u7_exact);
  register_onednn_gemm_benchmarks(
      setup.threads,
      std::vector<GemmShape>(std::begin(kGemmOutputShapes), std::end(kGemmOutputShapes)), min_time);
#endif
#ifdef QEQ_BENCH_HAVE_XNNPACK
  setup.have_xnnpack = true;
  setup.xnnpack_checked_ok = check_xnnpack_gemm(stdout, &setup.verdicts);
  register_xnnpack_gemm_benchmarks(setup.threads, min_time);
#endif
  std::fflush(stdout);

  GemmSummaryReporter reporter(setup);
  if (!load_path.empty() && !reporter.load(load_path))
    std::printf("qeq_bench_gemm: cannot read %s; its rows stay empty\n", load_path.c_str());
  reporter.save_to(save_path);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
