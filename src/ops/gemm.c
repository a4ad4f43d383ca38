/* int8 GEMM: checks the config, derives PyTorch's requantization constants per engine, packs
 * the weights for the dispatched kernel, and drives the kernel over tiles of the output. */
#include <math.h>
#include <pthreadpool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qeq/gemm.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/ops/gemm-internal.h"
#include "src/ops/gemm-pack.h"

qeq_gemm_config qeq_gemm_config_default(void) {
  qeq_gemm_config config;
  memset(&config, 0, sizeof config);
  config.quant.weight_qparam_count = 1;
  config.quant.input_dtype = QEQ_DTYPE_QUINT8;
  config.quant.input_scale = 1.0f;
  config.quant.output = QEQ_GEMM_OUTPUT_QUANTIZED;
  config.quant.output_dtype = QEQ_DTYPE_QUINT8;
  config.quant.output_scale = 1.0f;
  config.quant.clamp = QEQ_GEMM_CLAMP_NONE;
  config.quant.engine = QEQ_GEMM_ENGINE_ONEDNN;
  return config;
}

static int byte_dtype_range(qeq_dtype dtype, int32_t* qmin, int32_t* qmax) {
  switch (dtype) {
    case QEQ_DTYPE_QUINT8: *qmin = 0, *qmax = 255; return 1;
    case QEQ_DTYPE_QINT8: *qmin = -128, *qmax = 127; return 1;
    default: return 0;
  }
}

static int positive_finite(float v) {
  return v > 0.0f && isfinite(v);
}

/* PyTorch's quantize of one real value (docs/numerics.md#quantize), saturating to [qmin, qmax]. */
static int32_t quantize_bound(float v, float scale, int32_t zero_point, int32_t qmin,
                              int32_t qmax) {
  const float scaled = v * (1.0f / scale);
  if (scaled >= (float)(qmax - zero_point)) return qmax;
  if (scaled <= (float)(qmin - zero_point)) return qmin;
  return zero_point + (int32_t)nearbyintf(scaled);
}

/* The clamp's kind and range, for every output: a float output clamps too, and the int32
 * output is the exact accumulator, which a clamp would contradict. */
static qeq_status check_clamp(const char* fn, const qeq_gemm_config* c) {
  switch (c->quant.clamp) {
    case QEQ_GEMM_CLAMP_NONE: return QEQ_OK;
    case QEQ_GEMM_CLAMP_RELU:
    case QEQ_GEMM_CLAMP_RELU6: break;
    case QEQ_GEMM_CLAMP_RANGE:
      if (isnan(c->quant.clamp_min) || isnan(c->quant.clamp_max) ||
          !(c->quant.clamp_min <= c->quant.clamp_max)) {
        return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                        "%s: config->quant.clamp_min = %g and clamp_max = %g do not form a range",
                        fn, (double)c->quant.clamp_min, (double)c->quant.clamp_max);
      }
      break;
    default:
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: config->quant.clamp %d is not a qeq_gemm_clamp", fn,
                      (int)c->quant.clamp);
  }
  if (c->quant.output == QEQ_GEMM_OUTPUT_INT32) {
    return qeq_fail(
        QEQ_ERROR_INVALID_ARGUMENT,
        "%s: config->quant.clamp %d needs a quantized or float output (the int32 output is "
        "the exact accumulator)",
        fn, (int)c->quant.clamp);
  }
  return QEQ_OK;
}

/* The quantized output bounds the (checked) clamp asks for, intersected with the dtype. */
static void output_bounds(const qeq_gemm_config* c, int32_t* lo, int32_t* hi) {
  int32_t qmin = 0, qmax = 255;
  byte_dtype_range(c->quant.output_dtype, &qmin, &qmax);
  const int32_t zp = c->quant.output_zero_point;
  *lo = qmin, *hi = qmax;
  switch (c->quant.clamp) {
    case QEQ_GEMM_CLAMP_RELU: *lo = zp; break;
    case QEQ_GEMM_CLAMP_RELU6:
      *lo = zp;
      *hi = quantize_bound(6.0f, c->quant.output_scale, zp, qmin, qmax);
      break;
    case QEQ_GEMM_CLAMP_RANGE:
      *lo = quantize_bound(c->quant.clamp_min, c->quant.output_scale, zp, qmin, qmax);
      *hi = quantize_bound(c->quant.clamp_max, c->quant.output_scale, zp, qmin, qmax);
      break;
    default: break;
  }
}

