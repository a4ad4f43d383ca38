#include "conv/conv-benchmarks.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>

#include "common/bench-pool.h"
#include "conv/conv-networks.h"
#ifdef QEQ_BENCH_HAVE_ONEDNN
#include "peers/peer-onednn-conv.h"
#endif
#ifdef QEQ_BENCH_HAVE_XNNPACK
#include "peers/peer-xnnpack-conv.h"
#endif

const ConvShape kConvLayers[11] = {
    {"56x56x64_3x3_64", 56, 56, 64, 64, 1, 3, 1, 1},
    {"28x28x128_3x3_128", 28, 28, 128, 128, 1, 3, 1, 1},
    {"14x14x256_3x3_256", 14, 14, 256, 256, 1, 3, 1, 1},
    {"56x56x64_3x3s2_128", 56, 56, 64, 128, 1, 3, 2, 1},
    {"14x14x256_1x1_64", 14, 14, 256, 64, 1, 1, 1, 0},
    {"14x14x256_1x1_1024", 14, 14, 256, 1024, 1, 1, 1, 0},
    {"112x112x32_dw3x3", 112, 112, 32, 32, 32, 3, 1, 1},
    {"56x56x144_dw3x3", 56, 56, 144, 144, 144, 3, 1, 1},
    {"56x56x144_1x1_24", 56, 56, 144, 24, 1, 1, 1, 0},
    {"56x56x96_1x1_24", 56, 56, 96, 24, 1, 1, 1, 0},
    {"112x112x32_1x1_16", 112, 112, 32, 16, 1, 1, 1, 0},
};

namespace {

pthreadpool* pool_for(size_t threads) {
  return threads > 1 ? bench_pool() : nullptr;
}

std::map<std::string, std::vector<double>>& run_log() {
  static std::map<std::string, std::vector<double>> log;
  return log;
}

// Runs conv once, appends its wall time to `log` and returns it.
double timed_run(ConvRunner& conv, std::vector<double>* log, bool* ok) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  *ok = conv.run() && *ok;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  log->push_back(seconds);
  return seconds;
}

void run_layer(benchmark::State& state, const ConvImpl& impl, const ConvShape& s, size_t threads) {
  std::string error;
  std::unique_ptr<ConvRunner> conv = impl.make(conv_problem(s), threads, &error);
  if (!conv) {
    state.SkipWithError(error.c_str());
    return;
  }
  bool ok = conv->run();  // untimed: builds indirection tables, faults the output in
  std::vector<double>& log = run_log()[conv_bench_name(impl.name, threads, s.name)];
  for (auto _ : state) {
    state.SetIterationTime(timed_run(*conv, &log, &ok));
    benchmark::ClobberMemory();
  }
  if (!ok) state.SkipWithError((impl.title + ": run failed").c_str());
  state.SetLabel(conv->label());
  report_conv_ops(state, s);
}

// The network's layers one after another, each on its own operands, each timed alone; the
// iteration time is the sum of the layer times.
void run_network(benchmark::State& state, const ConvImpl& impl, const ConvNetwork& net) {
  std::vector<std::unique_ptr<ConvRunner>> layers;
  bool ok = true;
  for (size_t i = 0; i < net.count; i++) {
    std::string error;
    layers.push_back(impl.make(conv_problem_of(impl, net.layers[i]), 1, &error));
    if (!layers.back()) {
      state.SkipWithError((std::string(net.layers[i].name) + ": " + error).c_str());
      return;
    }
    ok = layers.back()->run() && ok;  // untimed warm-up
  }
  std::vector<std::vector<double>*> logs;
  for (size_t i = 0; i < net.count; i++)
    logs.push_back(&run_log()[network_layer_key(conv_bench_name(impl.name, 1, net.name), i)]);
  for (auto _ : state) {
    double total = 0;
    for (size_t i = 0; i < net.count; i++) total += timed_run(*layers[i], logs[i], &ok);
    state.SetIterationTime(total);
  }
  if (!ok) state.SkipWithError((impl.title + ": run failed").c_str());
  double ops = 0;
  for (size_t i = 0; i < net.count; i++) ops += conv_ops(net.layers[i]);
  state.counters["ops"] =
      benchmark::Counter(ops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

}  // namespace

std::vector<ConvImpl> conv_impls() {
  std::vector<ConvImpl> impls;
  impls.push_back({"qeq", "qeq", false, [](const ConvProblem& p, size_t t, std::string* e) {
                     return make_qeq_conv(p, false, pool_for(t), e);
                   }});
#ifdef QEQ_BENCH_HAVE_ONEDNN
  impls.push_back({"onednn", "oneDNN", false, make_onednn_conv});
#endif
#ifdef QEQ_BENCH_HAVE_XNNPACK
  impls.push_back({"xnnpack", "XNNPACK", true, [](const ConvProblem& p, size_t t, std::string* e) {
                     return make_xnnpack_conv(p, pool_for(t), e);
                   }});
#endif
  return impls;
}

std::vector<ConvImpl> conv_u7_impls() {
  std::vector<ConvImpl> impls;
  impls.push_back({"qeq_u7", "qeq u7", false,
                   [](const ConvProblem& p, size_t t, std::string* e) {
                     return make_qeq_conv(p, false, pool_for(t), e);
                   },
                   true});
#ifdef QEQ_BENCH_HAVE_ONEDNN
  impls.push_back({"onednn_u7", "oneDNN u7", false, make_onednn_conv, true});
#endif
  return impls;
}

const ConvProblem& conv_problem_of(const ConvImpl& impl, const ConvShape& s) {
  return impl.u7 ? conv_problem_u7(s) : conv_problem(s);
}

std::string conv_bench_name(const std::string& impl, size_t threads, const std::string& what) {
  return impl + "/" + std::to_string(threads) + "t/" + what;
}

std::string network_layer_key(const std::string& network_bench, size_t layer) {
  return network_bench + "#" + std::to_string(layer);
}

double median_run_us(const std::string& key) {
  auto it = run_log().find(key);
  if (it == run_log().end() || it->second.empty()) return 0.0;
  std::vector<double> sorted = it->second;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  return (n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2])) * 1e6;
}

void register_conv_benchmarks(const std::vector<ConvImpl>& impls,
                              const std::vector<size_t>& thread_counts, double min_time) {
  for (const ConvShape& s : kConvLayers) {
    for (size_t threads : thread_counts) {
      for (const ConvImpl& impl : impls) {
        benchmark::RegisterBenchmark(
            conv_bench_name(impl.name, threads, s.name).c_str(),
            [impl, s, threads](benchmark::State& st) { run_layer(st, impl, s, threads); })
            ->UseManualTime()  // each run's wall time, as logged
            ->MinTime(min_time)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  register_conv_network_benchmarks(impls, min_time);
}

void register_conv_network_benchmarks(const std::vector<ConvImpl>& impls, double min_time) {
  for (const ConvNetwork& net : kConvNetworks) {
    for (const ConvImpl& impl : impls) {
      benchmark::RegisterBenchmark(
          conv_bench_name(impl.name, 1, net.name).c_str(),
          [impl, net](benchmark::State& st) { run_network(st, impl, net); })
          ->UseManualTime()
          ->MinTime(3 * min_time)  // passes of 5-50 ms: enough of them for the medians
          ->Unit(benchmark::kMillisecond);
    }
  }
}
