#include "gemm/gemm-summary.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "common/table-format.h"

GemmSummaryReporter::GemmSummaryReporter(GemmSummarySetup setup)
    // Colour only on a terminal: the reporter is ours, so --benchmark_color does not reach it.
    : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular),
      setup_(std::move(setup)) {}

void GemmSummaryReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
    Result& r = results_[run.run_name.function_name];
    auto ops = run.counters.find("ops");
    const double g = ops == run.counters.end() ? 0.0 : ops->second.value / 1e9;
    r.gops_sum += g;
    r.gops_max = std::max(r.gops_max, g);
    r.ms_sum += run.GetAdjustedRealTime();  // every GEMM benchmark reports milliseconds
    r.count++;
    r.label = run.report_label;
  }
}

bool GemmSummaryReporter::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#note ", 0) == 0) {
      const std::string verdict = line.substr(6);
      const auto& own = setup_.verdicts;
      if (std::find(own.begin(), own.end(), verdict) == own.end())
        loaded_verdicts_.push_back(verdict + " [" + path + "]");
      continue;
    }
    std::istringstream fields(line);
    std::string name;
    double g = 0, ms = 0;
    if (!(fields >> name >> g >> ms) || results_.count(name)) continue;
    Result& r = results_[name];
    r.gops_sum = g;
    r.gops_max = g;
    r.ms_sum = ms;
    r.count = 1;
    r.label = "(loaded from " + path + ")";
  }
  return true;
}

const GemmSummaryReporter::Result* GemmSummaryReporter::find(const std::string& name) const {
  auto it = results_.find(name);
  return it == results_.end() ? nullptr : &it->second;
}

double GemmSummaryReporter::gops(const std::string& impl, const std::string& isa, size_t threads,
                                 const GemmShape& s) const {
  const Result* r = find(gemm_bench_name(impl, isa, threads, &s));
  return r ? r->gops() : 0.0;
}

double GemmSummaryReporter::peak(qeq_isa isa, size_t threads, const char* name) const {
  const Result* r = find(gemm_bench_name(name, qeq_isa_name(isa), threads, nullptr));
  return r ? r->gops_max : 0.0;
}

double GemmSummaryReporter::best_peak(size_t threads) const {
  return setup_.peaks.empty() ? 0.0 : peak(setup_.peaks.back().isa, threads);
}

void GemmSummaryReporter::print_peaks(std::FILE* out) const {
  if (setup_.peaks.empty()) return;
  std::fprintf(out, "\nMeasured peak (best of the repetitions)\n\n| peak loop | instruction |");
  for (size_t t : setup_.threads) std::fprintf(out, " GOPS, %zu thread%s |", t, t > 1 ? "s" : "");
  std::fprintf(out, "\n|---|---|");
  for (size_t i = 0; i < setup_.threads.size(); i++) std::fprintf(out, "---:|");
  std::fprintf(out, "\n");
  std::vector<PeakLoop> loops = setup_.peaks;
  loops.insert(loops.end(), setup_.maddubs_peaks.begin(), setup_.maddubs_peaks.end());
  for (const PeakLoop& loop : loops) {
    std::fprintf(out, "| %s/%s | %s |", loop.name, qeq_isa_name(loop.isa), loop.instruction);
    for (size_t t : setup_.threads) {
      std::fprintf(out, " %s |", fixed(peak(loop.isa, t, loop.name), 1).c_str());
    }
    std::fprintf(out, "\n");
  }
  if (!setup_.maddubs_peaks.empty()) {
    std::fprintf(out,
                 "\npeak_maddubs*: the saturating int16 sequences (oneDNN's AVX2 path), exact only "
                 "where a bound on the operands proves no int16 step overflows; qeq's AVX2 and "
                 "AVX-512 (no VNNI) kernels run the pair form (peak_maddubs) on the tiles where "
                 "the bound proves it exact, the exact peak/<isa> sequence elsewhere.\n");
  }
}

