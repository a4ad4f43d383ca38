// qeq_bench: throughput of the range, scaling and quantization kernels on conv and linear
// weights, under
// every ISA cap that selects different kernels, next to streaming-read and read+write
// baselines over the same buffers measured in the same run. Ends with a summary table of
// GB/s and fractions of the baseline.
//
// Weights larger than the last-level cache are streamed from DRAM on every iteration (each
// pass evicts its own head); the small ones are cache-resident, as they are in practice.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/bandwidth-baselines.h"
#include "kernels/equalize-benchmarks.h"
#include "kernels/qops-benchmarks.h"
#include "peers/peer-onednn.h"
#include "qeq/qeq.h"

namespace {

struct Weight {
  const char* label;
  std::vector<size_t> dims;
};

const Weight kWeights[] = {
    {"conv 64x64x3x3", {64, 64, 3, 3}},
    {"conv 512x512x3x3", {512, 512, 3, 3}},
    {"conv 2048x2048x3x3", {2048, 2048, 3, 3}},
    {"linear 4096x4096", {4096, 4096}},
};

enum class Op {
  kBaselineRead,
  kBaselineRead4Way,  // the same bytes as four interleaved streams
  kBaselineReadWrite,
  kRangeAxis0,
  kRangeAxis1,
  kScaleAxis0,
  kQuantizeAxis0,      // f32 -> qint8 per output channel
  kFakeQuantizeAxis0,  // f32 -> f32 per output channel, into a second buffer
  kFakeQuantizeAxis0InPlace,
  kRequantizeAxis0,  // s32 accumulators -> quint8, a multiplier per output channel
};

const Op kAllOps[] = {Op::kBaselineRead,   Op::kBaselineRead4Way,  Op::kBaselineReadWrite,
                      Op::kRangeAxis0,     Op::kRangeAxis1,        Op::kScaleAxis0,
                      Op::kQuantizeAxis0,  Op::kFakeQuantizeAxis0, Op::kFakeQuantizeAxis0InPlace,
                      Op::kRequantizeAxis0};

bool is_baseline(Op op) {
  return op == Op::kBaselineRead || op == Op::kBaselineRead4Way || op == Op::kBaselineReadWrite;
}
bool is_quantization(Op op) {
  return op == Op::kQuantizeAxis0 || op == Op::kFakeQuantizeAxis0 ||
         op == Op::kFakeQuantizeAxis0InPlace || op == Op::kRequantizeAxis0;
}

const char* op_name(Op op) {
  switch (op) {
    case Op::kBaselineRead: return "baseline_read";
    case Op::kBaselineRead4Way: return "baseline_read_4way";
    case Op::kBaselineReadWrite: return "baseline_read_write";
    case Op::kRangeAxis0: return "range_axis0";
    case Op::kRangeAxis1: return "range_axis1";
    case Op::kScaleAxis0: return "scale_axis0_inplace";
    case Op::kQuantizeAxis0: return "quantize_axis0";
    case Op::kFakeQuantizeAxis0: return "fake_quantize_axis0";
    case Op::kFakeQuantizeAxis0InPlace: return "fake_quantize_axis0_inplace";
    case Op::kRequantizeAxis0: return "requantize_axis0";
  }
  return "?";
}

// Which baseline an operation's traffic compares with: operations that write as much as
// they read compare with read+write, the rest (reductions, f32 -> int8) with read.
Op baseline_of(Op op) {
  switch (op) {
    case Op::kScaleAxis0:
    case Op::kFakeQuantizeAxis0:
    case Op::kFakeQuantizeAxis0InPlace: return Op::kBaselineReadWrite;
    default: return Op::kBaselineRead;
  }
}

// Bytes the figure counts per pass: the float (or int32) input, plus the float output for
// the operations compared with read+write.
size_t counted_bytes(Op op, size_t numel) {
  const size_t input = numel * 4;
  const bool writes_back =
      op == Op::kBaselineReadWrite || baseline_of(op) == Op::kBaselineReadWrite;
  return writes_back ? 2 * input : input;
}

// The quantization benchmarks run on the conv weights of 512 and 2048 channels.
bool applies(Op op, const Weight& w) {
  return !is_quantization(op) || (w.dims.size() == 4 && w.dims[0] >= 512);
}

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

// One deterministic weight buffer per element count, shared by every benchmark of that size.
float* weight_buffer(size_t numel) {
  static std::map<size_t, std::unique_ptr<float, AlignedFree>> buffers;
  auto it = buffers.find(numel);
  if (it != buffers.end()) return it->second.get();
  const size_t bytes = (numel * sizeof(float) + 63) / 64 * 64;
  float* data = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (data == nullptr) return nullptr;
  uint64_t state = 0x9e3779b97f4a7c15ull ^ numel;
  for (size_t i = 0; i < numel; i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    data[i] = static_cast<float>(static_cast<int32_t>(state >> 32)) * (1.0f / 2147483648.0f);
  }
  buffers.emplace(numel, std::unique_ptr<float, AlignedFree>(data));
  return data;
}

// A second buffer per element count and purpose (outputs, in-place copies, accumulators).
void* scratch_buffer(const char* purpose, size_t bytes) {
  static std::map<std::pair<std::string, size_t>, std::unique_ptr<float, AlignedFree>> buffers;
  const auto key = std::make_pair(std::string(purpose), bytes);
  auto it = buffers.find(key);
  if (it != buffers.end()) return it->second.get();
  float* data = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  if (data == nullptr) return nullptr;
  std::memset(data, 0, bytes);
  buffers.emplace(key, std::unique_ptr<float, AlignedFree>(data));
  return data;
}

// Symmetric qint8 scales of each output channel, as a per-channel observer would give.
std::vector<float> symmetric_scales(const qeq_shape* shape, const float* x) {
  std::vector<float> absmax(shape->dims[0]);
  qeq_channel_absmax_f32(shape, x, 0, absmax.data());
  for (float& a : absmax) a = std::max(a / 127.5f, 1.1920929e-07f);
  return absmax;
}

std::string shape_tag(const Weight& w) {
  std::string tag;
  for (size_t d : w.dims) tag += (tag.empty() ? "" : "x") + std::to_string(d);
  return tag;
}

void run(benchmark::State& state, Op op, const Weight& w, qeq_isa isa) {
  qeq_shape shape;
  if (qeq_shape_init(&shape, w.dims.size(), w.dims.data()) != QEQ_OK) {
    state.SkipWithError(qeq_last_error());
    return;
  }
  size_t numel = 0;
  qeq_shape_numel(&shape, &numel);
  float* x = weight_buffer(numel);
  if (x == nullptr) {
    state.SkipWithError("cannot allocate the weight");
    return;
  }
  const bool kernel = !is_baseline(op);
  if (kernel && qeq_set_isa_cap(isa) != QEQ_OK) {
    state.SkipWithError(qeq_last_error());
    return;
  }
  const size_t axis_channels = w.dims[op == Op::kRangeAxis1 ? 1 : 0];
  std::vector<float> out(axis_channels);
  // Powers of two, alternating, so repeated in-place scaling never drifts or goes subnormal.
  std::vector<float> up(axis_channels, 2.0f), down(axis_channels, 0.5f);
  std::vector<float> scales, multipliers;
  std::vector<int32_t> zero_points(axis_channels, 0);
  void* y = nullptr;
  int32_t* acc = nullptr;
  if (is_quantization(op)) {
    scales = symmetric_scales(&shape, x);
    const size_t out_bytes =
        op == Op::kQuantizeAxis0 || op == Op::kRequantizeAxis0 ? numel : numel * 4;
    y = scratch_buffer(op_name(op), out_bytes);
    if (op == Op::kFakeQuantizeAxis0InPlace && y != nullptr) std::memcpy(y, x, numel * 4);
    if (op == Op::kRequantizeAxis0) {
      // Accumulators of a few thousand int8 products, and multipliers that map them to
      // roughly the output range.
      acc = static_cast<int32_t*>(scratch_buffer("accumulators", numel * 4));
      if (acc != nullptr) {
        for (size_t i = 0; i < numel; i++) acc[i] = static_cast<int32_t>(x[i] * 262144.0f);
      }
      multipliers.assign(axis_channels, 1.0f / 2048.0f);
      for (size_t c = 0; c < axis_channels; c++) multipliers[c] *= 1.0f + 0.001f * (float)(c % 97);
    }
    if (y == nullptr || (op == Op::kRequantizeAxis0 && acc == nullptr)) {
      state.SkipWithError("cannot allocate the output");
      qeq_clear_isa_cap();
      return;
    }
  }

  qeq_status status = QEQ_OK;
  size_t iteration = 0;
  for (auto _ : state) {
    switch (op) {
      case Op::kBaselineRead: benchmark::DoNotOptimize(stream_read(x, numel)); break;
      case Op::kBaselineRead4Way: benchmark::DoNotOptimize(stream_read_4way(x, numel)); break;
      case Op::kBaselineReadWrite: stream_read_write(x, numel); break;
      case Op::kRangeAxis0: status = qeq_channel_range_f32(&shape, x, 0, out.data()); break;
      case Op::kRangeAxis1: status = qeq_channel_range_f32(&shape, x, 1, out.data()); break;
      case Op::kScaleAxis0:
        status =
            qeq_scale_channels_f32(&shape, x, 0, (iteration++ & 1) ? down.data() : up.data(), x);
        break;
      case Op::kQuantizeAxis0:
        status = qeq_quantize_f32(&shape, x, 0, QEQ_DTYPE_QINT8, axis_channels, scales.data(),
                                  zero_points.data(), y);
        break;
      case Op::kFakeQuantizeAxis0:
        status = qeq_fake_quantize_f32(&shape, x, 0, axis_channels, scales.data(),
                                       zero_points.data(), -128, 127, static_cast<float*>(y));
        break;
      case Op::kFakeQuantizeAxis0InPlace:
        // After the first pass the values sit on the grid, and stay there: same work each time.
        status =
            qeq_fake_quantize_f32(&shape, static_cast<float*>(y), 0, axis_channels, scales.data(),
                                  zero_points.data(), -128, 127, static_cast<float*>(y));
        break;
      case Op::kRequantizeAxis0:
        status = qeq_requantize_s32(&shape, acc, 0, axis_channels, multipliers.data(), 128, 0, 255,
                                    QEQ_DTYPE_QUINT8, y);
        break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  if (kernel) qeq_clear_isa_cap();
  if (status != QEQ_OK) {
    state.SkipWithError(qeq_last_error());
    return;
  }
  // Leave the shared buffer as it was: an odd number of passes left it scaled by 2.
  if (op == Op::kScaleAxis0 && (iteration & 1)) {
    qeq_scale_channels_f32(&shape, x, 0, down.data(), x);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(counted_bytes(op, numel)));
  if (kernel) state.SetLabel(qeq_isa_name(isa));
}

// ISA caps worth benchmarking: each detected level whose kernel selection differs from every
// level already listed (avx512vnni picks the avx512 kernels until a VNNI kernel exists).
std::vector<qeq_isa> distinct_isas(std::string* note) {
  std::vector<qeq_isa> isas;
  std::vector<std::string> selections;
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    const qeq_isa isa = static_cast<qeq_isa>(i);
    if (!qeq_isa_detected(isa) || qeq_set_isa_cap(isa) != QEQ_OK) continue;
    std::string selection;
    for (size_t f = 0; f < qeq_kernel_family_count(); f++) {
      selection += qeq_kernel_variant_name(qeq_kernel_family_name(f));
      selection += ' ';
    }
    const auto same = std::find(selections.begin(), selections.end(), selection);
    if (same == selections.end()) {
      isas.push_back(isa);
      selections.push_back(selection);
    } else {
      *note += std::string(qeq_isa_name(isa)) + " (same kernels as " +
               qeq_isa_name(isas[static_cast<size_t>(same - selections.begin())]) + ") ";
    }
  }
  qeq_clear_isa_cap();
  return isas;
}

struct Result {
  double bytes_per_second_sum = 0;
  double time_sum = 0;  // per iteration, in the benchmark's unit
  double sweeps = 0;
  int count = 0;
  double gbps() const { return count ? bytes_per_second_sum / count / 1e9 : 0.0; }
  double time() const { return count ? time_sum / count : 0.0; }
};

// Console output as usual, then the summary table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal: the reporter is ours, so --benchmark_color does not reach it.
  explicit SummaryReporter(std::string skipped)
      : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular),
        skipped_(std::move(skipped)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto it = run.counters.find("bytes_per_second");
      if (it == run.counters.end()) continue;
      // The name is op/[isa/]shape; the ISA also travels in the label.
      Result& r = results_[run.run_name.function_name];
      r.bytes_per_second_sum += it->second.value;
      r.time_sum += run.GetAdjustedRealTime();
      auto sweeps = run.counters.find("sweeps");
      if (sweeps != run.counters.end()) r.sweeps = sweeps->second.value;
      r.count++;
    }
  }

  void Finalize() override {
    std::FILE* out = stdout;
    std::fflush(out);
    std::fprintf(out,
                 "\nqeq_bench summary (single thread; baselines use %s loads; weights "
                 "bigger than the LLC are cold)\n\n",
                 stream_isa());
    std::fprintf(
        out, "| operation | weight | MiB | ISA | GB/s | fraction of baseline | of 4-way read |\n");
    std::fprintf(out, "|---|---|---:|---|---:|---:|---:|\n");
    for (const Weight& w : kWeights) {
      double mib = 4.0 / (1024.0 * 1024.0);
      for (size_t d : w.dims) mib *= static_cast<double>(d);
      for (Op op : kAllOps) {
        if (!applies(op, w)) continue;
        const bool baseline = is_baseline(op);
        const double base = find(name_of(baseline_of(op), w, nullptr));
        const double base_4way = find(name_of(Op::kBaselineRead4Way, w, nullptr));
        for (const std::string& isa : isa_names_for(baseline)) {
          const double gbps = find(name_of(op, w, baseline ? nullptr : isa.c_str()));
          if (gbps <= 0) continue;
          char fraction[32] = "-";
          if (!baseline && base > 0)
            std::snprintf(fraction, sizeof fraction, "%.2f of %s", gbps / base,
                          baseline_of(op) == Op::kBaselineRead ? "read" : "r+w");
          char fraction_4way[32] = "-";
          if (!baseline && baseline_of(op) == Op::kBaselineRead && base_4way > 0)
            std::snprintf(fraction_4way, sizeof fraction_4way, "%.2f", gbps / base_4way);
          std::fprintf(out, "| %s | %s | %.1f | %s | %.2f | %s | %s |\n", op_name(op), w.label, mib,
                       baseline ? "-" : isa.c_str(), gbps, fraction, fraction_4way);
        }
      }
    }
    if (!layer_rows.empty()) {
      std::fprintf(out,
                   "\n| layer operation | weights | MiB | ISA | ms per call | GB/s | "
                   "fraction of baseline |\n|---|---|---:|---|---:|---:|---:|\n");
      for (const LayerBenchmarkRow& row : layer_rows) {
        auto it = results_.find(row.name);
        if (it == results_.end()) continue;
        const Result& r = it->second;
        char fraction[48] = "-";
        const double base = row.baseline.empty() ? 0.0 : find(row.baseline);
        if (base > 0) {
          std::snprintf(fraction, sizeof fraction, "%.2f of %s", r.gbps() / base,
                        row.baseline.find("write") != std::string::npos ? "r+w" : "read");
        }
        std::string operation = row.operation;
        if (r.sweeps > 0)
          operation += " (" + std::to_string(static_cast<int>(r.sweeps)) + " sweeps)";
        std::fprintf(out, "| %s | %s | %.1f | %s | %.1f | %.2f | %s |\n", operation.c_str(),
                     row.weights.c_str(), row.mib, row.isa.c_str(), r.time(), r.gbps(), fraction);
      }
      std::fprintf(out,
                   "Layer operations count the bytes of their weights once per call (the\n"
                   "fold: read and written); baselines are those of the 2048x2048x3x3 weight.\n");
    }
    print_qops(out);
    if (!peer_rows.empty() && !isas.empty()) {
      // The ISA a caller gets (the best detected); isas is in registry order, not by rank.
      const std::string dispatched = qeq_isa_name(qeq_isa_best_detected());
      const std::string& best =
          std::find(isas.begin(), isas.end(), dispatched) != isas.end() ? dispatched : isas.back();
      std::fprintf(out,
                   "\n| peer (oneDNN %s) | weight | GB/s | fraction of baseline | qeq %s GB/s | "
                   "qeq / peer |\n|---|---|---:|---:|---:|---:|\n",
                   "2.x", best.c_str());
      for (const PeerRow& row : peer_rows) {
        const std::string tag = row.name.substr(row.name.find('/') + 1);
        const double gbps = find(row.name);
        const double base = find(row.baseline + "/" + tag);
        const double ours = find(row.qeq_name + "/" + best + "/" + tag);
        if (gbps <= 0) continue;
        std::fprintf(out, "| %s | %s | %.2f | %.2f | %.2f | %.1f |\n", row.peer_op.c_str(),
                     tag.c_str(), gbps, base > 0 ? gbps / base : 0.0, ours,
                     ours > 0 ? ours / gbps : 0.0);
      }
      std::fprintf(out,
                   "Peers run single-threaded only with OMP_NUM_THREADS=1 "
                   "(scripts/run-benchmark.sh sets it).\n");
    }
    if (!skipped_.empty())
      std::fprintf(out, "\nNot benchmarked separately: %s\n", skipped_.c_str());
    std::fprintf(out,
                 "GB/s counts the float32 (requantize: int32) bytes read, plus the float32 bytes\n"
                 "written for operations compared with read+write (scaling, fake-quantize).\n"
                 "fake_quantize_axis0 writes a second buffer: three streams against the\n"
                 "baseline's two (read, and write back in place).\n"
                 "baseline_read_4way reads the same bytes as four interleaved streams; where it\n"
                 "beats baseline_read, one stream does not reach this core's bandwidth.\n");
  }

  std::vector<std::string> isas;
  std::vector<LayerBenchmarkRow> layer_rows;
  std::vector<LayerBenchmarkRow> qops_rows;
  std::vector<PeerRow> peer_rows;

  static std::string name_of(Op op, const Weight& w, const char* isa) {
    std::string name = op_name(op);
    if (isa != nullptr) name += std::string("/") + isa;
    return name + "/" + shape_tag(w);
  }

 private:
  void print_qops(std::FILE* out) const {
    if (qops_rows.empty()) return;
    std::fprintf(out,
                 "\n| quantized op | tensor | MiB | ISA | us per call | GB/s | fraction of "
                 "read |\n|---|---|---:|---|---:|---:|---:|\n");
    for (const LayerBenchmarkRow& row : qops_rows) {
      auto it = results_.find(row.name);
      if (it == results_.end()) continue;
      const double base = find(row.baseline);
      std::fprintf(out, "| %s | %s | %.2f | %s | %.1f | %.2f | %.2f |\n", row.operation.c_str(),
                   row.weights.c_str(), row.mib, row.isa.c_str(), it->second.time(),
                   it->second.gbps(), base > 0 ? it->second.gbps() / base : 0.0);
    }
    std::fprintf(out,
                 "Quantized ops count the bytes read once plus the bytes written per call; the\n"
                 "baseline streams a buffer of the tensor's size (784 KiB) in the same run.\n");
  }

  double find(const std::string& name) const {
    auto it = results_.find(name);
    return it == results_.end() ? 0.0 : it->second.gbps();
  }
  std::vector<std::string> isa_names_for(bool baseline) const {
    return baseline ? std::vector<std::string>{"-"} : isas;
  }

  std::string skipped_;
  std::map<std::string, Result> results_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::string skipped;
  const std::vector<qeq_isa> isas = distinct_isas(&skipped);
  SummaryReporter reporter(skipped);
  for (qeq_isa isa : isas) reporter.isas.push_back(qeq_isa_name(isa));

  // Baselines first for each weight, then every kernel on it, so each ratio compares
  // measurements taken moments apart.
  for (const Weight& w : kWeights) {
    for (Op op : {Op::kBaselineRead, Op::kBaselineRead4Way, Op::kBaselineReadWrite}) {
      benchmark::RegisterBenchmark(SummaryReporter::name_of(op, w, nullptr).c_str(),
                                   [op, &w](benchmark::State& s) { run(s, op, w, QEQ_ISA_SCALAR); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
    for (Op op : kAllOps) {
      if (is_baseline(op) || !applies(op, w)) continue;
      for (qeq_isa isa : isas) {
        benchmark::RegisterBenchmark(SummaryReporter::name_of(op, w, qeq_isa_name(isa)).c_str(),
                                     [op, &w, isa](benchmark::State& s) { run(s, op, w, isa); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  const Weight& conv2048 = kWeights[2];
  reporter.layer_rows = register_layer_benchmarks(
      isas, SummaryReporter::name_of(Op::kBaselineRead, conv2048, nullptr),
      SummaryReporter::name_of(Op::kBaselineReadWrite, conv2048, nullptr));
  reporter.qops_rows = register_qops_benchmarks(isas);
#ifdef QEQ_BENCH_HAVE_ONEDNN
  {
    size_t numel = 1;
    for (size_t d : conv2048.dims) numel *= d;
    float* weight = weight_buffer(numel);
    if (weight != nullptr) {
      reporter.peer_rows = register_onednn_benchmarks(conv2048.dims, weight, shape_tag(conv2048));
    }
  }
#endif
  std::printf("qeq %s; best detected ISA %s; benchmarking caps:", qeq_version_string(),
              qeq_isa_name(qeq_isa_best_detected()));
  for (qeq_isa isa : isas) std::printf(" %s", qeq_isa_name(isa));
  std::printf("\n");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
