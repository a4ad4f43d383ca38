#include "gemm/gemm-benchmarks.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <functional>

const GemmShape kGemmOutputShapes[2] = {{16, 1024, 1024}, {1024, 1024, 1024}};

std::vector<GemmIsa> distinct_gemm_isas(std::string* skipped) {
  std::vector<GemmIsa> isas;
  const GemmProblem& p = gemm_problem({4, 64, 64});
  const qeq_gemm_config config = gemm_config(p, QEQ_GEMM_OUTPUT_QUANTIZED, false);
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    const qeq_isa isa = static_cast<qeq_isa>(i);
    if (!qeq_isa_detected(isa) || qeq_set_isa_cap(isa) != QEQ_OK) continue;
    qeq_gemm* gemm = nullptr;
    if (qeq_gemm_create(&config, &gemm) != QEQ_OK) {
      *skipped += std::string(qeq_isa_name(isa)) + " (" + qeq_last_error() + ") ";
      continue;
    }
    const std::string kernel = qeq_gemm_kernel_name(gemm);
    const bool pair_path =
        std::string(qeq_kernel_variant_paths("qu8s8_gemm")).rfind("vpmaddubsw", 0) == 0;
    qeq_gemm_destroy(gemm);
    auto same = std::find_if(isas.begin(), isas.end(),
                             [&](const GemmIsa& seen) { return seen.kernel == kernel; });
    if (same == isas.end()) {
      isas.push_back({isa, kernel, pair_path});
    } else {
      *skipped +=
          std::string(qeq_isa_name(isa)) + " (same kernel as " + qeq_isa_name(same->isa) + ") ";
    }
  }
  qeq_clear_isa_cap();
  return isas;
}

const GemmIsa& default_gemm_isa(const std::vector<GemmIsa>& isas) {
  const GemmProblem& p = gemm_problem({4, 64, 64});
  const qeq_gemm_config config = gemm_config(p, QEQ_GEMM_OUTPUT_QUANTIZED, false);
  qeq_clear_isa_cap();
  qeq_gemm* gemm = nullptr;
  std::string kernel;
  if (qeq_gemm_create(&config, &gemm) == QEQ_OK) kernel = qeq_gemm_kernel_name(gemm);
  qeq_gemm_destroy(gemm);
  for (const GemmIsa& g : isas) {
    if (g.kernel == kernel) return g;
  }
  return isas.back();
}

namespace {

enum class Mode { kU8, kU7, kS32, kDynamic };

void run_gemm(benchmark::State& state, GemmShape s, qeq_isa isa, size_t threads, Mode mode) {
  const GemmProblem& p = mode == Mode::kU7 ? gemm_problem_u7(s) : gemm_problem(s);
  if (qeq_set_isa_cap(isa) != QEQ_OK) {
    state.SkipWithError(qeq_last_error());
    return;
  }
  const bool u8_out = mode == Mode::kU8 || mode == Mode::kU7;
  const qeq_gemm_output output = u8_out               ? QEQ_GEMM_OUTPUT_QUANTIZED
                                 : mode == Mode::kS32 ? QEQ_GEMM_OUTPUT_INT32
                                                      : QEQ_GEMM_OUTPUT_FLOAT;
  const qeq_gemm_config config = gemm_config(p, output, mode == Mode::kDynamic);
  qeq_gemm* gemm = nullptr;
  if (qeq_gemm_create(&config, &gemm) != QEQ_OK) {
    state.SkipWithError(qeq_last_error());
    qeq_clear_isa_cap();
    return;
  }
  pthreadpool* pool = threads > 1 ? bench_pool() : nullptr;
  const size_t out_bytes = u8_out ? 1 : 4;
  std::vector<uint8_t> y(s.m * s.n * out_bytes);
  qeq_status status = QEQ_OK;
  for (auto _ : state) {
    if (mode == Mode::kDynamic) {
      status = qeq_gemm_run_dynamic(gemm, s.m, p.x_float.data(), s.k * sizeof(float),
                                    reinterpret_cast<float*>(y.data()), s.n * sizeof(float), pool,
                                    nullptr, nullptr);
    } else {
      status = qeq_gemm_run(gemm, s.m, p.x.data(), s.k, y.data(), s.n * out_bytes, pool);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  if (status != QEQ_OK) state.SkipWithError(qeq_last_error());
  state.SetLabel(qeq_gemm_kernel_name(gemm));
  qeq_gemm_destroy(gemm);
  qeq_clear_isa_cap();
  report_gemm_ops(state, s);
}

// qeq_gemm_create and destroy: checking, column constants, packing into the kernel's layout.
void run_pack(benchmark::State& state, GemmShape s, qeq_isa isa) {
  const GemmProblem& p = gemm_problem(s);
  if (qeq_set_isa_cap(isa) != QEQ_OK) {
    state.SkipWithError(qeq_last_error());
    return;
  }
  const qeq_gemm_config config = gemm_config(p, QEQ_GEMM_OUTPUT_QUANTIZED, false);
  qeq_status status = QEQ_OK;
  for (auto _ : state) {
    qeq_gemm* gemm = nullptr;
    status = qeq_gemm_create(&config, &gemm);
    benchmark::DoNotOptimize(gemm);
    qeq_gemm_destroy(gemm);
  }
  qeq_clear_isa_cap();
  if (status != QEQ_OK) state.SkipWithError(qeq_last_error());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.n * s.k));
}

}  // namespace

void register_qeq_gemm_benchmarks(const std::vector<GemmIsa>& isas, qeq_isa best,
                                  const std::vector<size_t>& thread_counts, double min_time) {
  auto add = [min_time](const std::string& name, std::function<void(benchmark::State&)> fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)
        ->UseRealTime()
        ->MinTime(min_time)
        ->Unit(benchmark::kMillisecond);
  };
  for (const GemmShape& s : kGemmShapes) {
    for (const GemmIsa& g : isas) {
      if (g.isa == QEQ_ISA_SCALAR && gemm_ops(s) > kScalarMaxOps) continue;
      for (size_t threads : thread_counts) {
        add(gemm_bench_name("qeq_u8", qeq_isa_name(g.isa), threads, &s),
            [s, g, threads](benchmark::State& st) { run_gemm(st, s, g.isa, threads, Mode::kU8); });
      }
    }
    for (const GemmIsa& g : isas) {
      if (g.isa != best && !g.pair_path) continue;
      for (size_t threads : thread_counts) {
        add(gemm_bench_name("qeq_u7", qeq_isa_name(g.isa), threads, &s),
            [s, g, threads](benchmark::State& st) { run_gemm(st, s, g.isa, threads, Mode::kU7); });
      }
    }
    add(gemm_bench_name("qeq_pack", qeq_isa_name(best), 1, &s),
        [s, best](benchmark::State& st) { run_pack(st, s, best); });
  }
  for (const GemmShape& s : kGemmOutputShapes) {
    add(gemm_bench_name("qeq_s32", qeq_isa_name(best), 1, &s),
        [s, best](benchmark::State& st) { run_gemm(st, s, best, 1, Mode::kS32); });
    add(gemm_bench_name("qeq_dynamic", qeq_isa_name(best), 1, &s),
        [s, best](benchmark::State& st) { run_gemm(st, s, best, 1, Mode::kDynamic); });
  }
}
