#include "peers/peer-onednn-conv.h"

#include <omp.h>

#include <cstdint>
#include <dnnl.hpp>
#include <vector>

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

dnnl::memory::dim d(size_t v) {
  return static_cast<dnnl::memory::dim>(v);
}

class OnednnConv : public ConvRunner {
 public:
  OnednnConv(const ConvProblem& p, size_t threads) : threads_(static_cast<int>(threads)) {
    omp_set_num_threads(threads_);  // before the primitive is created: oneDNN plans for it
    const ConvShape& s = p.shape;
    const size_t oh = conv_output_height(s), ow = conv_output_width(s);
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
    // PyTorch's onednn engine's constants (qeq's onednn engine computes the same floats).
    std::vector<float> scales(s.o);
    for (size_t j = 0; j < s.o; j++) scales[j] = (p.w_scales[j] * p.x_scale) * (1.0f / p.y_scale);
    dnnl::primitive_attr attr;
    attr.set_output_scales(1 << 1, scales);
    attr.set_zero_points(DNNL_ARG_SRC, 0, {p.x_zero_point});
    attr.set_zero_points(DNNL_ARG_DST, 0, {p.y_zero_point});
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine_);
    conv_ = dnnl::convolution_forward(pd);
    src_ = dnnl::memory(src_md, engine_, const_cast<uint8_t*>(p.x.data()));
    dst_ = dnnl::memory(dst_md, engine_);
    bias_ = dnnl::memory(bias_md, engine_);
    weights_ = dnnl::memory(pd.weights_desc(), engine_);
    dnnl::memory user_w(user_w_md, engine_, const_cast<int8_t*>(p.w.data()));
    dnnl::reorder(user_w, weights_).execute(stream_, user_w, weights_);
    float* b = static_cast<float*>(bias_.get_data_handle());
    for (size_t j = 0; j < s.o; j++)
      b[j] = (p.bias[j] * (1.0f / p.x_scale)) * (1.0f / p.w_scales[j]);
    stream_.wait();
    label_ = pd.impl_info_str();
  }

  bool run() override {
    omp_set_num_threads(threads_);
    conv_.execute(stream_, {{DNNL_ARG_SRC, src_},
                            {DNNL_ARG_WEIGHTS, weights_},
                            {DNNL_ARG_BIAS, bias_},
                            {DNNL_ARG_DST, dst_}});
    stream_.wait();
    return true;
  }
  const void* output() const override { return dst_.get_data_handle(); }

 private:
  const int threads_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  dnnl::convolution_forward conv_;
  dnnl::memory src_, dst_, bias_, weights_;
};

}  // namespace

std::unique_ptr<ConvRunner> make_onednn_conv(const ConvProblem& p, size_t threads,
                                             std::string* error) {
  try {
    return std::make_unique<OnednnConv>(p, threads);
  } catch (const dnnl::error& e) {
    *error = std::string("oneDNN: ") + e.what();
    return nullptr;
  }
}
