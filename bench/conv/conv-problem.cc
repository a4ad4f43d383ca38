#include "conv/conv-problem.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <tuple>

#include "common/bench-random.h"

namespace {

std::unique_ptr<ConvProblem> make_problem(const ConvShape& s) {
  auto p = std::make_unique<ConvProblem>();
  p->shape = s;
  BenchRandom rng{0x9e3779b97f4a7c15ull ^ (s.h * 1000003u + s.c * 1009u + s.o * 31u + s.k)};
  p->x.resize(s.h * s.w * s.c);
  rng.fill(&p->x);
  p->x_signed.resize(p->x.size());
  for (size_t i = 0; i < p->x.size(); i++) p->x_signed[i] = static_cast<int8_t>(p->x[i] - 128);
  const size_t k = s.k * s.k * (s.c / s.groups);  // the GEMM's K: one output's taps
  p->w.resize(s.o * k);
  rng.fill(&p->w);
  p->x_scale = 0.02f;
  p->x_zero_point = 121;
  p->w_scales.resize(s.o);
  for (size_t j = 0; j < s.o; j++) p->w_scales[j] = 0.01f * (1.0f + 0.125f * (float)(j % 7));
  // Accumulators have a standard deviation of about 74 * 73 * sqrt(K); this output scale
  // spreads them over roughly +-64 levels around the zero point (ReLU clamps the lower half).
  p->y_scale = 0.05f * std::sqrt(static_cast<float>(k));
  p->y_zero_point = 128;
  p->bias.resize(s.o);
  rng.fill(&p->bias);
  return p;
}

class QeqConv : public ConvRunner {
 public:
  QeqConv(const ConvProblem& p, bool signed_qnnpack, pthreadpool* pool)
      : p_(p), signed_(signed_qnnpack), pool_(pool) {}
  ~QeqConv() override { qeq_conv_destroy(conv_); }

  bool create(std::string* error) {
    const ConvShape& s = p_.shape;
    qeq_conv_config c = qeq_conv_config_default();
    c.input_channels = s.c, c.output_channels = s.o, c.groups = s.groups;
    c.kernel_height = c.kernel_width = s.k;
    c.stride_height = c.stride_width = s.stride;
    c.padding_height = c.padding_width = s.pad;
    c.weights = p_.w.data(), c.quant.weight_qparam_count = s.o,
    c.quant.weight_scales = p_.w_scales.data();
    c.quant.bias = p_.bias.data();
    c.quant.input_dtype = signed_ ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
    c.quant.input_scale = p_.x_scale,
    c.quant.input_zero_point = p_.x_zero_point - (signed_ ? 128 : 0);
    c.quant.output_dtype = c.quant.input_dtype;
    c.quant.output_scale = p_.y_scale,
    c.quant.output_zero_point = p_.y_zero_point - (signed_ ? 128 : 0);
    c.quant.clamp = QEQ_GEMM_CLAMP_RELU;
    c.quant.engine = signed_ ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
    if (qeq_conv_create(&c, &conv_) != QEQ_OK) {
      *error = qeq_last_error();
      return false;
    }
    y_.resize(conv_output_height(s) * conv_output_width(s) * s.o);
    label_ = qeq_conv_kernel_name(conv_);
    return true;
  }

  bool run() override {
    const void* x = signed_ ? static_cast<const void*>(p_.x_signed.data()) : p_.x.data();
    return qeq_conv_run(conv_, 1, p_.shape.h, p_.shape.w, x, 0, y_.data(), 0, pool_) == QEQ_OK;
  }
  const void* output() const override { return y_.data(); }

 private:
  const ConvProblem& p_;
  const bool signed_;
  pthreadpool* const pool_;
  qeq_conv* conv_ = nullptr;
  std::vector<uint8_t> y_;
};

}  // namespace

const ConvProblem& conv_problem(const ConvShape& s) {
  using Key = std::tuple<size_t, size_t, size_t, size_t, size_t, size_t, size_t, size_t>;
  static std::map<Key, std::unique_ptr<ConvProblem>> problems;
  auto& slot = problems[Key(s.h, s.w, s.c, s.o, s.groups, s.k, s.stride, s.pad)];
  if (!slot) slot = make_problem(s);
  return *slot;
}

const ConvProblem& conv_problem_u7(const ConvShape& s) {
  using Key = std::tuple<size_t, size_t, size_t, size_t, size_t, size_t, size_t, size_t>;
  static std::map<Key, std::unique_ptr<ConvProblem>> problems;
  auto& slot = problems[Key(s.h, s.w, s.c, s.o, s.groups, s.k, s.stride, s.pad)];
  if (!slot) {
    slot = std::make_unique<ConvProblem>(conv_problem(s));
    for (uint8_t& v : slot->x) v = static_cast<uint8_t>(v >> 1);
    for (size_t i = 0; i < slot->x.size(); i++)
      slot->x_signed[i] = static_cast<int8_t>(slot->x[i] - 128);
    slot->x_zero_point >>= 1;
  }
  return *slot;
}

std::unique_ptr<ConvRunner> make_qeq_conv(const ConvProblem& p, bool signed_qnnpack,
                                          pthreadpool* pool, std::string* error) {
  auto runner = std::make_unique<QeqConv>(p, signed_qnnpack, pool);
  if (!runner->create(error)) return nullptr;
  return runner;
}

void report_conv_ops(benchmark::State& state, const ConvShape& s) {
  state.counters["ops"] =
      benchmark::Counter(conv_ops(s) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