/* The float output's bounds: the clamp's real values as they are (-inf, inf without one). */
static void float_bounds(const qeq_gemm_config* c, float* lo, float* hi) {
  *lo = -INFINITY, *hi = INFINITY;
  switch (c->quant.clamp) {
    case QEQ_GEMM_CLAMP_RELU: *lo = 0.0f; break;
    case QEQ_GEMM_CLAMP_RELU6: *lo = 0.0f, *hi = 6.0f; break;
    case QEQ_GEMM_CLAMP_RANGE: *lo = c->quant.clamp_min, *hi = c->quant.clamp_max; break;
    default: break;
  }
}

static qeq_status check_config(const char* fn, const qeq_gemm_config* c) {
  if (c->n == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->n is 0", fn);
  if (c->k == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->k is 0", fn);
  if (c->weights == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->weights is NULL", fn);
  }
  const size_t stride = c->weight_stride_bytes ? c->weight_stride_bytes : c->k;
  if (stride < c->k) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: config->weight_stride_bytes %zu is shorter than k %zu", fn, stride, c->k);
  }
  size_t weight_bytes;
  if (!qeq_span_fits(c->n, c->k, stride, &weight_bytes)) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW,
                    "%s: config->n %zu x weight_stride_bytes %zu overflows", fn, c->n, stride);
  }
  const size_t count = c->quant.weight_qparam_count;
  if (count != 1 && count != c->n) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH,
                    "%s: config->quant.weight_qparam_count %zu is neither 1 nor n = %zu", fn, count,
                    c->n);
  }
  const qeq_status scales =
      qeq_check_scales(fn, "config->quant.weight_scales", c->quant.weight_scales, count);
  if (scales != QEQ_OK) return scales;
  for (size_t i = 0; i < count; i++) {
    if (c->quant.weight_zero_points &&
        (c->quant.weight_zero_points[i] < -128 || c->quant.weight_zero_points[i] > 127)) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: config->quant.weight_zero_points[%zu] = %d is outside [-128, 127]", fn,
                      i, (int)c->quant.weight_zero_points[i]);
    }
  }
  if (c->quant.bias) {
    const qeq_status status = qeq_check_finite(fn, "config->quant.bias", c->quant.bias, c->n);
    if (status != QEQ_OK) return status;
  }
  int32_t qmin, qmax;
  if (!byte_dtype_range(c->quant.input_dtype, &qmin, &qmax)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: config->quant.input_dtype %d is not quint8 or qint8", fn,
                    (int)c->quant.input_dtype);
  }
  if ((unsigned)c->quant.engine > QEQ_GEMM_ENGINE_QNNPACK) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: config->quant.engine %d is not a qeq_gemm_engine", fn,
                    (int)c->quant.engine);
  }
  if ((unsigned)c->quant.output > QEQ_GEMM_OUTPUT_INT32) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: config->quant.output %d is not a qeq_gemm_output", fn,
                    (int)c->quant.output);
  }
  const qeq_status clamp = check_clamp(fn, c);
  if (clamp != QEQ_OK) return clamp;
  if (c->dynamic) {
    if (c->quant.output != QEQ_GEMM_OUTPUT_FLOAT) {
      return qeq_fail(QEQ_ERROR_UNSUPPORTED, "%s: a dynamic GEMM needs config->quant.output FLOAT",
                      fn);
    }
    if (c->quant.input_dtype != QEQ_DTYPE_QUINT8) {
      return qeq_fail(QEQ_ERROR_UNSUPPORTED, "%s: a dynamic GEMM quantizes its input to quint8",
                      fn);
    }
    return QEQ_OK;
  }
  const qeq_status input_scale =
      qeq_check_scale(fn, "config->quant.input_scale", c->quant.input_scale);
  if (input_scale != QEQ_OK) return input_scale;
  if (c->quant.input_zero_point < qmin || c->quant.input_zero_point > qmax) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: config->quant.input_zero_point %d is outside [%d, %d]", fn,
                    (int)c->quant.input_zero_point, (int)qmin, (int)qmax);
  }
  if (c->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED) {
    if (!byte_dtype_range(c->quant.output_dtype, &qmin, &qmax)) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: config->quant.output_dtype %d is not quint8 or qint8", fn,
                      (int)c->quant.output_dtype);
    }
    const qeq_status output_scale =
        qeq_check_scale(fn, "config->quant.output_scale", c->quant.output_scale);
    if (output_scale != QEQ_OK) return output_scale;
    if (c->quant.output_zero_point < qmin || c->quant.output_zero_point > qmax) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: config->quant.output_zero_point %d is outside [%d, %d]", fn,
                      (int)c->quant.output_zero_point, (int)qmin, (int)qmax);
    }
  }
  return QEQ_OK;
}

