#include "peer-onednn-conv.h"

#include <omp.h>

#include <cstdint>
#include <dnnl.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

dnnl::memory::dim d(size_t v) {
  return static_cast<dnnl::memory::dim>(v);
}

}  // namespace

void run_onednn_conv(benchmark::State& state, const ConvShape& s) {
  const int previous = omp_get_max_threads();
  omp_set_num_threads(1);  // before the primitive is created: oneDNN plans for it then
  try {
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const size_t oh = (s.h + 2 * s.pad - s.k) / s.stride + 1;
    const size_t ow = (s.w + 2 * s.pad - s.k) / s.stride + 1;
    const size_t cg = s.c / s.groups, og = s.o / s.groups;
    const dnnl::memory::desc src_md({1, d(s.c), d(s.h), d(s.w)}, dt::u8, tag::nhwc);
    const dnnl::memory::desc dst_md({1, d(s.o), d(oh), d(ow)}, dt::u8, tag::nhwc);
    const dnnl::memory::desc bias_md({d(s.o)}, dt::f32, tag::x);
    const dims wdims = s.groups == 1 ? dims{d(s.o), d(cg), d(s.k), d(s.k)}
                                     : dims{d(s.groups), d(og), d(cg), d(s.k), d(s.k)};
    const dnnl::memory::desc user_w_md(wdims, dt::s8, s.groups == 1 ? tag::oihw : tag::goihw);
    const dnnl::memory::desc any_w_md(wdims, dt::s8, tag::any);
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, any_w_md,
        bias_md, dst_md, {d(s.stride), d(s.stride)}, {d(s.pad), d(s.pad)}, {d(s.pad), d(s.pad)});
    dnnl::primitive_attr attr;
    std::vector<float> scales(s.o);
    for (size_t i = 0; i < s.o; i++) scales[i] = 0.001f + 0.0005f * static_cast<float>(i % 7);
    attr.set_output_scales(1 << 1, scales);
    attr.set_zero_points(DNNL_ARG_SRC, 0, {3});
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
    dnnl::convolution_forward conv(pd);
    std::mt19937 rng(42);
    std::vector<uint8_t> x(s.h * s.w * s.c);
    std::vector<int8_t> w(s.o * cg * s.k * s.k);
    for (auto& v : x) v = static_cast<uint8_t>(rng());
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    dnnl::memory src(src_md, engine, x.data()), dst(dst_md, engine), bias(bias_md, engine);
    dnnl::memory user_w(user_w_md, engine, w.data()), weights(pd.weights_desc(), engine);
    dnnl::reorder(user_w, weights).execute(stream, user_w, weights);
    float* b = static_cast<float*>(bias.get_data_handle());
    for (size_t i = 0; i < s.o; i++) b[i] = static_cast<float>(i % 13);
    stream.wait();
    for (auto _ : state) {
      conv.execute(stream, {{DNNL_ARG_SRC, src},
                            {DNNL_ARG_WEIGHTS, weights},
                            {DNNL_ARG_BIAS, bias},
                            {DNNL_ARG_DST, dst}});
      stream.wait();
    }
    state.SetLabel(std::string("onednn ") + pd.impl_info_str());
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
  omp_set_num_threads(previous);
}
