#include "gemm/gemm-problem.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <memory>
#include <tuple>

#include "common/bench-random.h"

const GemmShape kGemmShapes[8] = {{1, 4096, 4096},    {16, 1024, 1024},  {64, 512, 512},
                                  {128, 768, 3072},   {128, 1024, 1024}, {256, 256, 256},
                                  {1024, 1024, 1024}, {2048, 2048, 2048}};

std::string shape_tag(const GemmShape& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
}

double gemm_ops(const GemmShape& s) {
  return 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
}

std::string gemm_bench_name(const std::string& impl, const std::string& isa, size_t threads,
                            const GemmShape* shape) {
  return impl + "/" + isa + "/" + std::to_string(threads) + "t/" +
         (shape != nullptr ? shape_tag(*shape) : std::string("-"));
}

void report_gemm_ops(benchmark::State& state, const GemmShape& s) {
  state.counters["ops"] =
      benchmark::Counter(gemm_ops(s) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

namespace {

std::unique_ptr<GemmProblem> make_problem(const GemmShape& s) {
  auto p = std::make_unique<GemmProblem>();
  p->shape = s;
  BenchRandom rng{0x9e3779b97f4a7c15ull ^ (s.m * 1000003u + s.n * 1009u + s.k)};
  p->x.resize(s.m * s.k);
  rng.fill(&p->x);
  p->w.resize(s.n * s.k);
  rng.fill(&p->w);
  p->x_scale = 0.02f;
  p->x_zero_point = 121;
  p->w_scales.resize(s.n);
  for (size_t j = 0; j < s.n; j++) p->w_scales[j] = 0.01f * (1.0f + 0.125f * (float)(j % 7));
  // Accumulators have a standard deviation of about 74 * 73 * sqrt(K); this output scale
  // spreads the results over roughly +-64 around the zero point, few of them clamped.
  p->y_scale = 0.05f * std::sqrt(static_cast<float>(s.k));
  p->y_zero_point = 128;
  p->bias.resize(s.n);
  rng.fill(&p->bias);
  p->x_float.resize(p->x.size());
  for (size_t i = 0; i < p->x.size(); i++)
    p->x_float[i] = static_cast<float>(p->x[i] - p->x_zero_point) * p->x_scale;
  return p;
}

}  // namespace

const GemmProblem& gemm_problem(const GemmShape& s) {
  static std::map<std::tuple<size_t, size_t, size_t>, std::unique_ptr<GemmProblem>> problems;
  auto& slot = problems[std::make_tuple(s.m, s.n, s.k)];
  if (!slot) slot = make_problem(s);
  return *slot;
}

const GemmProblem& gemm_problem_u7(const GemmShape& s) {
  static std::map<std::tuple<size_t, size_t, size_t>, std::unique_ptr<GemmProblem>> problems;
  auto& slot = problems[std::make_tuple(s.m, s.n, s.k)];
  if (!slot) {
    slot = std::make_unique<GemmProblem>(gemm_problem(s));
    for (uint8_t& v : slot->x) v = static_cast<uint8_t>(v >> 1);
    slot->x_zero_point >>= 1;
    for (size_t i = 0; i < slot->x.size(); i++) {
      slot->x_float[i] = slot->x_scale * static_cast<float>(slot->x[i] - slot->x_zero_point);
    }
  }
  return *slot;
}

qeq_gemm_config gemm_config(const GemmProblem& p, qeq_gemm_output output, bool dynamic) {
  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = p.shape.n;
  c.k = p.shape.k;
  c.weights = p.w.data();
  c.quant.weight_qparam_count = p.shape.n;
  c.quant.weight_scales = p.w_scales.data();
  c.quant.bias = output == QEQ_GEMM_OUTPUT_INT32 ? nullptr : p.bias.data();
  c.quant.input_dtype = QEQ_DTYPE_QUINT8;
  c.quant.input_scale = p.x_scale;
  c.quant.input_zero_point = p.x_zero_point;
  c.quant.output = output;
  c.quant.output_dtype = QEQ_DTYPE_QUINT8;
  c.quant.output_scale = p.y_scale;
  c.quant.output_zero_point = p.y_zero_point;
  c.quant.engine = QEQ_GEMM_ENGINE_ONEDNN;
  c.dynamic = dynamic ? 1 : 0;
  return c;
}

float onednn_output_scale(const GemmProblem& p, size_t j) {
  const float product = p.w_scales[j] * p.x_scale;
  return product * (1.0f / p.y_scale);
}

float onednn_bias(const GemmProblem& p, size_t j) {
  const float bx = p.bias[j] * (1.0f / p.x_scale);
  return bx * (1.0f / p.w_scales[j]);
}
