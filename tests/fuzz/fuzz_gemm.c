/* Fuzzes the int8 GEMM: qeq_gemm_create with fuzzed configs (sizes, strides, qparams, bias,
 * dtypes, outputs, clamps, engines, dynamic), then qeq_gemm_run or qeq_gemm_run_dynamic on
 * fuzzed rows, strides and overlapping buffers. A GEMM is packed under the cap it runs
 * under, so the scalar rerun packs for the scalar kernel and must give the same bits. */
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

typedef struct args {
  qeq_gemm_config config;
  size_t m, input_stride_bytes, output_stride_bytes;
  const void* input;
  void* output;
  float* input_scale;
  int32_t* input_zero_point;
  int32_t create_status; /* compared with the scalar path's too */
} args;

static qeq_status call(void* p) {
  args* a = p;
  qeq_gemm* const untouched = (qeq_gemm*)&a->create_status;
  qeq_gemm* g = untouched;
  const qeq_status st = qeq_gemm_create(&a->config, &g);
  fuzz_check_status(a->create_status = st, "qeq_gemm_create");
  if (st != QEQ_OK) {
    if (g != untouched) fuzz_fail("qeq_gemm_create wrote *gemm on failure");
    return QEQ_OK;
  }
  const qeq_status run =
      a->config.dynamic
          ? qeq_gemm_run_dynamic(g, a->m, a->input, a->input_stride_bytes, a->output,
                                 a->output_stride_bytes, NULL, a->input_scale, a->input_zero_point)
          : qeq_gemm_run(g, a->m, a->input, a->input_stride_bytes, a->output,
                         a->output_stride_bytes, NULL);
  qeq_gemm_destroy(g);
  return run;
}

/* A stride in bytes for rows of `row` bytes: mostly row or a little more, sometimes too
 * short, sometimes so large that (m - 1) * stride overflows. */
static size_t stride(fuzz* f, size_t row, size_t elem, size_t m) {
  const uint8_t tag = fuzz_byte(f);
  if (tag % 16 == 0 && m > 1) return SIZE_MAX / (m - 1) + 1;
  if (tag % 16 == 1) return row >= elem ? row - elem : 0;
  return row + (tag % 4 == 0 ? fuzz_below(f, 9) * elem : 0); /* elements stay aligned */
}

/* Bytes a run may touch: (m - 1) * stride + row, or row * m when that overflows (the call
 * must refuse it then). */
static size_t extent(size_t m, size_t stride, size_t row) {
  if (m == 0) return 0;
  if (stride > (SIZE_MAX - row) / (m ? m : 1)) return row * m;
  return (m - 1) * (stride > row ? stride : row) + row;
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  qeq_gemm_config* c = &a->config;
  *c = qeq_gemm_config_default();
  c->n = fuzz_below(f, 40), c->k = fuzz_below(f, 70);
  /* A weight stride of 0 means k; k - 1 must be refused. */
  c->weight_stride_bytes = fuzz_byte(f) % 4 || !c->k ? 0 : c->k + fuzz_below(f, 5) - 1;
  c->weights = fuzz_buffer(f, FUZZ_U8, extent(c->n, c->weight_stride_bytes, c->k));
  c->quant.weight_qparam_count = fuzz_byte(f) % 2 ? 1 : fuzz_byte(f) % 8 ? c->n : fuzz_below(f, 5);
  c->quant.weight_scales = fuzz_buffer(f, FUZZ_SCALE, c->quant.weight_qparam_count);
  c->quant.weight_zero_points =
      fuzz_byte(f) % 2 ? NULL : fuzz_buffer(f, FUZZ_I32, c->quant.weight_qparam_count);
  c->quant.bias = fuzz_byte(f) % 4 ? fuzz_buffer(f, FUZZ_F32, c->n) : NULL;
  const uint8_t flags = fuzz_byte(f);
  c->quant.input_dtype = (qeq_dtype)(flags % 3);
  c->quant.output = (qeq_gemm_output)(flags >> 2 & 3);
  c->quant.output_dtype = (qeq_dtype)(flags >> 4 & 3);
  c->quant.engine = (qeq_gemm_engine)(flags >> 6 & 1);
  c->dynamic = flags >> 7;
  c->reduce_range = fuzz_byte(f) & 1;
  c->quant.input_scale = fuzz_scale(f), c->quant.input_zero_point = fuzz_i32(f);
  c->quant.output_scale = fuzz_scale(f), c->quant.output_zero_point = fuzz_i32(f);
  c->quant.clamp = (qeq_gemm_clamp)fuzz_below(f, 5);
  c->quant.clamp_min = fuzz_f32(f), c->quant.clamp_max = fuzz_f32(f);
  a->m = fuzz_below(f, 24);
  const size_t in_elem = c->dynamic ? 4 : 1;
  const size_t out_elem = c->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? 1 : 4;
  a->input_stride_bytes = stride(f, c->k * in_elem, in_elem, a->m);
  a->output_stride_bytes = stride(f, c->n * out_elem, out_elem, a->m);
  const size_t in_bytes = extent(a->m, a->input_stride_bytes, c->k * in_elem);
  const size_t out_bytes = extent(a->m, a->output_stride_bytes, c->n * out_elem);
  a->input =
      c->dynamic ? fuzz_buffer(f, FUZZ_F32, in_bytes / 4) : fuzz_buffer(f, FUZZ_U8, in_bytes);
  a->output =
      out_elem == 4 ? fuzz_buffer(f, FUZZ_F32, out_bytes / 4) : fuzz_buffer(f, FUZZ_U8, out_bytes);
  a->input_scale = fuzz_buffer(f, FUZZ_F32, 1);
  a->input_zero_point = fuzz_buffer(f, FUZZ_I32, 1);
  fuzz_track(f, &a->create_status, sizeof a->create_status);
  return c->dynamic ? "qeq_gemm_run_dynamic" : "qeq_gemm_run";
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
