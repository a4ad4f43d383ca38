#include "conv-summary.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "conv-networks.h"
#include "table-format.h"

namespace {

// "56x56x64 3x3/2 -> 128" or "112x112x32 dw3x3/1".
std::string describe(const ConvShape& s) {
  const std::string in =
      std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c);
  const std::string kernel =
      std::to_string(s.k) + "x" + std::to_string(s.k) + "/" + std::to_string(s.stride);
  if (conv_is_depthwise(s)) return in + " dw" + kernel;
  return in + " " + kernel + " -> " + std::to_string(s.o) +
         (s.groups > 1 ? " g" + std::to_string(s.groups) : "");
}

std::string strip_prefix(const std::string& label, const std::string& prefix) {
  return label.rfind(prefix, 0) == 0 ? label.substr(prefix.size()) : label;
}

}  // namespace

ConvSummaryReporter::ConvSummaryReporter(ConvSummarySetup setup)
    // Colour only on a terminal: the reporter is ours, so --benchmark_color does not reach it.
    : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular),
      setup_(std::move(setup)) {}

void ConvSummaryReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    auto ops = run.counters.find("ops");
    const double g = ops == run.counters.end() ? 0.0 : ops->second.value / 1e9;
    Result& r = results_[run.run_name.function_name];
    if (run.run_type == Run::RT_Iteration) {
      r.gops_sum += g;
      r.count++;
      r.label = run.report_label;
    } else if (run.aggregate_name == "mean") {  // --benchmark_report_aggregates_only
      r.aggregate_mean = g;
      r.label = run.report_label;
    }
  }
}

double ConvSummaryReporter::gops(const std::string& name) const {
  auto it = results_.find(name);
  if (it == results_.end()) return 0.0;
  return it->second.count ? it->second.gops_sum / it->second.count : it->second.aggregate_mean;
}

std::string ConvSummaryReporter::label(const std::string& name) const {
  auto it = results_.find(name);
  return it == results_.end() ? "" : it->second.label;
}

std::string ConvSummaryReporter::title(const ConvImpl& impl) const {
  auto it = setup_.agreed.find(impl.name);
  return impl.title + (it != setup_.agreed.end() && !it->second ? " (!)" : "");
}

void ConvSummaryReporter::print_layers(std::FILE* out) const {
  const ConvImpl& qeq = setup_.impls.front();
  const std::vector<ConvImpl> peers(setup_.impls.begin() + 1, setup_.impls.end());
  std::fprintf(out, "\nint8 convolution layers, batch 1: GOPS (means of the repetitions)\n\n");
  std::fprintf(out, "| layer (H x W x C, kernel / stride, O) | threads | qeq GOPS | qeq kernel |");
  for (const ConvImpl& p : peers) std::fprintf(out, " %s GOPS |", title(p).c_str());
  for (const ConvImpl& p : peers) std::fprintf(out, " qeq / %s |", p.title.c_str());
  std::fprintf(out, " qeq x 1 thread |\n|---|---:|---:|---|");
  for (size_t i = 0; i < 2 * peers.size() + 1; i++) std::fprintf(out, "---:|");
  std::fprintf(out, "\n");
  for (const ConvShape& s : kConvLayers) {
    for (size_t t : setup_.threads) {
      const std::string qname = conv_bench_name(qeq.name, t, s.name);
      const double q = gops(qname);
      std::fprintf(out, "| %s | %zu | %s | %s |", describe(s).c_str(), t, fixed(q, 1).c_str(),
                   strip_prefix(label(qname), "qeq_").c_str());
      for (const ConvImpl& p : peers) {
        const std::string pname = conv_bench_name(p.name, t, s.name);
        const std::string impl = p.name == "onednn" ? label(pname) : "";
        std::fprintf(out, " %s%s |", fixed(gops(pname), 1).c_str(),
                     impl.empty() ? "" : (" (" + impl + ")").c_str());
      }
      for (const ConvImpl& p : peers)
        std::fprintf(out, " %s |", ratio(q, gops(conv_bench_name(p.name, t, s.name))).c_str());
      const std::string scaling =
          t > 1 ? ratio(q, gops(conv_bench_name(qeq.name, 1, s.name))) : "-";
      std::fprintf(out, " %s |\n", scaling.c_str());
    }
  }
}

