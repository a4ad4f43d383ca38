#include "peers/peer-onednn-gemm.h"

#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <dnnl.hpp>
#include <functional>
#include <memory>
#include <string>

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// One matmul, ready to run: primitive created, weights reordered into its layout.
struct Matmul {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul primitive;
  dnnl::memory src, weights, bias, dst;
  std::string impl;  // oneDNN's implementation name, e.g. "brg:avx512_core_vnni"
  void run() {
    primitive.execute(stream, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, weights},
                               {DNNL_ARG_BIAS, bias},
                               {DNNL_ARG_DST, dst}});
    stream.wait();
  }
};

// s32: the exact accumulators of (x - x_zp) * w, no scales, bias or output zero point.
std::unique_ptr<Matmul> make_matmul(const GemmProblem& p, bool s32) {
  auto mm = std::make_unique<Matmul>();
  const auto m = static_cast<dnnl::memory::dim>(p.shape.m);
  const auto n = static_cast<dnnl::memory::dim>(p.shape.n);
  const auto k = static_cast<dnnl::memory::dim>(p.shape.k);
  const dnnl::memory::desc src_md({m, k}, dt::u8, tag::ab);
  const dnnl::memory::desc user_weights_md({k, n}, dt::s8, tag::ba);  // W[N][K] as K x N
  const dnnl::memory::desc any_weights_md({k, n}, dt::s8, tag::any);
  const dnnl::memory::desc bias_md({1, n}, dt::f32, tag::ab);
  const dnnl::memory::desc dst_md({m, n}, s32 ? dt::s32 : dt::u8, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_zero_points(DNNL_ARG_SRC, 0, {p.x_zero_point});
  std::vector<float> bias(p.shape.n);
  if (!s32) {
    std::vector<float> scales(p.shape.n);
    for (size_t j = 0; j < p.shape.n; j++) {
      scales[j] = onednn_output_scale(p, j);
      bias[j] = onednn_bias(p, j);
    }
    attr.set_output_scales(1 << 1, scales);  // per column of the M x N output
    attr.set_zero_points(DNNL_ARG_DST, 0, {p.y_zero_point});
  }
  const dnnl::matmul::desc desc = s32 ? dnnl::matmul::desc(src_md, any_weights_md, dst_md)
                                      : dnnl::matmul::desc(src_md, any_weights_md, bias_md, dst_md);
  const dnnl::matmul::primitive_desc pd(desc, attr, mm->engine);
  mm->impl = pd.impl_info_str();
  mm->primitive = dnnl::matmul(pd);
  mm->src = dnnl::memory(src_md, mm->engine, const_cast<uint8_t*>(p.x.data()));
  dnnl::memory user_weights(user_weights_md, mm->engine, const_cast<int8_t*>(p.w.data()));
  mm->weights = dnnl::memory(pd.weights_desc(), mm->engine);
  dnnl::reorder(user_weights, mm->weights).execute(mm->stream, user_weights, mm->weights);
  if (!s32) {
    mm->bias = dnnl::memory(bias_md, mm->engine);
    std::copy(bias.begin(), bias.end(), static_cast<float*>(mm->bias.get_data_handle()));
  }
  mm->dst = dnnl::memory(dst_md, mm->engine);
  mm->stream.wait();
  return mm;
}

// omp_set_num_threads for one benchmark, the previous count restored after it.
class OmpThreads {
 public:
  explicit OmpThreads(size_t threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(static_cast<int>(threads));
  }
  ~OmpThreads() { omp_set_num_threads(previous_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_;
};

void run_matmul(benchmark::State& state, GemmShape s, size_t threads, bool s32, bool u7) {
  // Before the primitive is created: oneDNN plans its partition for the thread count then.
  OmpThreads omp(threads);
  std::unique_ptr<Matmul> mm;
  try {
    mm = make_matmul(u7 ? gemm_problem_u7(s) : gemm_problem(s), s32);
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) mm->run();
  // The thread count oneDNN saw (it asks OpenMP's omp_get_max_threads), in the label.
  state.SetLabel(mm->impl + ", omp " + std::to_string(omp_get_max_threads()));
  report_gemm_ops(state, s);
}

// qeq's result on the same problem (best ISA, one thread): the oracle of the check.
std::vector<uint8_t> qeq_result(const GemmProblem& p, bool s32) {
  const size_t bytes = s32 ? 4 : 1;
  std::vector<uint8_t> y(p.shape.m * p.shape.n * bytes);
  const qeq_gemm_config c =
      gemm_config(p, s32 ? QEQ_GEMM_OUTPUT_INT32 : QEQ_GEMM_OUTPUT_QUANTIZED, false);
  qeq_gemm* gemm = nullptr;
  if (qeq_gemm_create(&c, &gemm) != QEQ_OK ||
      qeq_gemm_run(gemm, p.shape.m, p.x.data(), p.shape.k, y.data(), p.shape.n * bytes, nullptr) !=
          QEQ_OK) {
    y.clear();
  }
  qeq_gemm_destroy(gemm);
  return y;
}

}  // namespace

std::string onednn_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

void register_onednn_gemm_benchmarks(const std::vector<size_t>& thread_counts,
                                     const std::vector<GemmShape>& s32_shapes, double min_time) {
  const std::string isa = onednn_isa_name();
  auto add = [min_time](const std::string& name, std::function<void(benchmark::State&)> fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)
        ->UseRealTime()
        ->MinTime(min_time)
        ->Unit(benchmark::kMillisecond);
  };
  for (const GemmShape& s : kGemmShapes) {
    for (size_t threads : thread_counts) {
      add(gemm_bench_name("onednn_u8", isa, threads, &s),
          [s, threads](benchmark::State& st) { run_matmul(st, s, threads, false, false); });
      add(gemm_bench_name("onednn_u7", isa, threads, &s),
          [s, threads](benchmark::State& st) { run_matmul(st, s, threads, false, true); });
    }
  }
  for (const GemmShape& s : s32_shapes) {
    add(gemm_bench_name("onednn_s32", isa, 1, &s),
        [s](benchmark::State& st) { run_matmul(st, s, 1, true, false); });
  }
}

namespace {

struct Agreement {
  bool ran = false;
  size_t count = 0, equal = 0, off_by_one = 0;
  long long worst = 0;
  std::string impl;
  bool good(bool s32) const { return ran && (s32 ? equal == count : equal + off_by_one == count); }
};

// oneDNN (one thread) against qeq on problem p, element by element.
Agreement compare(const GemmProblem& p, bool s32) {
  Agreement a;
  std::unique_ptr<Matmul> mm;
  try {
    mm = make_matmul(p, s32);
    mm->run();
  } catch (const dnnl::error& e) {
    a.impl = std::string("failed: ") + e.what();
    return a;
  }
  a.impl = mm->impl;
  const std::vector<uint8_t> ref = qeq_result(p, s32);
  if (ref.empty()) return a;
  a.ran = true;
  a.count = p.shape.m * p.shape.n;
  const void* dst = mm->dst.get_data_handle();
  for (size_t i = 0; i < a.count; i++) {
    long long x, y;
    if (s32) {
      x = static_cast<const int32_t*>(dst)[i];
      y = reinterpret_cast<const int32_t*>(ref.data())[i];
    } else {
      x = static_cast<const uint8_t*>(dst)[i];
      y = ref[i];
    }
    const long long d = x > y ? x - y : y - x;
    a.equal += d == 0;
    a.off_by_one += d == 1;
    a.worst = d > a.worst ? d : a.worst;
  }
  return a;
}

}  // namespace

bool check_onednn_gemm(std::FILE* out, std::vector<std::string>* verdicts, bool* exact_u7) {
  OmpThreads omp(1);
  const std::string isa = onednn_isa_name();
  bool ok = true, saturates = false;
  std::string impls;
  for (const GemmShape& s : {GemmShape{37, 67, 131}, GemmShape{64, 512, 512}}) {
    const GemmProblem& p = gemm_problem(s);
    for (bool s32 : {false, true}) {
      const Agreement a = compare(p, s32);
      const bool good = a.good(s32);
      std::string why;
      if (!good && a.ran) {
        // Full-range operands wrong but 7-bit ones exact: int16 saturation, not our setup.
        const bool exact_7bit = compare(gemm_problem_u7(s), s32).good(s32);
        saturates = saturates || exact_7bit;
        why = exact_7bit ? " (exact with 7-bit activations: int16 saturation in oneDNN)"
                         : " (also with 7-bit activations: a setup error?)";
      }
      ok = ok && good;
      if (impls.find(a.impl) == std::string::npos) impls += (impls.empty() ? "" : ", ") + a.impl;
      std::fprintf(out,
                   "check oneDNN matmul %s (%s, %s) against qeq at %s: %zu of %zu equal, %zu "
                   "off by 1, max |diff| %lld: %s%s\n",
                   s32 ? "u8 x s8 -> s32" : "u8 x s8 -> u8", a.impl.c_str(), isa.c_str(),
                   shape_tag(s).c_str(), a.equal, a.count, a.off_by_one, a.worst,
                   good ? "ok" : "MISMATCH", why.c_str());
    }
  }
  // The u7 figures' own check: 7-bit activations, u8 output, both shapes.
  *exact_u7 = true;
  for (const GemmShape& s : {GemmShape{37, 67, 131}, GemmShape{64, 512, 512}}) {
    *exact_u7 = *exact_u7 && compare(gemm_problem_u7(s), false).good(false);
  }
  std::string verdict = "oneDNN " + isa + " (" + impls + "): ";
  if (ok) {
    verdict += "u8 within 1 of qeq and s32 equal at 37x67x131 and 64x512x512";
  } else if (saturates) {
    verdict +=
        "WRONG on full-range u8 x s8 (u8 off by up to tens of levels, s32 far off), exact "
        "with 7-bit activations: it saturates int16 pair sums (vpmaddubsw), the trap qeq "
        "avoids; its GOPS are for inexact results";
  } else {
    verdict += "MISMATCH against qeq: its figures may not measure the same work";
  }
  verdicts->push_back(verdict);
  verdicts->push_back("oneDNN " + isa + " on 7-bit activations (onednn_u7): " +
                      (*exact_u7 ? "u8 within 1 of qeq at 37x67x131 and 64x512x512: exact"
                                 : "MISMATCH against qeq: inexact"));
  return ok;
}
