/* Quantization parameters as PyTorch 1.13's observers compute them
 * (docs/numerics.md#quantization-parameters): float32 arithmetic in PyTorch's order, round
 * half to even. */
#include <math.h>
#include <stdint.h>

#include <qeq/qparams.h>

#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/tensor/qparams.h"

/* torch.finfo(torch.float32).eps */
#define QEQ_DEFAULT_EPS 0x1p-23f

qeq_observer_config qeq_observer_config_default(qeq_dtype dtype, qeq_qscheme qscheme) {
  const qeq_observer_config config = {
      .dtype = dtype,
      .qscheme = qscheme,
      .reduce_range = 0,
      .has_custom_range = 0,
      .quant_min = 0,
      .quant_max = 0,
      .eps = QEQ_DEFAULT_EPS,
      .averaging_constant = 0.0f,
      .ch_axis = 0,
  };
  return config;
}

static int is_symmetric(qeq_qscheme s) {
  return s == QEQ_PER_TENSOR_SYMMETRIC || s == QEQ_PER_CHANNEL_SYMMETRIC;
}

/* Python's floor division by 2. */
static int32_t floor_half(int32_t v) {
  return v >= 0 ? v / 2 : -((-(int64_t)v + 1) / 2);
}

static qeq_status dtype_bounds(const char* fn, qeq_dtype dtype, int64_t* lo, int64_t* hi) {
  switch (dtype) {
    case QEQ_DTYPE_QUINT8: *lo = 0, *hi = 255; return QEQ_OK;
    case QEQ_DTYPE_QINT8: *lo = -128, *hi = 127; return QEQ_OK;
    case QEQ_DTYPE_QINT32: *lo = INT32_MIN, *hi = INT32_MAX; return QEQ_OK;
  }
  return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->dtype %d is not a qeq_dtype", fn,
                  (int)dtype);
}

static qeq_status quant_range(const char* fn, const qeq_observer_config* c, int32_t* qmin,
                              int32_t* qmax) {
  if (c == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config is NULL", fn);
  int64_t lo = 0, hi = 0;
  qeq_status status = dtype_bounds(fn, c->dtype, &lo, &hi);
  if (status != QEQ_OK) return status;
  if ((int)c->qscheme < 0 || c->qscheme > QEQ_PER_CHANNEL_AFFINE_FLOAT_QPARAMS) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->qscheme %d is not a qeq_qscheme", fn,
                    (int)c->qscheme);
  }
  if (c->reduce_range && is_symmetric(c->qscheme) && c->dtype == QEQ_DTYPE_QUINT8) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "%s: reduce_range with a symmetric quint8 scheme (PyTorch refuses it too)", fn);
  }
  int32_t a = 0, b = 0;
  if (c->has_custom_range) {
    a = c->quant_min;
    b = c->quant_max;
    if (!(a <= 0 && 0 <= b)) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: custom range [%d, %d] must include 0 (quant_min <= 0 <= quant_max)", fn,
                      (int)a, (int)b);
    }
    if (a >= b) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: custom range needs quant_min < quant_max, got [%d, %d]", fn, (int)a,
                      (int)b);
    }
    if (a < lo || b > hi) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                      "%s: custom range [%d, %d] does not fit the dtype's [%lld, %lld]", fn, (int)a,
                      (int)b, (long long)lo, (long long)hi);
    }
    if (c->reduce_range) {
      a = floor_half(a);
      b = floor_half(b);
      /* [0, 1] halves to [0, 0]: no levels left, and the scale would divide by zero. */
      if (a >= b) {
        return qeq_fail(
            QEQ_ERROR_INVALID_ARGUMENT,
            "%s: custom range [%d, %d] with reduce_range becomes [%d, %d], which is empty", fn,
            (int)c->quant_min, (int)c->quant_max, (int)a, (int)b);
      }
    }
  } else {
    a = (int32_t)lo;
    b = (int32_t)hi;
    if (c->reduce_range && c->dtype != QEQ_DTYPE_QINT32) {
      a = floor_half(a);
      b = floor_half(b);
    }
  }
  *qmin = a;
  *qmax = b;
  return QEQ_OK;
}

qeq_status qeq_quant_range(const qeq_observer_config* config, int32_t* quant_min,
                           int32_t* quant_max) {
  return qeq_quant_range_for("qeq_quant_range", config, quant_min, quant_max);
}

qeq_status qeq_quant_range_for(const char* fn, const qeq_observer_config* config,
                               int32_t* quant_min, int32_t* quant_max) {
  if (quant_min == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: quant_min is NULL", fn);
  if (quant_max == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: quant_max is NULL", fn);
  if (quant_min == quant_max) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: quant_min and quant_max are the same buffer",
                    fn);
  }
  int32_t a = 0, b = 0;
  const qeq_status status = quant_range(fn, config, &a, &b);
  if (status != QEQ_OK) return status;
  *quant_min = a;
  *quant_max = b;
  return QEQ_OK;
}

/* torch.round: half to even (the default rounding mode of the C environment). */
static float round_half_even(float v) {
  return nearbyintf(v);
}

/* qmax - qmin as a float: in int64, since qint32's span overflows int32. */
static float quant_levels(int32_t qmin, int32_t qmax) {
  return (float)((double)((int64_t)qmax - qmin));
}

typedef struct qparams_one {
  float scale;
  int32_t zero_point;
  float zero_point_float;
} qparams_one;