void GemmSummaryReporter::print_headline(std::FILE* out) const {
  const std::string best = qeq_isa_name(setup_.best.isa);
  const std::string& dnnl = setup_.onednn_isa;
  const char* dnnl_mark = setup_.onednn_checked_ok ? "" : " (!)";
  const char* xnn_mark = setup_.xnnpack_checked_ok ? "" : " (!)";
  std::fprintf(out,
               "\nqeq GEMM, requantized u8 output, best kernel %s; oneDNN %s; XNNPACK %s\n\n"
               "| M x N x K | threads | qeq GOPS | of peak | oneDNN GOPS%s | of peak | XNNPACK "
               "GOPS%s | qeq / oneDNN | qeq / XNNPACK | x 1 thread | pack ms |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
               setup_.best.kernel.c_str(), dnnl.empty() ? "not built" : dnnl.c_str(),
               setup_.have_xnnpack ? "qc8" : "not built", dnnl_mark, xnn_mark);
  for (const GemmShape& s : kGemmShapes) {
    const Result* pack = find(gemm_bench_name("qeq_pack", best, 1, &s));
    for (size_t t : setup_.threads) {
      const double q = gops("qeq_u8", best, t, s);
      const double d = dnnl.empty() ? 0.0 : gops("onednn_u8", dnnl, t, s);
      const double x = gops("xnnpack_qc8", "-", t, s);
      const double peak_t = best_peak(t);
      const std::string scaling = t > 1 ? ratio(q, gops("qeq_u8", best, 1, s)) : "-";
      std::fprintf(out, "| %s | %zu | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                   shape_tag(s).c_str(), t, fixed(q, 1).c_str(), ratio(q, peak_t).c_str(),
                   fixed(d, 1).c_str(), ratio(d, peak_t).c_str(), fixed(x, 1).c_str(),
                   ratio(q, d).c_str(), ratio(q, x).c_str(), scaling.c_str(),
                   t == 1 && pack ? fixed(pack->ms(), 2).c_str() : "-");
    }
  }
  if (setup_.threads.size() > 1) {
    const size_t all = setup_.threads.back();
    const GemmShape cube{1024, 1024, 1024};
    std::fprintf(
        out, "%zu threads / 1 thread at 1024x1024x1024: qeq %s, oneDNN %s, XNNPACK %s\n", all,
        ratio(gops("qeq_u8", best, all, cube), gops("qeq_u8", best, 1, cube)).c_str(),
        ratio(gops("onednn_u8", dnnl, all, cube), gops("onednn_u8", dnnl, 1, cube)).c_str(),
        ratio(gops("xnnpack_qc8", "-", all, cube), gops("xnnpack_qc8", "-", 1, cube)).c_str());
  }
}

void GemmSummaryReporter::print_isas(std::FILE* out) const {
  std::fprintf(out,
               "\nqeq GEMM per ISA cap, requantized u8 output: GOPS (fraction of that ISA's "
               "peak loop)\n\n| M x N x K | threads |");
  bool have_avx2 = false;
  for (const GemmIsa& g : setup_.isas) {
    std::fprintf(out, " %s |", qeq_isa_name(g.isa));
    have_avx2 = have_avx2 || g.isa == QEQ_ISA_AVX2;
  }
  const bool avx2_peer = have_avx2 && !setup_.onednn_isa.empty();
  // The AVX2 run's verdict (usually loaded): its results may be wrong, not only slow.
  bool avx2_flagged = false;
  for (const auto* list : {&setup_.verdicts, &loaded_verdicts_}) {
    for (const std::string& v : *list) {
      avx2_flagged = avx2_flagged ||
                     (v.rfind("oneDNN avx2 ", 0) == 0 && v.find("within 1") == std::string::npos);
    }
  }
  if (avx2_peer) {
    std::fprintf(out, " oneDNN avx2%s | qeq avx2 / oneDNN avx2 |", avx2_flagged ? " (!)" : "");
  }
  std::fprintf(out, "\n|---|---:|");
  for (size_t i = 0; i < setup_.isas.size() + (avx2_peer ? 2 : 0); i++) std::fprintf(out, "---:|");
  std::fprintf(out, "\n");
  for (const GemmShape& s : kGemmShapes) {
    for (size_t t : setup_.threads) {
      std::fprintf(out, "| %s | %zu |", shape_tag(s).c_str(), t);
      for (const GemmIsa& g : setup_.isas) {
        const double q = gops("qeq_u8", qeq_isa_name(g.isa), t, s);
        const double p = peak(g.isa, t);
        std::string cell = fixed(q, q < 10 ? 2 : 1);
        if (q > 0 && p > 0) cell += " (" + ratio(q, p) + ")";
        std::fprintf(out, " %s |", cell.c_str());
      }
      if (avx2_peer) {
        const double d = gops("onednn_u8", "avx2", t, s);
        std::fprintf(out, " %s | %s |", fixed(d, 1).c_str(),
                     ratio(gops("qeq_u8", "avx2", t, s), d).c_str());
      }
      std::fprintf(out, "\n");
    }
  }
}

