#include "peers/peer-xnnpack-conv.h"

#include <xnnpack.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

class XnnpackConv : public ConvRunner {
 public:
  XnnpackConv(const ConvProblem& p, pthreadpool_t pool) : p_(p), pool_(pool) {}
  ~XnnpackConv() override { xnn_delete_operator(op_); }

  bool create(std::string* error) {
    static const bool initialized = xnn_initialize(nullptr) == xnn_status_success;
    if (!initialized) {
      *error = "XNNPACK: xnn_initialize failed";
      return false;
    }
    const ConvShape& s = p_.shape;
    const size_t cg = s.c / s.groups, og = s.o / s.groups, taps = s.k * s.k;
    std::vector<int8_t> w(p_.w.size());  // [o][c][tap] -> [o][tap][c]
    for (size_t o = 0; o < s.o; o++) {
      for (size_t c = 0; c < cg; c++) {
        for (size_t t = 0; t < taps; t++)
          w[(o * taps + t) * cg + c] = p_.w[(o * cg + c) * taps + t];
      }
    }
    std::vector<int32_t> bias(s.o);
    for (size_t j = 0; j < s.o; j++) {
      const float inv = 1.0f / static_cast<float>(static_cast<double>(p_.w_scales[j]) * p_.x_scale);
      bias[j] = static_cast<int32_t>(std::nearbyint(p_.bias[j] * inv));
    }
    const uint32_t pad = static_cast<uint32_t>(s.pad), k = static_cast<uint32_t>(s.k);
    const uint32_t stride = static_cast<uint32_t>(s.stride);
    const int8_t y_zero_point = static_cast<int8_t>(p_.y_zero_point - 128);
    const xnn_status status = xnn_create_convolution2d_nhwc_qc8(
        pad, pad, pad, pad, k, k, stride, stride, 1, 1, static_cast<uint32_t>(s.groups), cg, og,
        s.c, s.o, static_cast<int8_t>(p_.x_zero_point - 128), p_.x_scale, p_.w_scales.data(),
        w.data(), bias.data(), y_zero_point, p_.y_scale, y_zero_point, 127, 0, &op_);
    if (status != xnn_status_success) {
      *error = "XNNPACK: xnn_create_convolution2d_nhwc_qc8 failed, status " +
               std::to_string(static_cast<int>(status));
      return false;
    }
    y_.resize(conv_output_height(s) * conv_output_width(s) * s.o);
    label_ = conv_is_depthwise(s) ? "qc8 depthwise" : "qc8";
    return true;
  }

  bool run() override {
    return xnn_setup_convolution2d_nhwc_qc8(op_, 1, p_.shape.h, p_.shape.w, p_.x_signed.data(),
                                            y_.data(), pool_) == xnn_status_success &&
           xnn_run_operator(op_, pool_) == xnn_status_success;
  }
  const void* output() const override { return y_.data(); }

 private:
  const ConvProblem& p_;
  pthreadpool_t const pool_;
  xnn_operator_t op_ = nullptr;
  std::vector<int8_t> y_;
};

}  // namespace

std::unique_ptr<ConvRunner> make_xnnpack_conv(const ConvProblem& p, pthreadpool* pool,
                                              std::string* error) {
  auto runner = std::make_unique<XnnpackConv>(p, pool);
  if (!runner->create(error)) return nullptr;
  return runner;
}