/* The largest |x - zx| * |w - zw| summed over k must stay inside int32 (the kernels
 * accumulate in 32 bits, as PyTorch's do), with room for the integer bias. */
static qeq_status check_accumulator_range(const char* fn, const char* k_name,
                                          const qeq_gemm_config* c, int32_t a_zero_point_u8,
                                          const int32_t* bias_q) {
  const int64_t max_a =
      c->dynamic ? 255 : (a_zero_point_u8 > 127 ? a_zero_point_u8 : 255 - a_zero_point_u8);
  int64_t max_w = 128;
  for (size_t i = 0; c->quant.weight_zero_points && i < c->quant.weight_qparam_count; i++) {
    const int64_t zp = c->quant.weight_zero_points[i];
    const int64_t worst = zp + 128 > 127 - zp ? zp + 128 : 127 - zp;
    if (worst > max_w) max_w = worst;
  }
  int64_t max_bias = 0;
  for (size_t i = 0; bias_q && i < c->n; i++) {
    const int64_t b = bias_q[i] < 0 ? -(int64_t)bias_q[i] : bias_q[i];
    if (b > max_bias) max_bias = b;
  }
  if ((int64_t)c->k > (INT32_MAX - max_bias) / (max_a * max_w)) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: %s = %zu could overflow the int32 accumulator (at most %lld "
                    "with these zero points and bias)",
                    fn, k_name, c->k, (long long)((INT32_MAX - max_bias) / (max_a * max_w)));
  }
  return QEQ_OK;
}

static qeq_status bad_multiplier(const char* fn, size_t column, float multiplier) {
  return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                  "%s: the requantization multiplier of column %zu (weight scale x input scale / "
                  "output scale) is %g, not positive and finite",
                  fn, column, (double)multiplier);
}

/* Per-column requantization constants in the float32 operation order of each PyTorch engine
 * (docs/numerics.md#gemm-and-convolution-requantization; the oneDNN order as measured on
 * PyTorch 1.13: docs/numerics.md#onednn-engine). */
static qeq_status column_constants(const char* fn, const qeq_gemm_config* c, int32_t* w_zp,
                                   int32_t* bias_q, float* bias_f, float* multiplier) {
  const int per_channel = c->quant.weight_qparam_count != 1;
  const float inv_out =
      c->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? 1.0f / c->quant.output_scale : 1.0f;
  for (size_t j = 0; j < c->n; j++) {
    const size_t q = per_channel ? j : 0;
    const float s_w = c->quant.weight_scales[q];
    const float b = c->quant.bias ? c->quant.bias[j] : 0.0f;
    w_zp[j] = c->quant.weight_zero_points ? c->quant.weight_zero_points[q] : 0;
    bias_q[j] = 0;
    bias_f[j] = 0.0f;
    if (c->quant.output != QEQ_GEMM_OUTPUT_QUANTIZED) {
      /* float output: acc * (s_x * s_w) + bias; int32 output: no bias */
      multiplier[j] = s_w;
      bias_f[j] = c->quant.output == QEQ_GEMM_OUTPUT_FLOAT ? b : 0.0f;
      continue;
    }
    const float s_x = c->quant.input_scale;
    if (c->quant.engine == QEQ_GEMM_ENGINE_QNNPACK) {
      /* QNNPACK: the bias rounded to int32 at the accumulator's scale s_w * s_x. */
      const float product = s_w * s_x;
      multiplier[j] = product * inv_out;
      if (!positive_finite(multiplier[j])) return bad_multiplier(fn, j, multiplier[j]);
      const float scaled = nearbyintf(b * (1.0f / product));
      if (!(scaled >= -2147483648.0f && scaled < 2147483648.0f)) {
        return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                        "%s: config->quant.bias[%zu] = %g does not fit int32 at scale %g (qnnpack)",
                        fn, j, (double)b, (double)product);
      }
      bias_q[j] = (int32_t)scaled;
    } else {
      /* oneDNN: a float bias at the accumulator's scale, built from reciprocals, and the
       * multiplier as a division (measured against PyTorch 1.13's onednn engine). */
      const float bias_scale = (1.0f / s_x) * (1.0f / s_w);
      multiplier[j] = inv_out / bias_scale;
      if (!positive_finite(multiplier[j])) return bad_multiplier(fn, j, multiplier[j]);
      bias_f[j] = b * bias_scale;
      if (!isfinite(bias_f[j])) {
        return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                        "%s: config->quant.bias[%zu] = %g overflows at the accumulator's scale", fn,
                        j, (double)b);
      }
    }
  }
  return QEQ_OK;
}

