/* qeq: quantization parameters and observers, computed as PyTorch's observers compute them
 * (torch.ao.quantization.observer, 1.13). */
#ifndef QEQ_QPARAMS_H
#define QEQ_QPARAMS_H

#include <stdint.h>

#include <qeq/shape.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Scales: every call that takes a quantization scale (qeq_quantize_f32 and its siblings,
 * qeq_gemm_create, qeq_conv_create, the qops' tensors, qeq_apply_input_equalization) accepts
 * it only if it is positive, finite and has a finite float32 reciprocal 1.0f / scale (the
 * kernels multiply by it; scales below about 2^-128 = 2.9e-39, all subnormal, fail), and
 * otherwise returns QEQ_ERROR_INVALID_ARGUMENT naming it. */

typedef enum qeq_dtype {
  QEQ_DTYPE_QUINT8 = 0, /* [0, 255] */
  QEQ_DTYPE_QINT8 = 1,  /* [-128, 127] */
  QEQ_DTYPE_QINT32 = 2, /* [-2^31, 2^31 - 1], for biases */
} qeq_dtype;

typedef enum qeq_qscheme {
  QEQ_PER_TENSOR_AFFINE = 0,
  QEQ_PER_TENSOR_SYMMETRIC = 1,
  QEQ_PER_CHANNEL_AFFINE = 2,
  QEQ_PER_CHANNEL_SYMMETRIC = 3,
  QEQ_PER_CHANNEL_AFFINE_FLOAT_QPARAMS = 4, /* float zero points (embeddings) */
} qeq_qscheme;

/* What a PyTorch observer is constructed with. Start from qeq_observer_config_default(). */
typedef struct qeq_observer_config {
  qeq_dtype dtype;
  qeq_qscheme qscheme;
  int reduce_range;     /* halve the integer range (PyTorch's reduce_range) */
  int has_custom_range; /* use quant_min/quant_max below (PyTorch: both given) */
  int32_t quant_min;    /* custom range; must contain 0 and lie inside the dtype */
  int32_t quant_max;
  float eps;                /* smallest scale; PyTorch's default is 2^-23 */
  float averaging_constant; /* 0: MinMax observers; (0, 1]: moving-average observers */
  int ch_axis;              /* per-channel schemes: the channel axis (negative from the end) */
} qeq_observer_config;

/* dtype and qscheme as given, no reduce_range, no custom range, eps 2^-23, plain min/max
 * (averaging_constant 0), ch_axis 0. */
QEQ_API qeq_observer_config qeq_observer_config_default(qeq_dtype dtype, qeq_qscheme qscheme);

/* The integer range [quant_min, quant_max] the config calibrates for (PyTorch's
 * calculate_qmin_qmax): the dtype's range, or the custom one, halved (floor) by
 * reduce_range, except that qint32 ignores reduce_range without a custom range.
 * Errors: unknown dtype/qscheme; a custom range with quant_min >= quant_max, not containing
 * 0, outside the dtype, or longer than 256 values for 8-bit dtypes; reduce_range with
 * symmetric quint8 (PyTorch refuses it too); a custom range that reduce_range leaves empty
 * (quint8 [0, 1] becomes [0, 0]; PyTorch divides by zero later). */
QEQ_API qeq_status qeq_quant_range(const qeq_observer_config* config, int32_t* quant_min,
                                   int32_t* quant_max);

/* Scale and zero point for `count` channels (1 for per-tensor schemes) from observed
 * min/max, as PyTorch's _calculate_qparams:
 *   the range is widened to contain 0; symmetric: scale = max(max(-min, max) /
 *   ((qmax - qmin) / 2), eps), zero point 0 (quint8: 128, or (qmin + qmax) / 2 for a custom
 *   range); affine: scale = max((max - min) / (qmax - qmin), eps), zero point
 *   qmin - round_half_even(min / scale) clamped to [qmin, qmax]; float qparams: scale =
 *   (max - min) / (qmax - qmin) (1 where <= eps), float zero point -min / scale.
 * All in float32, in PyTorch's order. A channel never observed (min = +inf and max = -inf)
 * gets scale 1 and zero point 0, as PyTorch returns (it also warns; qeq does not print).
 * zero_point (int32) is written for the integer schemes, zero_point_float for float qparams;
 * the other may be NULL.
 * Errors: min > max or NaN (QEQ_ERROR_INVALID_ARGUMENT, naming the channel), an infinite
 * bound in an observed channel (QEQ_ERROR_NON_FINITE: PyTorch returns scale = inf there,
 * which quantizes everything to the zero point), finite bounds whose difference overflows
 * float32 (QEQ_ERROR_NON_FINITE: the scale would be inf), eps not positive and finite, and
 * every qeq_quant_range error. The span qmax - qmin is computed in 64 bits (qint32's is
 * 2^32 - 1). Nothing is written on failure. */
QEQ_API qeq_status qeq_calculate_qparams(const qeq_observer_config* config, size_t count,
                                         const float* min, const float* max, float* scale,
                                         int32_t* zero_point, float* zero_point_float);

/* ---- Observers: streaming min/max statistics, then qparams ----
 * MinMaxObserver / PerChannelMinMaxObserver when averaging_constant is 0:
 *   min = min(min, batch min), max likewise (a NaN in any batch sticks);
 * the MovingAverage forms when averaging_constant c is in (0, 1]: the first batch sets
 *   min/max, later ones do min = min + c * (batch min - min) in float32, as PyTorch does.
 * Per-channel schemes reduce along config->ch_axis with the range kernels; every batch must
 * have the same number of channels as the first. Empty batches are ignored. */
typedef struct qeq_observer qeq_observer;

/* Validates the config (as qeq_quant_range, plus averaging_constant in [0, 1]) and creates
 * an observer that has seen nothing. *observer is written only on success. */
QEQ_API qeq_status qeq_observer_create(const qeq_observer_config* config, qeq_observer** observer);
QEQ_API void qeq_observer_destroy(qeq_observer* observer); /* NULL is a no-op */

/* Folds one batch in. On failure (bad shape, ch_axis out of range for this batch, a channel
 * count different from earlier batches, out of memory) the statistics are unchanged. */
QEQ_API qeq_status qeq_observer_update(qeq_observer* observer, const qeq_shape* shape,
                                       const float* x);

/* Number of channels the statistics have: 1 for per-tensor schemes; for per-channel ones 0
 * until the first non-empty batch. */
QEQ_API size_t qeq_observer_channels(const qeq_observer* observer);

/* Copies the running min/max (count = qeq_observer_channels(); +inf/-inf if nothing was
 * seen). QEQ_ERROR_SHAPE_MISMATCH if count differs. */
QEQ_API qeq_status qeq_observer_minmax(const qeq_observer* observer, size_t count, float* min,
                                       float* max);

/* qeq_calculate_qparams on the running min/max. A per-channel observer that has seen
 * nothing gives one channel with scale 1 and zero point 0, as PyTorch does: pass count 1. */
QEQ_API qeq_status qeq_observer_qparams(const qeq_observer* observer, size_t count, float* scale,
                                        int32_t* zero_point, float* zero_point_float);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_QPARAMS_H */