void GemmSummaryReporter::print_outputs(std::FILE* out) const {
  const std::string best = qeq_isa_name(setup_.best.isa);
  const std::string& dnnl = setup_.onednn_isa;
  std::fprintf(out,
               "\nOther outputs, best kernel, 1 thread\n\n"
               "| output | M x N x K | qeq GOPS | of peak | oneDNN GOPS | qeq / oneDNN |\n"
               "|---|---|---:|---:|---:|---:|\n");
  const struct {
    const char* label;
    const char* qeq;
    const char* onednn;
  } rows[] = {{"u8 (requantized)", "qeq_u8", "onednn_u8"},
              {"s32 (accumulators)", "qeq_s32", "onednn_s32"},
              {"f32 dynamic (f32 in)", "qeq_dynamic", nullptr}};
  for (const auto& row : rows) {
    for (const GemmShape& s : kGemmOutputShapes) {
      const double q = gops(row.qeq, best, 1, s);
      const double d = row.onednn && !dnnl.empty() ? gops(row.onednn, dnnl, 1, s) : 0.0;
      std::fprintf(out, "| %s | %s | %s | %s | %s | %s |\n", row.label, shape_tag(s).c_str(),
                   fixed(q, 1).c_str(), ratio(q, best_peak(1)).c_str(), fixed(d, 1).c_str(),
                   ratio(q, d).c_str());
    }
  }
}

void GemmSummaryReporter::print_notes(std::FILE* out) const {
  std::fprintf(out, "\nKernels:");
  for (const GemmIsa& g : setup_.isas)
    std::fprintf(out, " %s=%s", qeq_isa_name(g.isa), g.kernel.c_str());
  std::fprintf(out, "\n");
  if (!setup_.skipped.empty())
    std::fprintf(out, "Caps not benchmarked separately: %s\n", setup_.skipped.c_str());
  std::fprintf(out, "The scalar kernel runs only on shapes of at most %.0e operations.\n",
               kScalarMaxOps);
  // Each peer's implementations, as the peers name them in the benchmarks' labels.
  std::set<std::string> impls;
  for (const auto& [name, r] : results_) {
    if (name.rfind("onednn_", 0) == 0 && r.label.rfind("(loaded", 0) != 0)
      impls.insert(name.substr(0, name.find('/', 7)) + " " + r.label);
  }
  if (!impls.empty()) {
    std::fprintf(out, "oneDNN implementations:");
    for (const std::string& i : impls) std::fprintf(out, " [%s]", i.c_str());
    std::fprintf(out, "\n");
  }
  if (setup_.onednn_isa.empty()) {
    std::fprintf(out,
                 "oneDNN not built: install libdnnl-dev (scripts/install-deps.sh "
                 "--bench-peers) and reconfigure.\n");
  }
  if (!setup_.have_xnnpack) {
    std::fprintf(out,
                 "XNNPACK not built: install libxnnpack-dev (scripts/install-deps.sh "
                 "--bench-peers) and reconfigure.\n");
  }
  if (!setup_.verdicts.empty() || !loaded_verdicts_.empty()) {
    std::fprintf(out, "Peer checks (outside timing; (!) marks a peer that disagreed with qeq):\n");
    for (const std::string& v : setup_.verdicts) std::fprintf(out, "- %s\n", v.c_str());
    for (const std::string& v : loaded_verdicts_) std::fprintf(out, "- %s\n", v.c_str());
  }
  std::fprintf(
      out,
      "GOPS = 2*M*N*K / s (wall time). Weights per-channel symmetric qint8, activations\n"
      "quint8 (zero point 121), f32 bias, quint8 output, PyTorch's onednn engine.\n"
      "oneDNN: matmul u8 x s8 with per-column output scales, src and dst zero points,\n"
      "weights reordered once to its layout; its threads via OpenMP (omp_set_num_threads).\n"
      "XNNPACK: this Debian snapshot has no per-channel fully connected, so a 1x1\n"
      "convolution_nhwc_qc8 over M pixels (qint8 activations: the same data shifted by\n"
      "128; int32 bias; setup + run timed); no VNNI kernels in it (AVX-512 vpmaddwd at\n"
      "best). Threads: one pthreadpool of every CPU, shared by qeq, XNNPACK and the\n"
      "all-core peak loops. 'of peak': against the best peak loop at the same thread\n"
      "count; 'x 1 thread': qeq's all-core GOPS over its own one-thread GOPS.\n");
}