void ConvSummaryReporter::print_networks(std::FILE* out) const {
  std::fprintf(out,
               "\nWhole networks: every convolution at 224x224, batch 1, one thread, run layer "
               "by layer; ms = sum of the layers' median times\n\n| network | layers | "
               "GOP |");
  for (const ConvImpl& p : setup_.impls) std::fprintf(out, " %s ms |", title(p).c_str());
  for (size_t i = 1; i < setup_.impls.size(); i++)
    std::fprintf(out, " qeq / %s |", setup_.impls[i].title.c_str());
  std::fprintf(out, "\n|---|---:|---:|");
  for (size_t i = 0; i < 2 * setup_.impls.size() - 1; i++) std::fprintf(out, "---:|");
  std::fprintf(out, "\n");
  for (const ConvNetwork& net : kConvNetworks) {
    // The whole network, then (if it has both) its depthwise and its other layers apart.
    size_t depthwise = 0;
    for (size_t i = 0; i < net.count; i++) depthwise += conv_is_depthwise(net.layers[i]);
    const int parts = depthwise > 0 && depthwise < net.count ? 3 : 1;
    for (int part = 0; part < parts; part++) {
      auto included = [&](const ConvShape& s) {
        return part == 0 || (part == 1) == conv_is_depthwise(s);
      };
      size_t layers = 0;
      double ops = 0;
      for (size_t i = 0; i < net.count; i++) {
        if (!included(net.layers[i])) continue;
        layers++;
        ops += conv_ops(net.layers[i]);
      }
      std::vector<double> ms;
      for (const ConvImpl& p : setup_.impls) {
        auto it = network_times().find(conv_bench_name(p.name, 1, net.name));
        double sum = 0;
        for (size_t i = 0; it != network_times().end() && i < net.count; i++)
          sum += included(net.layers[i]) ? it->second.layer_us(i) * 1e-3 : 0.0;
        ms.push_back(sum);
      }
      const char* names[] = {"", " (depthwise layers)", " (other layers)"};
      std::fprintf(out, "| %s%s | %zu | %.2f |", net.name, names[part], layers, ops * 1e-9);
      for (double m : ms) std::fprintf(out, " %s |", fixed(m, 2).c_str());
      for (size_t i = 1; i < ms.size(); i++)
        std::fprintf(out, " %s |", ratio(ms[i], ms[0]).c_str());
      std::fprintf(out, "\n");
    }
  }
}