/* Fills one group's GEMM object: columns [first, first + n) of the config, whose constants
 * the caller derived. */
static void fill_group(qeq_gemm* g, const qeq_gemm_config* config, const qeq_variant* variant,
                       size_t first, size_t n, const int32_t* w_zp, const int32_t* bias_q,
                       const float* bias_f, const float* multiplier, int32_t a_zero_point,
                       int32_t lo, int32_t hi) {
  const size_t k = config->k;
  const size_t stride = config->weight_stride_bytes ? config->weight_stride_bytes : k;
  const qeq_gemm_columns cols = {w_zp + first, bias_q + first, bias_f + first, multiplier + first};
  qeq_gemm_pack(n, k, config->weights + first * stride, stride, variant->nr, variant->kr,
                qeq_gemm_activation_offset(variant->isa), &cols, g->packed);
  g->variant = variant;
  g->n = n, g->k = k;
  g->panel_bytes = qeq_gemm_panel_bytes(k, variant->nr, variant->kr);
  g->needs_row_sums = 0;
  for (size_t j = first; j < first + n; j++) g->needs_row_sums |= w_zp[j] != 0;
  g->input_is_signed = config->quant.input_dtype == QEQ_DTYPE_QINT8;
  g->dynamic = config->dynamic != 0;
  g->reduce_range = config->reduce_range != 0;
  g->engine = config->quant.engine;
  g->output_bytes = config->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? 1 : 4;
  g->params.a_zero_point = a_zero_point;
  if (config->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED) {
    /* QNNPACK adds the output zero point as an integer after rounding, oneDNN in float
     * before (the output qparams were checked only for a quantized output). */
    const int32_t zp = config->quant.output_zero_point;
    const int32_t zp_after = config->quant.engine == QEQ_GEMM_ENGINE_QNNPACK ? zp : 0;
    g->params.out_zero_point = zp_after;
    g->params.out_offset = (float)(zp - zp_after);
    g->params.out_lo = (float)(lo - zp_after);
    g->params.out_hi = (float)(hi - zp_after);
  } else {
    float_bounds(config, &g->params.out_lo, &g->params.out_hi);
  }
  g->params.a_scale = config->quant.input_scale;
  g->params.path_counts = g->path_counts;
  g->params.store = config->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED ? QEQ_GEMM_STORE_Q8
                    : config->quant.output == QEQ_GEMM_OUTPUT_FLOAT   ? QEQ_GEMM_STORE_F32
                                                                      : QEQ_GEMM_STORE_S32;
}

static void destroy_groups(qeq_gemm** gemms, size_t count) {
  for (size_t i = 0; i < count; i++) qeq_gemm_destroy(gemms[i]), gemms[i] = NULL;
}

qeq_status qeq_gemm_create_groups(const char* fn, const char* k_name, const qeq_gemm_config* config,
                                  size_t groups, qeq_gemm** gemms) {
  return qeq_gemm_create_groups_for(fn, k_name, config, groups,
                                    qeq_dispatch_select(QEQ_FAMILY_QU8S8_GEMM), gemms);
}