// 7-bit activations, where oneDNN's saturating AVX2 path is exact: both sides computing the
// same bits, each GOPS marked by the peer check of this run. A row per ISA with u7 rows: the
// best, and those whose kernel has the vpmaddubsw path, against that ISA's pair-form peak.
void GemmSummaryReporter::print_u7(std::FILE* out) const {
  const std::string& dnnl = setup_.onednn_isa;
  std::fprintf(out,
               "\n7-bit activations (quint8 in [0, 127]), requantized u8 output; oneDNN %s, %s on "
               "them by this run's check\n\n"
               "| qeq ISA | M x N x K | threads | qeq_u7 GOPS | of pair peak | oneDNN u7 GOPS | "
               "qeq / oneDNN |\n"
               "|---|---|---:|---:|---:|---:|---:|\n",
               dnnl.empty() ? "not built" : dnnl.c_str(),
               dnnl.empty()             ? "-"
               : setup_.onednn_u7_exact ? "exact"
                                        : "INEXACT");
  for (const GemmIsa& g : setup_.isas) {
    if (g.isa != setup_.best.isa && !g.pair_path) continue;
    const std::string isa = qeq_isa_name(g.isa);
    for (const GemmShape& s : kGemmShapes) {
      for (size_t t : setup_.threads) {
        const double q = gops("qeq_u7", isa, t, s);
        const double pair_peak = g.pair_path ? peak(g.isa, t, "peak_maddubs") : 0.0;
        const double d = dnnl.empty() ? 0.0 : gops("onednn_u7", dnnl, t, s);
        std::fprintf(out, "| %s | %s | %zu | %s | %s | %s | %s |\n", isa.c_str(),
                     shape_tag(s).c_str(), t, fixed(q, 1).c_str(), ratio(q, pair_peak).c_str(),
                     fixed(d, 1).c_str(), ratio(q, d).c_str());
      }
    }
  }
  std::fprintf(out,
               "'of pair peak': against peak_maddubs/<isa>, the sequence the fast path runs "
               "(kernels with one path: -).\n");
}

void GemmSummaryReporter::Finalize() {
  std::FILE* out = stdout;
  std::fflush(out);
  std::fprintf(out, "\nqeq_bench_gemm summary (GEMM figures: means over repetitions)\n");
  print_peaks(out);
  print_headline(out);
  print_u7(out);
  print_isas(out);
  print_outputs(out);
  print_notes(out);
  std::fflush(out);
  if (!save_path_.empty()) {
    std::ofstream save(save_path_);
    for (const std::string& v : setup_.verdicts) save << "#note " << v << '\n';
    for (const auto& [name, r] : results_) {
      if (r.label.rfind("(loaded", 0) != 0)
        save << name << ' ' << r.gops() << ' ' << r.ms() << '\n';
    }
  }
}
