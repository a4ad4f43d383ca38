// Quantized add (both engines), pools, multiply and activations on 1x56x56x256 quint8 NHWC (a
// ResNet stage-1 activation, 784 KiB; the multiply as squeeze-excite uses it, a 1x1x1x256 scale
// over the map), and the 8-bit layout steps (NCHW <-> NHWC of that tensor, its channel shuffle
// with two groups):
// each GB/s counts the bytes a call reads once plus the bytes it writes, and is compared
// with the streaming read of a buffer of the same size, measured moments before.
#include "kernels/qops-benchmarks.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/bandwidth-baselines.h"

namespace {

constexpr size_t kN = 1, kH = 56, kW = 56, kC = 256;
constexpr size_t kBytes = kN * kH * kW * kC;
const char kTensor[] = "1x56x56x256 quint8";

enum class QOp {
  kAdd,
  kAddRelu,
  kAddQnnpack,
  kMaxPool3x3s2,
  kAvgPool3x3s1,
  kAvgPool2x2s2,
  kGlobalAvgPool,
  kMul,
  kMulBroadcast,
  kHardswish,
  kHardsigmoid,
  kNchwToNhwc,
  kNhwcToNchw,
  kChannelShuffle2,
  kSigmoid,
  kSigmoidQnnpack
};
const QOp kQOps[] = {
    QOp::kAdd,          QOp::kAddRelu,         QOp::kAddQnnpack,    QOp::kMaxPool3x3s2,
    QOp::kAvgPool3x3s1, QOp::kAvgPool2x2s2,    QOp::kGlobalAvgPool, QOp::kMul,
    QOp::kMulBroadcast, QOp::kHardswish,       QOp::kHardsigmoid,   QOp::kNchwToNhwc,
    QOp::kNhwcToNchw,   QOp::kChannelShuffle2, QOp::kSigmoid,       QOp::kSigmoidQnnpack};

bool is_add(QOp op) {
  return op == QOp::kAdd || op == QOp::kAddRelu || op == QOp::kAddQnnpack;
}

// Ops whose output has the input's height and width (no pooling window).
bool same_size(QOp op) {
  return op != QOp::kMaxPool3x3s2 && op != QOp::kAvgPool3x3s1 && op != QOp::kAvgPool2x2s2 &&
         op != QOp::kGlobalAvgPool;
}

// Bytes a call reads: two full tensors for the adds and the equal-shape multiply.
size_t bytes_read(QOp op) {
  if (is_add(op) || op == QOp::kMul) return 2 * kBytes;
  return op == QOp::kMulBroadcast ? kBytes + kC : kBytes;
}

const char* qop_name(QOp op) {
  switch (op) {
    case QOp::kAdd: return "q8_add";
    case QOp::kAddRelu: return "q8_add_relu";
    case QOp::kAddQnnpack: return "q8_add_qnnpack";
    case QOp::kMaxPool3x3s2: return "q8_max_pool_3x3s2p1";
    case QOp::kAvgPool3x3s1: return "q8_avg_pool_3x3s1p1";
    case QOp::kAvgPool2x2s2: return "q8_avg_pool_2x2s2";
    case QOp::kGlobalAvgPool: return "q8_global_avg_pool";
    case QOp::kMul: return "q8_mul";
    case QOp::kMulBroadcast: return "q8_mul_broadcast";
    case QOp::kHardswish: return "q8_hardswish";
    case QOp::kHardsigmoid: return "q8_hardsigmoid";
    case QOp::kNchwToNhwc: return "x8_nchw_to_nhwc";
    case QOp::kNhwcToNchw: return "x8_nhwc_to_nchw";
    case QOp::kChannelShuffle2: return "x8_channel_shuffle_g2";
    case QOp::kSigmoid: return "q8_sigmoid";
    case QOp::kSigmoidQnnpack: return "q8_sigmoid_qnnpack";
  }
  return "?";
}

qeq_pool2d_params pool_of(QOp op) {
  qeq_pool2d_params p = qeq_pool2d_params_make(3, 3);
  if (op == QOp::kMaxPool3x3s2) p.stride_h = p.stride_w = 2, p.padding_h = p.padding_w = 1;
  if (op == QOp::kAvgPool3x3s1) p.stride_h = p.stride_w = 1, p.padding_h = p.padding_w = 1;
  if (op == QOp::kAvgPool2x2s2) p = qeq_pool2d_params_make(2, 2);
  return p;
}

uint8_t* tensor_buffer(int which) {
  static uint8_t* buffers[3] = {nullptr, nullptr, nullptr};
  if (buffers[which] == nullptr) {
    buffers[which] = static_cast<uint8_t*>(std::aligned_alloc(64, kBytes));
    if (buffers[which] == nullptr) return nullptr;
    uint64_t state = 0x2545F4914F6CDD1Dull * static_cast<uint64_t>(which + 1);
    for (size_t i = 0; i < kBytes; i++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      buffers[which][i] = static_cast<uint8_t>(state >> 56);
    }
  }
  return buffers[which];
}

void run_read_baseline(benchmark::State& state) {
  const float* x = reinterpret_cast<const float*>(tensor_buffer(0));
  if (x == nullptr) {
    state.SkipWithError("cannot allocate");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(stream_read(x, kBytes / 4));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}

void run_qop(benchmark::State& state, QOp op, qeq_isa isa) {
  uint8_t* a = tensor_buffer(0);
  uint8_t* b = tensor_buffer(1);
  uint8_t* y = tensor_buffer(2);
  if (a == nullptr || b == nullptr || y == nullptr || qeq_set_isa_cap(isa) != QEQ_OK) {
    state.SkipWithError("cannot allocate or cap");
    return;
  }
  const qeq_q8_tensor ta = qeq_q8_tensor_make(kN, kH, kW, kC, QEQ_DTYPE_QUINT8, 0.05f, 128);
  const qeq_q8_tensor tb = qeq_q8_tensor_make(kN, kH, kW, kC, QEQ_DTYPE_QUINT8, 0.03f, 120);
  const qeq_q8_tensor tsum = qeq_q8_tensor_make(kN, kH, kW, kC, QEQ_DTYPE_QUINT8, 0.07f, 100);
  const qeq_pool2d_params p = pool_of(op);
  size_t oh = kH, ow = kW;
  if (!same_size(op)) {
    oh = ow = 1;
    if (op != QOp::kGlobalAvgPool) qeq_pool2d_output_size(&p, kH, kW, &oh, &ow);
  }
  const qeq_q8_tensor tscale = qeq_q8_tensor_make(kN, 1, 1, kC, QEQ_DTYPE_QUINT8, 1.0f / 256, 0);
  const qeq_q8_tensor tsig = qeq_q8_tensor_make(kN, kH, kW, kC, QEQ_DTYPE_QUINT8, 1.0f / 256, 0);
  const qeq_q8_tensor tpool = qeq_q8_tensor_make(kN, oh, ow, kC, QEQ_DTYPE_QUINT8, 0.05f, 128);
  qeq_status status = QEQ_OK;
  for (auto _ : state) {
    switch (op) {
      case QOp::kAdd: status = qeq_q8_add(&ta, a, &tb, b, &tsum, y); break;
      case QOp::kAddRelu: status = qeq_q8_add_relu(&ta, a, &tb, b, &tsum, y); break;
      case QOp::kAddQnnpack:
        status = qeq_q8_add_ex(&ta, a, &tb, b, &tsum, y, QEQ_QOPS_ENGINE_QNNPACK);
        break;
      case QOp::kMaxPool3x3s2: status = qeq_q8_max_pool2d(&ta, a, &p, &tpool, y); break;
      case QOp::kAvgPool3x3s1:
      case QOp::kAvgPool2x2s2: status = qeq_q8_avg_pool2d(&ta, a, &p, &tpool, y); break;
      case QOp::kGlobalAvgPool: status = qeq_q8_adaptive_avg_pool2d(&ta, a, &tpool, y); break;
      case QOp::kMul: status = qeq_q8_mul(&ta, a, &tb, b, &tsum, y); break;
      case QOp::kMulBroadcast: status = qeq_q8_mul(&tscale, b, &ta, a, &tsum, y); break;
      case QOp::kHardswish:
        status = qeq_q8_hardswish(&ta, a, QEQ_GEMM_ENGINE_ONEDNN, &tsum, y);
        break;
      case QOp::kHardsigmoid:
        status = qeq_q8_hardsigmoid(&ta, a, QEQ_GEMM_ENGINE_ONEDNN, &tsig, y);
        break;
      case QOp::kNchwToNhwc: status = qeq_nchw_to_nhwc_x8(kN, kC, kH, kW, a, y); break;
      case QOp::kNhwcToNchw: status = qeq_nhwc_to_nchw_x8(kN, kC, kH, kW, a, y); break;
      case QOp::kChannelShuffle2:
        status = qeq_x8_channel_shuffle(kN * kH * kW, 2, kC / 2, a, y);
        break;
      case QOp::kSigmoid: status = qeq_q8_sigmoid(&ta, a, QEQ_GEMM_ENGINE_ONEDNN, &tsig, y); break;
      case QOp::kSigmoidQnnpack:
        status = qeq_q8_sigmoid(&ta, a, QEQ_GEMM_ENGINE_QNNPACK, &tsig, y);
        break;
    }
    benchmark::ClobberMemory();
  }
  qeq_clear_isa_cap();
  if (status != QEQ_OK) {
    state.SkipWithError(qeq_last_error());
    return;
  }
  const size_t read = bytes_read(op);
  const size_t written = kN * oh * ow * kC;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (read + written)));
  state.SetLabel(qeq_isa_name(isa));
}

}  // namespace

std::vector<LayerBenchmarkRow> register_qops_benchmarks(const std::vector<qeq_isa>& isas) {
  const std::string read = "baseline_read/qops/1x56x56x256";
  benchmark::RegisterBenchmark(read.c_str(), run_read_baseline)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  std::vector<LayerBenchmarkRow> rows;
  for (QOp op : kQOps) {
    const qeq_pool2d_params p = pool_of(op);
    size_t oh = kH, ow = kW;
    if (!same_size(op)) {
      oh = ow = 1;
      if (op != QOp::kGlobalAvgPool) qeq_pool2d_output_size(&p, kH, kW, &oh, &ow);
    }
    const double mib = static_cast<double>(bytes_read(op) + oh * ow * kC) / (1 << 20);
    for (qeq_isa isa : isas) {
      const std::string name = std::string(qop_name(op)) + "/" + qeq_isa_name(isa) + "/1x56x56x256";
      benchmark::RegisterBenchmark(name.c_str(),
                                   [op, isa](benchmark::State& s) { run_qop(s, op, isa); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      rows.push_back({name, qop_name(op), kTensor, mib, qeq_isa_name(isa), read});
    }
  }
  return rows;
}