static qparams_one qparams_for(const qeq_observer_config* c, int32_t qmin, int32_t qmax, float min,
                               float max) {
  qparams_one out = {1.0f, 0, 0.0f};
  if (min == INFINITY && max == -INFINITY) return out; /* never observed: PyTorch's default */
  const float eps = c->eps;
  if (c->qscheme == QEQ_PER_CHANNEL_AFFINE_FLOAT_QPARAMS) {
    /* raw min/max, not widened to contain 0 */
    float scale = (max - min) / quant_levels(qmin, qmax);
    if (!(scale > eps)) scale = 1.0f;
    out.scale = scale;
    out.zero_point_float = -min / scale;
    return out;
  }
  const float mn = min < 0.0f ? min : 0.0f;
  const float mx = max > 0.0f ? max : 0.0f;
  if (is_symmetric(c->qscheme)) {
    const float a = -mn > mx ? -mn : mx;
    /* (qmax - qmin) / 2 is exact in float32 for every 8-bit range; qint32's is rounded
     * from the double PyTorch computes, as PyTorch's float32 tensor op rounds it. */
    const float half_range = (float)((double)((int64_t)qmax - qmin) / 2.0);
    float scale = a / half_range;
    if (scale < eps) scale = eps;
    out.scale = scale;
    if (c->dtype == QEQ_DTYPE_QUINT8) {
      out.zero_point = c->has_custom_range ? (int32_t)(((int64_t)qmin + qmax) / 2) : 128;
    }
    return out;
  }
  float scale = (mx - mn) / quant_levels(qmin, qmax);
  if (scale < eps) scale = eps;
  out.scale = scale;
  /* |mn / scale| <= qmax - qmin here (mn <= 0 <= mx), so the conversion cannot overflow. */
  int64_t zp = (int64_t)qmin - (int64_t)round_half_even(mn / scale);
  if (zp < qmin) zp = qmin;
  if (zp > qmax) zp = qmax;
  out.zero_point = (int32_t)zp;
  return out;
}

qeq_status qeq_calculate_qparams(const qeq_observer_config* config, size_t count, const float* min,
                                 const float* max, float* scale, int32_t* zero_point,
                                 float* zero_point_float) {
  return qeq_calculate_qparams_for("qeq_calculate_qparams", config, count, min, max, scale,
                                   zero_point, zero_point_float);
}

qeq_status qeq_calculate_qparams_for(const char* fn, const qeq_observer_config* config,
                                     size_t count, const float* min, const float* max, float* scale,
                                     int32_t* zero_point, float* zero_point_float) {
  int32_t qmin = 0, qmax = 0;
  qeq_status status = quant_range(fn, config, &qmin, &qmax);
  if (status != QEQ_OK) return status;
  const int per_tensor =
      config->qscheme == QEQ_PER_TENSOR_AFFINE || config->qscheme == QEQ_PER_TENSOR_SYMMETRIC;
  if (count == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: count is 0", fn);
  if (per_tensor && count != 1) {
    return qeq_fail(QEQ_ERROR_SHAPE_MISMATCH, "%s: a per-tensor scheme takes count 1, got %zu", fn,
                    count);
  }
  if (min == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: min is NULL", fn);
  if (max == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: max is NULL", fn);
  if (scale == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: scale is NULL", fn);
  const int float_zp = config->qscheme == QEQ_PER_CHANNEL_AFFINE_FLOAT_QPARAMS;
  if (float_zp && zero_point_float == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: zero_point_float is NULL (the float-qparams scheme writes it)", fn);
  }
  if (!float_zp && zero_point == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: zero_point is NULL", fn);
  }
  if (!(config->eps > 0.0f) || !isfinite(config->eps)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: config->eps %g must be positive and finite",
                    fn, (double)config->eps);
  }
  const size_t bytes = count * sizeof(float);
  const qeq_buffer buffers[] = {
      {"scale", scale, bytes, 1, 0},
      {"zero_point", float_zp ? NULL : zero_point, count * sizeof(int32_t), 1, 0},
      {"zero_point_float", float_zp ? zero_point_float : NULL, bytes, 1, 0},
      {"min", min, bytes, 0, 0},
      {"max", max, bytes, 0, 0}};
  status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  /* Validate everything before writing anything. */
  for (size_t c = 0; c < count; c++) {
    if (min[c] == INFINITY && max[c] == -INFINITY) continue; /* never observed */
    if (!(min[c] <= max[c])) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: channel %zu has min %g > max %g (or NaN)",
                      fn, c, (double)min[c], (double)max[c]);
    }
    if (!isfinite(min[c]) || !isfinite(max[c])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: channel %zu has an infinite bound [%g, %g]", fn, c,
                      (double)min[c], (double)max[c]);
    }
    /* Finite bounds can still overflow max - min (PyTorch then returns scale inf). */
    const qparams_one q = qparams_for(config, qmin, qmax, min[c], max[c]);
    if (!isfinite(q.scale) || !isfinite(q.zero_point_float)) {
      return qeq_fail(QEQ_ERROR_NON_FINITE,
                      "%s: channel %zu's range [%g, %g] overflows float32: the scale or zero point "
                      "would be infinite",
                      fn, c, (double)min[c], (double)max[c]);
    }
  }
  for (size_t c = 0; c < count; c++) {
    const qparams_one q = qparams_for(config, qmin, qmax, min[c], max[c]);
    scale[c] = q.scale;
    if (float_zp) {
      zero_point_float[c] = q.zero_point_float;
    } else {
      zero_point[c] = q.zero_point;
    }
  }
  return QEQ_OK;
}