qeq_status qeq_gemm_create_groups_for(const char* fn, const char* k_name,
                                      const qeq_gemm_config* config, size_t groups,
                                      const qeq_variant* variant, qeq_gemm** gemms) {
  qeq_status status = check_config(fn, config);
  if (status != QEQ_OK) return status;
  if (groups == 0 || config->n % groups != 0 || (config->dynamic && groups != 1)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %zu groups do not split n = %zu", fn, groups,
                    config->n);
  }

  const size_t n = config->n, k = config->k, group_n = n / groups;
  const size_t packed_bytes = qeq_gemm_packed_bytes(group_n, k, variant->nr, variant->kr);
  if (packed_bytes == 0 || packed_bytes > SIZE_MAX - 64 || n > SIZE_MAX / 16) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW, "%s: the packed weights of n %zu x k %zu overflow", fn,
                    group_n, k);
  }
  const int dynamic_onednn = config->dynamic && config->quant.engine == QEQ_GEMM_ENGINE_ONEDNN;
  int32_t* columns = malloc(n * 4 * sizeof(int32_t));
  float* dynamic_columns = dynamic_onednn ? malloc(2 * n * sizeof(float)) : NULL;
  if (columns == NULL || (dynamic_onednn && !dynamic_columns)) {
    free(columns), free(dynamic_columns);
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu column constants", fn, n);
  }
  int32_t* w_zp = columns;
  int32_t* bias_q = columns + n;
  float* bias_f = (float*)(columns + 2 * n);
  float* multiplier = (float*)(columns + 3 * n);
  const int is_signed = config->quant.input_dtype == QEQ_DTYPE_QINT8;
  const int32_t a_zero_point = config->quant.input_zero_point + (is_signed ? 128 : 0);
  status = column_constants(fn, config, w_zp, bias_q, bias_f, multiplier);
  if (status == QEQ_OK) {
    status = check_accumulator_range(fn, k_name, config, a_zero_point, bias_q);
  }
  int32_t lo = 0, hi = 0;
  if (status == QEQ_OK && config->quant.output == QEQ_GEMM_OUTPUT_QUANTIZED) {
    output_bounds(config, &lo, &hi);
  }
  for (size_t i = 0; status == QEQ_OK && i < groups; i++) {
    qeq_gemm* g = calloc(1, sizeof *g);
    void* packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
    qeq_gemm_path_counts* counts = calloc(1, sizeof *counts);
    if (g == NULL || packed == NULL || counts == NULL) {
      free(g), free(packed), free(counts);
      destroy_groups(gemms, i);
      status = qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes of packed weights",
                        fn, packed_bytes);
      break;
    }
    g->packed = packed;
    g->path_counts = counts;
    fill_group(g, config, variant, i * group_n, group_n, w_zp, bias_q, bias_f, multiplier,
               a_zero_point, lo, hi);
    gemms[i] = g;
  }
  if (status != QEQ_OK) {
    free(columns), free(dynamic_columns);
    return status;
  }
  if (dynamic_onednn) {
    gemms[0]->dynamic_inv_w_scale = dynamic_columns;
    gemms[0]->dynamic_bias = dynamic_columns + n;
    for (size_t j = 0; j < n; j++) {
      gemms[0]->dynamic_inv_w_scale[j] = 1.0f / multiplier[j]; /* multiplier holds s_w here */
      gemms[0]->dynamic_bias[j] = bias_f[j];
    }
  }
  free(columns);
  return QEQ_OK;
}

