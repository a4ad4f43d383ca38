/* Dynamic quantization, as torch.ao.nn.quantized.dynamic.Linear: per call, the activation
 * qparams come from the input's min/max (PyTorch's ChooseQuantizationParams), the input is
 * quantized with them (quantize_per_tensor's arithmetic) and the GEMM returns float32. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <qeq/gemm.h>

#include "dispatch/dispatch.h"
#include "kernels/common/gemm-epilogue-scalar.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/gemm-internal.h"
#include "src/ops/gemm-qparams.h"

qeq_status qeq_gemm_run_dynamic(const qeq_gemm* gemm, size_t m, const float* input,
                                size_t input_stride_bytes, float* output,
                                size_t output_stride_bytes, struct pthreadpool* pool,
                                float* input_scale, int32_t* input_zero_point) {
  static const char fn[] = "qeq_gemm_run_dynamic";
  if (gemm != NULL && !gemm->dynamic) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: gemm was created static (config->dynamic = 0): use qeq_gemm_run", fn);
  }
  const size_t k = gemm ? gemm->k : 0;
  if (k > SIZE_MAX / sizeof(float) || (m != 0 && m > SIZE_MAX / (k ? k : 1))) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: m %zu x k %zu floats overflow", fn, m, k);
  }
  if (input_stride_bytes % sizeof(float) != 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: input_stride_bytes %zu is not a multiple of 4",
                    fn, input_stride_bytes);
  }
  /* The chosen qparams are written last: they may not lie in the input, the output or each
   * other (qeq_gemm_check_run also checks the output's alignment). */
  const qeq_buffer qparams[2] = {
      {"input_scale", input_scale, sizeof *input_scale, 1, 0},
      {"input_zero_point", input_zero_point, sizeof *input_zero_point, 1, 0}};
  qeq_status status = qeq_gemm_check_run(fn, gemm, m, input, k * sizeof(float), input_stride_bytes,
                                         output, output_stride_bytes, qparams, 2);
  if (status != QEQ_OK) return status;

  const size_t row_elems = input_stride_bytes / sizeof(float);
  float lo = INFINITY, hi = -INFINITY;
  for (size_t r = 0; r < m; r++) {
    const float* row = input + r * row_elems;
    for (size_t i = 0; i < k; i++) {
      if (!isfinite(row[i])) {
        return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: input[%zu][%zu] = %g is not finite", fn, r, i,
                        (double)row[i]);
      }
      lo = row[i] < lo ? row[i] : lo;
      hi = row[i] > hi ? row[i] : hi;
    }
  }
  /* QNNPACK ignores reduce_range (PyTorch warns and uses [0, 255]); oneDNN honours it. */
  const int onednn = gemm->engine == QEQ_GEMM_ENGINE_ONEDNN;
  double scale_d;
  int32_t zero_point;
  qeq_choose_qparams_u8(lo, hi, onednn && gemm->reduce_range, &scale_d, &zero_point);
  const float scale = (float)scale_d;

  const size_t n = gemm->n;
  uint8_t* a = malloc(m * k);
  int32_t* row_sums = gemm->needs_row_sums ? malloc(m * sizeof *row_sums) : NULL;
  int32_t* acc = onednn && m <= SIZE_MAX / sizeof(int32_t) / n ? malloc(m * n * sizeof *acc) : NULL;
  float* columns = onednn ? malloc(2 * n * sizeof *columns) : NULL;
  if (a == NULL || (gemm->needs_row_sums && row_sums == NULL) ||
      (onednn && (acc == NULL || columns == NULL))) {
    free(a), free(row_sums), free(acc), free(columns);
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate the workspace of %zu rows", fn,
                    m);
  }
  qeq_gemm_ukernel_params params = gemm->params;
  params.a_zero_point = zero_point;
  params.a_scale = scale;
  if (onednn) {
    /* oneDNN quantizes with the reciprocal taken in double and adds the zero point before
     * rounding; its output is ((float)acc + b * bs) * (1 / bs) with bs = (1/s_x) * (1/s_w),
     * so the kernel stores int32 and this pass applies that order. */
    const float inv_scale = (float)(1.0 / scale_d);
    for (size_t r = 0; r < m; r++) {
      const float* row = input + r * row_elems;
      for (size_t i = 0; i < k; i++) {
        const float scaled = row[i] * inv_scale;
        float v = scaled + (float)zero_point;
        v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
        a[r * k + i] = (uint8_t)nearbyintf(v);
      }
    }
    for (size_t j = 0; j < n; j++) {
      const float bias_scale = inv_scale * gemm->dynamic_inv_w_scale[j];
      columns[j] = gemm->dynamic_bias[j] * bias_scale;
      columns[n + j] = 1.0f / bias_scale;
    }
    params.store = QEQ_GEMM_STORE_S32;
  } else {
    const qeq_q8_quant_params quant = qeq_q8_quant_params_make(1.0f / scale, zero_point, 0, 255);
    qeq_f32_q8_rquant_ukernel_fn* quantize = QEQ_DISPATCH(f32_q8_rquant);
    for (size_t r = 0; r < m; r++) quantize(1, 1, k, input + r * row_elems, &quant, 0, a + r * k);
  }
  if (row_sums) qeq_gemm_row_sums(m, k, a, k, row_sums);
  if (onednn) {
    qeq_gemm_drive(gemm, m, a, k, row_sums, acc, n * sizeof *acc, &params, pool);
    /* then the clamp, as the kernels' float store does it */
    const float lo = gemm->params.out_lo, hi = gemm->params.out_hi;
    for (size_t r = 0; r < m; r++) {
      float* out = (float*)((uint8_t*)output + r * output_stride_bytes);
      for (size_t j = 0; j < n; j++) {
        const float sum = (float)acc[r * n + j] + columns[j];
        out[j] = qeq_gemm_clamp_f32(sum * columns[n + j], lo, hi);
      }
    }
  } else {
    qeq_gemm_drive(gemm, m, a, k, row_sums, output, output_stride_bytes, &params, pool);
  }
  free(a), free(row_sums), free(acc), free(columns);
  if (input_scale) *input_scale = scale;
  if (input_zero_point) *input_zero_point = zero_point;
  return QEQ_OK;
}
