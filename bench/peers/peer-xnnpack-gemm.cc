#include "peers/peer-xnnpack-gemm.h"

#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

namespace {

// The problem in XNNPACK's terms: qint8 activations and output, int32 bias.
struct SignedProblem {
  std::vector<int8_t> x;
  int32_t x_zero_point;
  int32_t y_zero_point;
  std::vector<int32_t> bias;  // qnnpack rounding: rne(bias / (s_w * s_x))
};

SignedProblem to_signed(const GemmProblem& p) {
  SignedProblem q;
  q.x.resize(p.x.size());
  for (size_t i = 0; i < p.x.size(); i++) q.x[i] = static_cast<int8_t>(p.x[i] - 128);
  q.x_zero_point = p.x_zero_point - 128;
  q.y_zero_point = p.y_zero_point - 128;
  q.bias.resize(p.shape.n);
  for (size_t j = 0; j < p.shape.n; j++) {
    const float inv = 1.0f / static_cast<float>(static_cast<double>(p.w_scales[j]) * p.x_scale);
    q.bias[j] = static_cast<int32_t>(std::nearbyint(p.bias[j] * inv));
  }
  return q;
}

bool initialize() {
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}

// The 1x1 convolution over M pixels: a GEMM of M x K by the [N][K] weights.
xnn_operator_t create(const GemmProblem& p, const SignedProblem& q) {
  xnn_operator_t op = nullptr;
  const xnn_status status = xnn_create_convolution2d_nhwc_qc8(
      0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, p.shape.k, p.shape.n, p.shape.k, p.shape.n,
      static_cast<int8_t>(q.x_zero_point), p.x_scale, p.w_scales.data(), p.w.data(), q.bias.data(),
      static_cast<int8_t>(q.y_zero_point), p.y_scale, -128, 127, 0, &op);
  return status == xnn_status_success ? op : nullptr;
}

bool run(xnn_operator_t op, const GemmProblem& p, const SignedProblem& q, int8_t* y,
         pthreadpool_t pool) {
  return xnn_setup_convolution2d_nhwc_qc8(op, p.shape.m, 1, 1, q.x.data(), y, pool) ==
             xnn_status_success &&
         xnn_run_operator(op, pool) == xnn_status_success;
}

void run_fc(benchmark::State& state, GemmShape s, size_t threads) {
  const GemmProblem& p = gemm_problem(s);
  const SignedProblem q = to_signed(p);
  xnn_operator_t op = initialize() ? create(p, q) : nullptr;
  if (op == nullptr) {
    state.SkipWithError("XNNPACK: initialization or operator creation failed");
    return;
  }
  pthreadpool_t pool = threads > 1 ? bench_pool() : nullptr;
  std::vector<int8_t> y(s.m * s.n);
  bool ok = true;
  for (auto _ : state) {
    ok = run(op, p, q, y.data(), pool) && ok;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  if (!ok) state.SkipWithError("XNNPACK: setup or run failed");
  state.SetLabel("convolution2d_nhwc_qc8 1x1");
  report_gemm_ops(state, s);
}

}  // namespace

void register_xnnpack_gemm_benchmarks(const std::vector<size_t>& thread_counts, double min_time) {
  for (const GemmShape& s : kGemmShapes) {
    for (size_t threads : thread_counts) {
      const std::string name = gemm_bench_name("xnnpack_qc8", "-", threads, &s);
      benchmark::RegisterBenchmark(name.c_str(),
                                   [s, threads](benchmark::State& st) { run_fc(st, s, threads); })
          ->UseRealTime()
          ->MinTime(min_time)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

bool check_xnnpack_gemm(std::FILE* out, std::vector<std::string>* verdicts) {
  if (!initialize()) {
    std::fprintf(out, "check XNNPACK: xnn_initialize failed\n");
    verdicts->push_back("XNNPACK: xnn_initialize failed");
    return false;
  }
  bool ok = true;
  for (const GemmShape& s : {GemmShape{37, 67, 131}, GemmShape{64, 512, 512}}) {
    const GemmProblem& p = gemm_problem(s);
    const SignedProblem q = to_signed(p);
    std::vector<int8_t> y(s.m * s.n), ref(s.m * s.n);
    xnn_operator_t op = create(p, q);
    bool ran = op != nullptr && run(op, p, q, y.data(), nullptr);
    xnn_delete_operator(op);
    // qeq on the same signed problem: qint8 in and out, bias rounded as qnnpack rounds it.
    qeq_gemm_config c = gemm_config(p, QEQ_GEMM_OUTPUT_QUANTIZED, false);
    c.quant.input_dtype = QEQ_DTYPE_QINT8;
    c.quant.input_zero_point = q.x_zero_point;
    c.quant.output_dtype = QEQ_DTYPE_QINT8;
    c.quant.output_zero_point = q.y_zero_point;
    c.quant.engine = QEQ_GEMM_ENGINE_QNNPACK;
    qeq_gemm* gemm = nullptr;
    ran = ran && qeq_gemm_create(&c, &gemm) == QEQ_OK &&
          qeq_gemm_run(gemm, s.m, q.x.data(), s.k, ref.data(), s.n, nullptr) == QEQ_OK;
    qeq_gemm_destroy(gemm);
    size_t equal = 0, off_by_one = 0;
    int worst = 0;
    for (size_t i = 0; i < y.size() && ran; i++) {
      const int d = std::abs(static_cast<int>(y[i]) - static_cast<int>(ref[i]));
      equal += d == 0;
      off_by_one += d == 1;
      worst = d > worst ? d : worst;
    }
    const bool good = ran && equal + off_by_one == y.size();
    ok = ok && good;
    std::fprintf(out,
                 "check XNNPACK convolution2d_nhwc_qc8 1x1 against qeq (qint8, qnnpack engine) "
                 "at %s: %zu of %zu equal, %zu off by 1, max |diff| %d: %s\n",
                 shape_tag(s).c_str(), equal, y.size(), off_by_one, worst,
                 good ? "ok" : (ran ? "MISMATCH" : "FAILED TO RUN"));
  }
  verdicts->push_back(ok ? "XNNPACK convolution2d_nhwc_qc8 1x1: within 1 of qeq (qint8, qnnpack "
                           "engine) at 37x67x131 and 64x512x512"
                         : "XNNPACK: MISMATCH against qeq: its figures may not measure the "
                           "same work");
  return ok;
}
