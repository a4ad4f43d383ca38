#include "kernels/equalize-benchmarks.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

// Deterministic weights whose output channels differ in magnitude by up to 2^6, as trained
// layers' do (otherwise every scale is 1 and CLE has nothing to do).
void fill_weight(std::vector<float>& w, size_t out_channels, uint64_t seed) {
  const size_t per_channel = w.size() / out_channels;
  uint64_t state = seed;
  for (size_t i = 0; i < w.size(); i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const float unit =
        static_cast<float>(static_cast<int32_t>(state >> 32)) * (1.0f / 2147483648.0f);
    w[i] = unit * static_cast<float>(1u << ((i / per_channel) % 7));
  }
}

qeq_layer conv2d(std::vector<float>& w, std::vector<float>* bias, size_t out, size_t in, size_t k) {
  const size_t dims[4] = {out, in, k, k};
  qeq_layer layer;
  qeq_layer_init(&layer, QEQ_LAYER_CONV2D, 4, dims, w.data(), bias ? bias->data() : nullptr, 1,
                 QEQ_ACTIVATION_RELU);
  return layer;
}

bool set_cap(benchmark::State& state, qeq_isa isa) {
  if (qeq_set_isa_cap(isa) == QEQ_OK) return true;
  state.SkipWithError(qeq_last_error());
  return false;
}

constexpr size_t kBig = 2048;  // (2048, 2048, 3, 3): 144 MiB per weight

void cle_pair(benchmark::State& state, qeq_isa isa) {
  static std::vector<float> w1(kBig * kBig * 9), w2(kBig * kBig * 9), b1(kBig);
  static bool filled = false;
  if (!filled) {
    fill_weight(w1, kBig, 1), fill_weight(w2, kBig, 2), filled = true;
    for (size_t c = 0; c < kBig; c++) b1[c] = 0.01f * static_cast<float>(c % 13);
  }
  if (!set_cap(state, isa)) return;
  qeq_layer a = conv2d(w1, &b1, kBig, kBig, 3), b = conv2d(w2, nullptr, kBig, kBig, 3);
  for (auto _ : state) {
    if (qeq_cross_layer_equalize(&a, &b, nullptr) != QEQ_OK) {
      state.SkipWithError(qeq_last_error());
      break;
    }
    benchmark::ClobberMemory();
  }
  qeq_clear_isa_cap();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(2 * w1.size() * sizeof(float)));
  state.SetLabel(qeq_isa_name(isa));
}

void fold_batch_norm(benchmark::State& state, qeq_isa isa) {
  static std::vector<float> w(kBig * kBig * 9), bias(kBig);
  static bool filled = false;
  if (!filled) fill_weight(w, kBig, 3), filled = true;
  if (!set_cap(state, isa)) return;
  // var + eps = 1 exactly and gamma alternating 2 and 1/2: repeated folds never drift.
  std::vector<float> mean(kBig, 0.0f), var(kBig, 1.0f), up(kBig, 2.0f), down(kBig, 0.5f);
  qeq_layer layer = conv2d(w, &bias, kBig, kBig, 3);
  size_t iteration = 0;
  for (auto _ : state) {
    const qeq_batch_norm bn = {
        kBig, mean.data(), var.data(), (iteration++ & 1) ? down.data() : up.data(), nullptr, 0.0f};
    if (qeq_fold_batch_norm(&layer, &bn, nullptr) != QEQ_OK) {
      state.SkipWithError(qeq_last_error());
      break;
    }
    benchmark::ClobberMemory();
  }
  if (iteration & 1) {
    const qeq_batch_norm bn = {kBig, mean.data(), var.data(), down.data(), nullptr, 0.0f};
    qeq_fold_batch_norm(&layer, &bn, nullptr);
  }
  qeq_clear_isa_cap();
  // A fold reads and writes each weight once.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(2 * w.size() * sizeof(float)));
  state.SetLabel(qeq_isa_name(isa));
}

