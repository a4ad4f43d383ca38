#include "peers/peer-onednn.h"

#include <benchmark/benchmark.h>

#include <dnnl.hpp>
#include <functional>
#include <vector>

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::memory::dims to_dims(const std::vector<size_t>& dims) {
  dnnl::memory::dims out;
  for (size_t d : dims) out.push_back(static_cast<dnnl::memory::dim>(d));
  return out;
}

// Bytes of the float weight per iteration, times passes (2: read and written).
void report_bytes(benchmark::State& state, const std::vector<size_t>& dims, size_t passes) {
  size_t numel = 1;
  for (size_t d : dims) numel *= d;
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * passes * numel * sizeof(float)));
  state.SetLabel("onednn");
}

// Per-channel min and max along `axis` (every other dim reduced), as two reductions.
void range(benchmark::State& state, std::vector<size_t> dims, float* weight, int axis) {
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const auto src_dims = to_dims(dims);
  dnnl::memory::dims dst_dims(src_dims.size(), 1);
  dst_dims[static_cast<size_t>(axis)] = src_dims[static_cast<size_t>(axis)];
  const dnnl::memory::desc src_md(src_dims, dt::f32, tag::abcd);
  const dnnl::memory::desc dst_md(dst_dims, dt::f32, tag::abcd);
  dnnl::memory src(src_md, engine, weight), lo(dst_md, engine), hi(dst_md, engine);
  dnnl::reduction min_op({{dnnl::algorithm::reduction_min, src_md, dst_md, 0.f, 0.f}, engine});
  dnnl::reduction max_op({{dnnl::algorithm::reduction_max, src_md, dst_md, 0.f, 0.f}, engine});
  for (auto _ : state) {
    min_op.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, lo}});
    max_op.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, hi}});
    stream.wait();
  }
  report_bytes(state, dims, 1);
}

// f32 -> s8 with a scale per output channel (1 / qeq's scale): a per-channel quantize.
void quantize(benchmark::State& state, std::vector<size_t> dims, float* weight) {
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const auto md_dims = to_dims(dims);
  const dnnl::memory::desc src_md(md_dims, dt::f32, tag::abcd);
  const dnnl::memory::desc dst_md(md_dims, dt::s8, tag::abcd);
  dnnl::memory src(src_md, engine, weight), dst(dst_md, engine);
  std::vector<float> scales(dims[0], 127.0f);
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 0, scales);
  dnnl::reorder op(dnnl::reorder::primitive_desc(engine, src_md, engine, dst_md, attr));
  for (auto _ : state) {
    op.execute(stream, src, dst);
    stream.wait();
  }
  report_bytes(state, dims, 1);
}

// x[c, ...] *= s[c] in place: binary multiply with a [C, 1, 1, 1] operand.
void scale_in_place(benchmark::State& state, std::vector<size_t> dims, float* weight) {
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const auto md_dims = to_dims(dims);
  dnnl::memory::dims vec_dims(md_dims.size(), 1);
  vec_dims[0] = md_dims[0];
  const dnnl::memory::desc x_md(md_dims, dt::f32, tag::abcd);
  const dnnl::memory::desc s_md(vec_dims, dt::f32, tag::abcd);
  std::vector<float> up(dims[0], 2.0f), down(dims[0], 0.5f);
  dnnl::memory x(x_md, engine, weight), s_up(s_md, engine, up.data()),
      s_down(s_md, engine, down.data());
  dnnl::binary op({{dnnl::algorithm::binary_mul, x_md, s_md, x_md}, engine});
  size_t iteration = 0;
  for (auto _ : state) {
    // Alternate 2 and 1/2, as qeq_bench does, so the shared weight never drifts.
    op.execute(stream, {{DNNL_ARG_SRC_0, x},
                        {DNNL_ARG_SRC_1, (iteration++ & 1) ? s_down : s_up},
                        {DNNL_ARG_DST, x}});
    stream.wait();
  }
  if (iteration & 1) {
    op.execute(stream, {{DNNL_ARG_SRC_0, x}, {DNNL_ARG_SRC_1, s_down}, {DNNL_ARG_DST, x}});
    stream.wait();
  }
  report_bytes(state, dims, 2);
}

}  // namespace

std::vector<PeerRow> register_onednn_benchmarks(const std::vector<size_t>& dims, float* weight,
                                                const std::string& shape_tag) {
  std::vector<PeerRow> rows;
  auto add = [&](const char* op, const char* qeq_op, const char* baseline,
                 std::function<void(benchmark::State&)> fn) {
    const std::string name = std::string("peer_onednn_") + op + "/" + shape_tag;
    benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMicrosecond);
    rows.push_back({name, op, qeq_op, baseline});
  };
  if (dims.size() == 4) {
    add("reduction_min_max_axis0", "range_axis0", "baseline_read",
        [dims, weight](benchmark::State& s) { range(s, dims, weight, 0); });
    add("reduction_min_max_axis1", "range_axis1", "baseline_read",
        [dims, weight](benchmark::State& s) { range(s, dims, weight, 1); });
    add("reorder_f32_s8_per_channel", "quantize_axis0", "baseline_read",
        [dims, weight](benchmark::State& s) { quantize(s, dims, weight); });
    add("binary_mul_axis0_inplace", "scale_axis0_inplace", "baseline_read_write",
        [dims, weight](benchmark::State& s) { scale_in_place(s, dims, weight); });
  }
  return rows;
}