void ConvSummaryReporter::print_worst_layers(std::FILE* out) const {
  if (setup_.impls.size() < 2) return;
  constexpr size_t kWorst = 5;
  std::fprintf(out,
               "\nThe %zu layers of each network where qeq is furthest behind the faster peer "
               "(one thread, median us)\n\n| network | layer | shape | MOP |",
               kWorst);
  for (const ConvImpl& p : setup_.impls) std::fprintf(out, " %s us |", p.title.c_str());
  for (size_t i = 1; i < setup_.impls.size(); i++)
    std::fprintf(out, " qeq / %s |", setup_.impls[i].title.c_str());
  std::fprintf(out, "\n|---|---|---|---:|");
  for (size_t i = 0; i < 2 * setup_.impls.size() - 1; i++) std::fprintf(out, "---:|");
  std::fprintf(out, "\n");
  for (const ConvNetwork& net : kConvNetworks) {
    std::vector<const NetworkTimes*> times;
    for (const ConvImpl& p : setup_.impls) {
      auto it = network_times().find(conv_bench_name(p.name, 1, net.name));
      times.push_back(it == network_times().end() || it->second.layer_us(0) == 0 ? nullptr
                                                                                 : &it->second);
    }
    if (times[0] == nullptr) continue;
    // qeq's time over the faster peer's: the larger, the further behind.
    std::vector<std::pair<double, size_t>> order;
    for (size_t i = 0; i < net.count; i++) {
      double best = 0;
      for (size_t j = 1; j < times.size(); j++) {
        const double us = times[j] ? times[j]->layer_us(i) : 0.0;
        if (us > 0 && (best == 0 || us < best)) best = us;
      }
      if (best > 0) order.push_back({times[0]->layer_us(i) / best, i});
    }
    std::sort(order.rbegin(), order.rend());
    for (size_t r = 0; r < order.size() && r < kWorst; r++) {
      const ConvShape& s = net.layers[order[r].second];
      std::fprintf(out, "| %s | %s | %s | %.1f |", net.name, s.name, describe(s).c_str(),
                   conv_ops(s) * 1e-6);
      for (const NetworkTimes* t : times)
        std::fprintf(out, " %s |", fixed(t ? t->layer_us(order[r].second) : 0.0, 1).c_str());
      for (size_t j = 1; j < times.size(); j++) {
        const double theirs = times[j] ? times[j]->layer_us(order[r].second) : 0.0;
        std::fprintf(out, " %s |", ratio(theirs, times[0]->layer_us(order[r].second)).c_str());
      }
      std::fprintf(out, "\n");
    }
  }
}

void ConvSummaryReporter::print_notes(std::FILE* out) const {
  bool have_onednn = false, have_xnnpack = false;
  for (const ConvImpl& p : setup_.impls) {
    have_onednn = have_onednn || p.name == "onednn";
    have_xnnpack = have_xnnpack || p.name == "xnnpack";
  }
  if (!have_onednn) {
    std::fprintf(out,
                 "\noneDNN not built: install libdnnl-dev (scripts/install-deps.sh "
                 "--bench-peers) and reconfigure.\n");
  }
  if (!have_xnnpack) {
    std::fprintf(out,
                 "\nXNNPACK not built: install libxnnpack-dev (scripts/install-deps.sh "
                 "--bench-peers) and reconfigure.\n");
  }
  if (!setup_.verdicts.empty()) {
    std::fprintf(out,
                 "\nPeer checks (outside timing; (!) marks a peer that disagreed with qeq):\n");
    for (const std::string& v : setup_.verdicts) std::fprintf(out, "- %s\n", v.c_str());
  }
  std::fprintf(
      out,
      "GOPS = 2 x multiply-adds / s (wall time; padding taps counted, depthwise counts its\n"
      "own). All: per-channel symmetric qint8 weights, quint8 activations (zero point 121),\n"
      "f32 bias, ReLU, quint8 output (zero point 128); qeq with PyTorch's onednn engine.\n"
      "oneDNN: convolution_forward u8 x s8 -> u8 NHWC, output scales, src and dst zero\n"
      "points, weights reordered once; threads via OpenMP (omp_set_num_threads).\n"
      "XNNPACK: convolution2d_nhwc_qc8 (per-channel weights; qint8: the same data shifted\n"
      "by 128; int32 bias; setup + run timed). Threads: one pthreadpool of every CPU,\n"
      "shared by qeq and XNNPACK. 'qeq / peer': qeq's speed over the peer's (> 1: qeq\n"
      "faster); 'x 1 thread': qeq's all-core GOPS over its one-thread GOPS.\n");
}

void ConvSummaryReporter::Finalize() {
  std::FILE* out = stdout;
  std::fflush(out);
  std::fprintf(out, "\nqeq_bench_conv summary\n");
  print_layers(out);
  print_networks(out);
  print_worst_layers(out);
  print_notes(out);
  std::fflush(out);
}