constexpr size_t kChainLength = 8, kChainChannels = 256;

void equalize_chain(benchmark::State& state, qeq_isa isa) {
  const size_t numel = kChainChannels * kChainChannels * 9;
  static std::vector<std::vector<float>> pristine, working, biases;
  if (pristine.empty()) {
    for (size_t j = 0; j < kChainLength; j++) {
      // PyTorch's default Conv2d init, uniform in +-1/sqrt(fan_in): with much larger weights
      // float32 rounding alone keeps the absolute change above 1e-4 and no sweep converges.
      pristine.emplace_back(numel);
      uint64_t state = 10 + j;
      for (float& v : pristine.back()) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        v = static_cast<float>(static_cast<int32_t>(state >> 32)) * (1.0f / 2147483648.0f / 48.0f);
      }
      working.push_back(pristine.back());
      biases.emplace_back(kChainChannels, 0.1f);
    }
  }
  if (!set_cap(state, isa)) return;
  std::vector<qeq_layer> layers;
  std::vector<qeq_layer*> chain;
  for (size_t j = 0; j < kChainLength; j++) {
    layers.push_back(conv2d(working[j], &biases[j], kChainChannels, kChainChannels, 3));
  }
  for (qeq_layer& l : layers) chain.push_back(&l);
  const size_t group = kChainLength;
  qeq_equalize_report report = {0, 0.0, 0};
  for (auto _ : state) {
    state.PauseTiming();  // every run starts from the same unequalized chain
    for (size_t j = 0; j < kChainLength; j++) {
      std::memcpy(working[j].data(), pristine[j].data(), numel * sizeof(float));
      std::fill(biases[j].begin(), biases[j].end(), 0.1f);
    }
    state.ResumeTiming();
    if (qeq_equalize(chain.data(), &group, 1, 1e-4f, 1000, &report) != QEQ_OK) {
      state.SkipWithError(qeq_last_error());
      break;
    }
  }
  qeq_clear_isa_cap();
  state.counters["sweeps"] = static_cast<double>(report.sweeps);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(kChainLength * numel * sizeof(float)));
  state.SetLabel(qeq_isa_name(isa));
}

}  // namespace

std::vector<LayerBenchmarkRow> register_layer_benchmarks(const std::vector<qeq_isa>& isas,
                                                         const std::string& read_baseline,
                                                         const std::string& read_write_baseline) {
  std::vector<LayerBenchmarkRow> rows;
  const double big_mib = 4.0 * kBig * kBig * 9 / (1024.0 * 1024.0);
  const double chain_mib =
      4.0 * kChainLength * kChainChannels * kChainChannels * 9 / (1024.0 * 1024.0);
  for (qeq_isa isa : isas) {
    const std::string tag = qeq_isa_name(isa);
    struct Entry {
      const char* op;
      const char* weights;
      double mib;
      void (*fn)(benchmark::State&, qeq_isa);
      std::string baseline;
    } entries[] = {
        // CLE: GB/s of weights (each is read twice and written once), against read.
        {"cle_pair", "2 x conv 2048x2048x3x3", 2 * big_mib, cle_pair, read_baseline},
        // The chain fits in cache and runs many sweeps: its time is the figure.
        {"equalize_chain", "8 x conv 256x256x3x3", chain_mib, equalize_chain, ""},
        // Folding reads and writes each weight once: against read+write.
        {"fold_batch_norm", "conv 2048x2048x3x3", big_mib, fold_batch_norm, read_write_baseline},
    };
    for (const Entry& e : entries) {
      const std::string name = std::string(e.op) + "/" + tag;
      auto fn = e.fn;
      benchmark::RegisterBenchmark(name.c_str(), [fn, isa](benchmark::State& s) { fn(s, isa); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      rows.push_back({name, e.op, e.weights, e.mib, tag, e.baseline});
    }
  }
  return rows;
}