qeq_status qeq_gemm_create(const qeq_gemm_config* config, qeq_gemm** gemm) {
  static const char fn[] = "qeq_gemm_create";
  if (config == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config is NULL", fn);
  if (gemm == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: gemm is NULL", fn);
  qeq_gemm* g = NULL;
  const qeq_status status = qeq_gemm_create_groups(fn, "config->k", config, 1, &g);
  if (status == QEQ_OK) *gemm = g;
  return status;
}

void qeq_gemm_destroy(qeq_gemm* gemm) {
  if (gemm == NULL) return;
  free(gemm->packed);
  free(gemm->path_counts);
  free(gemm->dynamic_inv_w_scale); /* one allocation with dynamic_bias */
  free(gemm);
}

const char* qeq_gemm_kernel_name(const qeq_gemm* gemm) {
  return gemm ? gemm->variant->name : NULL;
}

qeq_status qeq_gemm_path_tiles(const qeq_gemm* gemm, uint64_t* fast_tiles, uint64_t* exact_tiles) {
  static const char fn[] = "qeq_gemm_path_tiles";
  if (gemm == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: gemm is NULL", fn);
  if (fast_tiles == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: fast_tiles is NULL", fn);
  }
  if (exact_tiles == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: exact_tiles is NULL", fn);
  }
  *fast_tiles = __atomic_load_n(&gemm->path_counts->fast_tiles, __ATOMIC_RELAXED);
  *exact_tiles = __atomic_load_n(&gemm->path_counts->exact_tiles, __ATOMIC_RELAXED);
  return QEQ_OK;
}

qeq_status qeq_gemm_check_variant(const char* fn, const qeq_gemm* gemm) {
  if (!qeq_dispatch_isa_allowed(gemm->variant->isa)) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: gemm was packed for %s, which the ISA cap (%s) no longer allows; "
                    "create it again",
                    fn, gemm->variant->name, qeq_isa_name(qeq_isa_effective()));
  }
  return QEQ_OK;
}

void qeq_gemm_row_sums(size_t m, size_t k, const uint8_t* a, size_t a_stride, int32_t* row_sums) {
  for (size_t r = 0; r < m; r++, a += a_stride) {
    uint32_t sum = 0;
    for (size_t i = 0; i < k; i++) sum += a[i];
    row_sums[r] = (int32_t)sum;
  }
}

typedef struct drive_context {
  const qeq_gemm* gemm;
  qeq_qu8s8_gemm_ukernel_fn* kernel;
  const uint8_t* a;
  size_t a_stride;
  const int32_t* row_sums;
  uint8_t* c;
  size_t c_stride;
  const qeq_gemm_ukernel_params* params;
} drive_context;

static void drive_tile(void* opaque, size_t j, size_t i, size_t columns, size_t rows) {
  const drive_context* ctx = opaque;
  const qeq_gemm* g = ctx->gemm;
  ctx->kernel(rows, columns, g->k, ctx->a + i * ctx->a_stride, ctx->a_stride,
              ctx->row_sums ? ctx->row_sums + i : NULL,
              (const uint8_t*)g->packed + j / g->variant->nr * g->panel_bytes,
              ctx->c + i * ctx->c_stride + j * g->output_bytes, ctx->c_stride, ctx->params);
}

/* Weights a block of columns may occupy: half of the smallest L2 we target (512 KiB on Zen 3),
 * leaving room for the activation rows streaming past it. */
enum { WEIGHT_BLOCK_BYTES = 256 << 10 };

/* Columns per task. Tasks run column block by column block, every row tile of a block before
 * the next block, so a block's packed weights are read from memory once and then from L2
 * while the activation tile of each call sits in L1. With threads, blocks shrink until every
 * thread gets about four tasks. */
static size_t columns_per_task(const qeq_gemm* g, size_t m, struct pthreadpool* pool) {
  const size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  const size_t nr = g->variant->nr, mr = g->variant->mr;
  const size_t panels = (g->n + nr - 1) / nr;
  size_t per_task = WEIGHT_BLOCK_BYTES / g->panel_bytes;
  per_task = per_task < 1 ? 1 : per_task > panels ? panels : per_task;
  const size_t row_tiles = (m + mr - 1) / mr;
  const size_t wanted = threads > 1 ? threads * 4 : 1;
  while (per_task > 1 && (panels + per_task - 1) / per_task * row_tiles < wanted) {
    per_task = (per_task + 1) / 2;
  }
  return per_task * nr;
}

void qeq_gemm_drive(const qeq_gemm* gemm, size_t m, const uint8_t* a, size_t a_stride,
                    const int32_t* row_sums, void* c, size_t c_stride,
                    const qeq_gemm_ukernel_params* params, struct pthreadpool* pool) {
  drive_context ctx = {
      gemm,  (qeq_qu8s8_gemm_ukernel_fn*)gemm->variant->fn, a, a_stride, row_sums, c, c_stride,
      params};
  pthreadpool_parallelize_2d_tile_2d(pool, drive_tile, &ctx, gemm->n, m,
                                     columns_per_task(gemm, m, pool), gemm->variant->mr, 0);
}

qeq_status qeq_gemm_check_output_alignment(const char* fn, const char* stride_name,
                                           const void* output, size_t output_stride_bytes,
                                           size_t element_bytes) {
  /* The kernels store float and int32 elements through typed pointers. */
  if (element_bytes == 1) return QEQ_OK;
  if ((uintptr_t)output % element_bytes != 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: output is not aligned to its %zu-byte (float or int32) elements", fn,
                    element_bytes);
  }
  if (output_stride_bytes % element_bytes != 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: %s %zu is not a multiple of the %zu-byte (float or int32) elements", fn,
                    stride_name, output_stride_bytes, element_bytes);
  }
  return QEQ_OK;
}

