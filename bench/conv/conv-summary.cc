#include "conv/conv-summary.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/table-format.h"
#include "conv/conv-networks.h"

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

// The median time of layer i in impl's network benchmark; 0 if it did not run.
double layer_us(const ConvImpl& impl, const ConvNetwork& net, size_t i) {
  return median_run_us(network_layer_key(conv_bench_name(impl.name, 1, net.name), i));
}

}  // namespace

ConvSummaryReporter::ConvSummaryReporter(ConvSummarySetup setup)
    // Colour only on a terminal: the reporter is ours, so --benchmark_color does not reach it.
    : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular),
      setup_(std::move(setup)) {}

void ConvSummaryReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (!run.error_occurred) labels_[run.run_name.function_name] = run.report_label;
  }
}

double ConvSummaryReporter::gops(const ConvImpl& impl, size_t threads, const ConvShape& s) const {
  const double us = median_run_us(conv_bench_name(impl.name, threads, s.name));
  return us > 0 ? conv_ops(s) / us * 1e-3 : 0.0;
}

std::string ConvSummaryReporter::title(const ConvImpl& impl) const {
  auto it = setup_.agreed.find(impl.name);
  return impl.title + (it != setup_.agreed.end() && !it->second ? " (!)" : "");
}

void ConvSummaryReporter::print_layers(std::FILE* out) const {
  const ConvImpl& qeq = setup_.impls.front();
  const std::vector<ConvImpl> peers(setup_.impls.begin() + 1, setup_.impls.end());
  std::fprintf(out, "\nint8 convolution layers, batch 1: GOPS from the median run time\n\n");
  std::fprintf(out, "| layer (H x W x C, kernel / stride, O) | threads | qeq GOPS | qeq kernel |");
  for (const ConvImpl& p : peers) std::fprintf(out, " %s GOPS |", title(p).c_str());
  for (const ConvImpl& p : peers) std::fprintf(out, " qeq / %s |", p.title.c_str());
  std::fprintf(out, " qeq x 1 thread |\n|---|---:|---:|---|");
  for (size_t i = 0; i < 2 * peers.size() + 1; i++) std::fprintf(out, "---:|");
  std::fprintf(out, "\n");
  for (const ConvShape& s : kConvLayers) {
    for (size_t t : setup_.threads) {
      const double q = gops(qeq, t, s);
      auto label = labels_.find(conv_bench_name(qeq.name, t, s.name));
      std::fprintf(out, "| %s | %zu | %s | %s |", describe(s).c_str(), t, fixed(q, 1).c_str(),
                   label == labels_.end() ? "" : strip_prefix(label->second, "qeq_").c_str());
      for (const ConvImpl& p : peers) {
        auto impl = labels_.find(conv_bench_name(p.name, t, s.name));
        const bool named = p.name == "onednn" && impl != labels_.end();
        std::fprintf(out, " %s%s |", fixed(gops(p, t, s), 1).c_str(),
                     named ? (" (" + impl->second + ")").c_str() : "");
      }
      for (const ConvImpl& p : peers) std::fprintf(out, " %s |", ratio(q, gops(p, t, s)).c_str());
      std::fprintf(out, " %s |\n", t > 1 ? ratio(q, gops(qeq, 1, s)).c_str() : "-");
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
        double sum = 0;
        bool complete = true;  // a layer that did not run leaves no sum
        for (size_t i = 0; i < net.count; i++) {
          if (!included(net.layers[i])) continue;
          const double us = layer_us(p, net, i);
          sum += us * 1e-3;
          complete = complete && us > 0;
        }
        ms.push_back(complete ? sum : 0.0);
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

// The network sums on 7-bit activations, each peer marked exact or INEXACT by its check in
// this run (for oneDNN's AVX2 path, exact is what the 7-bit range is for).
void ConvSummaryReporter::print_networks_u7(std::FILE* out) const {
  const std::vector<ConvImpl>& impls = setup_.u7_impls;
  if (impls.empty()) return;
  std::fprintf(out,
               "\nWhole networks on 7-bit activations (quint8 in [0, 127], zero point 60): ms = "
               "sum of the layers' median times, one thread\n\n| network | layers | GOP |");
  for (const ConvImpl& p : impls) {
    auto it = setup_.agreed.find(p.name);
    const char* mark = p.name == impls.front().name              ? ""
                       : it != setup_.agreed.end() && it->second ? " (exact)"
                                                                 : " (INEXACT)";
    std::fprintf(out, " %s%s ms |", p.title.c_str(), mark);
  }
  for (size_t i = 1; i < impls.size(); i++)
    std::fprintf(out, " %s / %s |", impls[0].title.c_str(), impls[i].title.c_str());
  std::fprintf(out, "\n|---|---:|---:|");
  for (size_t i = 0; i < 2 * impls.size() - 1; i++) std::fprintf(out, "---:|");
  std::fprintf(out, "\n");
  for (const ConvNetwork& net : kConvNetworks) {
    double ops = 0;
    for (size_t i = 0; i < net.count; i++) ops += conv_ops(net.layers[i]);
    std::vector<double> ms;
    for (const ConvImpl& p : impls) {
      double sum = 0;
      bool complete = true;
      for (size_t i = 0; i < net.count; i++) {
        const double us = layer_us(p, net, i);
        sum += us * 1e-3;
        complete = complete && us > 0;
      }
      ms.push_back(complete ? sum : 0.0);
    }
    std::fprintf(out, "| %s | %zu | %.2f |", net.name, net.count, ops * 1e-9);
    for (double m : ms) std::fprintf(out, " %s |", fixed(m, 2).c_str());
    for (size_t i = 1; i < ms.size(); i++) std::fprintf(out, " %s |", ratio(ms[i], ms[0]).c_str());
    std::fprintf(out, "\n");
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
    const size_t impls = setup_.impls.size();        // qeq and the peers
    std::vector<std::vector<double>> us(net.count);  // [layer][impl]
    for (size_t i = 0; i < net.count; i++) {
      for (const ConvImpl& p : setup_.impls) us[i].push_back(layer_us(p, net, i));
    }
    // qeq's time over the faster peer's: the larger, the further behind.
    std::vector<std::pair<double, size_t>> order;
    for (size_t i = 0; i < net.count; i++) {
      double best = 0;
      for (size_t j = 1; j < impls; j++) {
        if (us[i][j] > 0 && (best == 0 || us[i][j] < best)) best = us[i][j];
      }
      if (best > 0 && us[i][0] > 0) order.push_back({us[i][0] / best, i});
    }
    std::sort(order.rbegin(), order.rend());
    for (size_t r = 0; r < order.size() && r < kWorst; r++) {
      const size_t i = order[r].second;
      const ConvShape& s = net.layers[i];
      std::fprintf(out, "| %s | %s | %s | %.1f |", net.name, s.name, describe(s).c_str(),
                   conv_ops(s) * 1e-6);
      for (double t : us[i]) std::fprintf(out, " %s |", fixed(t, 1).c_str());
      for (size_t j = 1; j < impls; j++)
        std::fprintf(out, " %s |", ratio(us[i][j], us[i][0]).c_str());
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
      "Every run is timed alone (wall clock); the tables use each benchmark's median run\n"
      "over all its repetitions. GOPS = 2 x multiply-adds / median time (padding taps\n"
      "counted; depthwise counts its own). All: per-channel symmetric qint8 weights, quint8\n"
      "activations (zero point 121), f32 bias, ReLU, quint8 output (zero point 128); qeq\n"
      "with PyTorch's onednn engine. oneDNN: convolution_forward u8 x s8 -> u8 NHWC, output\n"
      "scales, src and dst zero points, weights reordered once; threads via OpenMP\n"
      "(omp_set_num_threads). XNNPACK: convolution2d_nhwc_qc8 (per-channel weights; qint8:\n"
      "the same data shifted by 128; int32 bias; setup + run timed). Threads: one\n"
      "pthreadpool of every CPU, shared by qeq and XNNPACK. 'qeq / peer': qeq's speed over\n"
      "the peer's (> 1: qeq faster); 'x 1 thread': qeq's all-core GOPS over its one-thread\n"
      "GOPS. Network layers each run on their own random operands (no data flows between\n"
      "them); qeq's depthwise layers take its qu8s8_dwconv path, the others the GEMM path.\n");
}

void ConvSummaryReporter::Finalize() {
  std::FILE* out = stdout;
  std::fflush(out);
  std::fprintf(out, "\nqeq_bench_conv summary\n");
  print_layers(out);
  print_networks(out);
  print_networks_u7(out);
  print_worst_layers(out);
  print_notes(out);
  std::fflush(out);
}
