/* Fuzzes the int8 convolution: qeq_conv_create with fuzzed geometry (channels, groups,
 * kernel, stride, padding, dilation, sometimes 0 or not dividing), qparams, bias, dtypes,
 * outputs, clamps and engines, then qeq_conv_run on fuzzed batch, sizes, pixel strides and
 * overlapping buffers. Packed under the cap it runs under, so the scalar rerun must give the
 * same bits. */
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

typedef struct args {
  qeq_conv_config config;
  size_t batch, height, width, input_stride, output_stride;
  const void* input;
  void* output;
  int32_t create_status;
} args;

static qeq_status call(void* p) {
  args* a = p;
  qeq_conv* const untouched = (qeq_conv*)&a->create_status;
  qeq_conv* conv = untouched;
  const qeq_status st = qeq_conv_create(&a->config, &conv);
  fuzz_check_status(a->create_status = st, "qeq_conv_create");
  if (st != QEQ_OK) {
    if (conv != untouched) fuzz_fail("qeq_conv_create wrote *conv on failure");
    return QEQ_OK;
  }
  const qeq_status run = qeq_conv_run(conv, a->batch, a->height, a->width, a->input,
                                      a->input_stride, a->output, a->output_stride, NULL);
  qeq_conv_destroy(conv);
  return run;
}

/* A pixel stride: mostly 0 (dense) or a little more than a pixel, sometimes too short. */
static size_t stride(fuzz* f, size_t pixel, size_t elem) {
  const uint8_t tag = fuzz_byte(f);
  if (tag % 8 == 0) return pixel >= elem ? pixel - elem : 1;
  if (tag % 8 == 1) return pixel + fuzz_below(f, 5) * elem;
  return 0;
}

/* Output pixels of one dimension as the definition gives them, 0 when the input is too small. */
static size_t extent(size_t in, size_t k, size_t s, size_t p, size_t d) {
  if (k == 0 || s == 0 || d == 0 || in + 2 * p < (k - 1) * d + 1) return 0;
  return (in + 2 * p - (k - 1) * d - 1) / s + 1;
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  qeq_conv_config* c = &a->config;
  *c = qeq_conv_config_default();
  c->input_channels = fuzz_below(f, 9), c->output_channels = fuzz_below(f, 9);
  c->groups = fuzz_below(f, 5);
  c->kernel_height = fuzz_below(f, 4), c->kernel_width = fuzz_below(f, 4);
  c->stride_height = fuzz_below(f, 4), c->stride_width = fuzz_below(f, 4);
  c->padding_height = fuzz_below(f, 3), c->padding_width = fuzz_below(f, 3);
  c->dilation_height = fuzz_below(f, 3), c->dilation_width = fuzz_below(f, 3);
  const size_t cg =
      c->groups && c->input_channels % c->groups == 0 ? c->input_channels / c->groups : 0;
  const size_t o = c->output_channels;
  c->weights = fuzz_buffer(f, FUZZ_U8, o * cg * c->kernel_height * c->kernel_width);
  c->quant.weight_qparam_count = fuzz_byte(f) % 2 ? 1 : fuzz_byte(f) % 8 ? o : fuzz_below(f, 5);
  c->quant.weight_scales = fuzz_buffer(f, FUZZ_SCALE, c->quant.weight_qparam_count);
  c->quant.weight_zero_points =
      fuzz_byte(f) % 2 ? NULL : fuzz_buffer(f, FUZZ_I32, c->quant.weight_qparam_count);
  c->quant.bias = fuzz_byte(f) % 4 ? fuzz_buffer(f, FUZZ_F32, o) : NULL;
  const uint8_t flags = fuzz_byte(f);
  c->quant.input_dtype = (qeq_dtype)(flags % 3);
  c->quant.output = (qeq_gemm_output)(flags >> 2 & 3);
  c->quant.output_dtype = (qeq_dtype)(flags >> 4 & 3);
  c->quant.engine = (qeq_gemm_engine)(flags >> 6 & 1);
  c->quant.input_scale = fuzz_scale(f), c->quant.input_zero_point = fuzz_i32(f);
  c->quant.output_scale = fuzz_scale(f), c->quant.output_zero_point = fuzz_i32(f);
  c->quant.clamp = (qeq_gemm_clamp)fuzz_below(f, 5);
  c->quant.clamp_min = fuzz_f32(f), c->quant.clamp_max = fuzz_f32(f);
  a->batch = fuzz_below(f, 3), a->height = fuzz_below(f, 9), a->width = fuzz_below(f, 9);
  const size_t out_elem = c->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? 1 : 4;
  a->input_stride = stride(f, c->input_channels, 1);
  a->output_stride = stride(f, o * out_elem, out_elem);
  const size_t in_pixel = a->input_stride > c->input_channels ? a->input_stride : c->input_channels;
  const size_t out_pixel = a->output_stride > o * out_elem ? a->output_stride : o * out_elem;
  const size_t oh =
      extent(a->height, c->kernel_height, c->stride_height, c->padding_height, c->dilation_height);
  const size_t ow =
      extent(a->width, c->kernel_width, c->stride_width, c->padding_width, c->dilation_width);
  a->input = fuzz_buffer(f, FUZZ_U8, a->batch * a->height * a->width * in_pixel);
  const size_t out_bytes = a->batch * oh * ow * out_pixel;
  a->output =
      out_elem == 4 ? fuzz_buffer(f, FUZZ_F32, out_bytes / 4) : fuzz_buffer(f, FUZZ_U8, out_bytes);
  fuzz_track(f, &a->create_status, sizeof a->create_status);
  return "qeq_conv_run";
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