qeq_status qeq_gemm_check_run(const char* fn, const qeq_gemm* gemm, size_t m, const void* input,
                              size_t input_row_bytes, size_t input_stride_bytes, const void* output,
                              size_t output_stride_bytes, const qeq_buffer* extra,
                              size_t extra_count) {
  if (gemm == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: gemm is NULL", fn);
  if (input == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: input is NULL", fn);
  if (output == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: output is NULL", fn);
  if (m == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: m is 0", fn);
  if (input_stride_bytes < input_row_bytes) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: input_stride_bytes %zu is shorter than a row (%zu bytes)", fn,
                    input_stride_bytes, input_row_bytes);
  }
  const size_t output_row_bytes = gemm->n * gemm->output_bytes;
  if (output_stride_bytes < output_row_bytes) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: output_stride_bytes %zu is shorter than a row (%zu bytes)", fn,
                    output_stride_bytes, output_row_bytes);
  }
  qeq_status status = qeq_gemm_check_output_alignment(fn, "output_stride_bytes", output,
                                                      output_stride_bytes, gemm->output_bytes);
  if (status != QEQ_OK) return status;
  size_t in_span, out_span;
  if (!qeq_span_fits(m, input_row_bytes, input_stride_bytes, &in_span) ||
      !qeq_span_fits(m, output_row_bytes, output_stride_bytes, &out_span)) {
    return qeq_fail(QEQ_ERROR_SIZE_OVERFLOW,
                    "%s: m %zu rows at these strides span more than PTRDIFF_MAX bytes", fn, m);
  }
  /* Messages name the written buffer first: the extra ones ("input_scale overlaps output"),
   * then the output ("output overlaps input"). */
  enum { MAX_EXTRA = 2 };
  const size_t extras = extra_count < MAX_EXTRA ? extra_count : MAX_EXTRA;
  qeq_buffer buffers[MAX_EXTRA + 2];
  for (size_t i = 0; i < extras; i++) buffers[i] = extra[i];
  buffers[extras] = (qeq_buffer){"output", output, out_span, 1, 0};
  buffers[extras + 1] = (qeq_buffer){"input", input, in_span, 0, 0};
  status = qeq_check_overlaps(fn, buffers, extras + 2);
  if (status != QEQ_OK) return status;
  return qeq_gemm_check_variant(fn, gemm);
}

qeq_status qeq_gemm_run_prechecked(const char* fn, const qeq_gemm* gemm, size_t m,
                                   const void* input, size_t input_stride_bytes, void* output,
                                   size_t output_stride_bytes, struct pthreadpool* pool) {
  const size_t k = gemm->k;
  const uint8_t* a = input;
  size_t a_stride = input_stride_bytes;
  /* qint8 activations become uint8 with the zero point moved by 128 (a ^ 0x80 = a + 128). */
  uint8_t* flipped = NULL;
  int32_t* row_sums = NULL;
  if (gemm->input_is_signed) {
    flipped = m <= SIZE_MAX / k ? malloc(m * k) : NULL;
    if (flipped == NULL) {
      return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu x %zu activations", fn, m,
                      k);
    }
    for (size_t r = 0; r < m; r++) {
      for (size_t i = 0; i < k; i++) flipped[r * k + i] = a[r * a_stride + i] ^ 0x80;
    }
    a = flipped, a_stride = k;
  }
  if (gemm->needs_row_sums) {
    row_sums = m <= SIZE_MAX / sizeof *row_sums ? malloc(m * sizeof *row_sums) : NULL;
    if (row_sums == NULL) {
      free(flipped);
      return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu row sums", fn, m);
    }
    qeq_gemm_row_sums(m, k, a, a_stride, row_sums);
  }
  qeq_gemm_drive(gemm, m, a, a_stride, row_sums, output, output_stride_bytes, &gemm->params, pool);
  free(flipped);
  free(row_sums);
  return QEQ_OK;
}

qeq_status qeq_gemm_run(const qeq_gemm* gemm, size_t m, const void* input,
                        size_t input_stride_bytes, void* output, size_t output_stride_bytes,
                        struct pthreadpool* pool) {
  static const char fn[] = "qeq_gemm_run";
  qeq_status status = qeq_gemm_check_run(fn, gemm, m, input, gemm ? gemm->k : 0, input_stride_bytes,
                                         output, output_stride_bytes, NULL, 0);
  if (status != QEQ_OK) return status;
  if (gemm->dynamic) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: gemm is dynamic (float input): use qeq_gemm_run_dynamic", fn);
  }
  return qeq_gemm_run_prechecked(fn, gemm, m, input, input_stride_bytes, output,
                                 output_stride_bytes, pool);
}
