/* qeq: float32 -> 8-bit quantization and fake quantization, as PyTorch's quantize_per_tensor,
 * quantize_per_channel and fake_quantize_per_{tensor,channel}_affine. */
#ifndef QEQ_QUANTIZE_H
#define QEQ_QUANTIZE_H

#include <stdint.h>

#include <qeq/qparams.h>
#include <qeq/shape.h>

#ifdef __cplusplus
extern "C" {
#endif

/* y = clamp(zero_point + round_half_even(x * (1.0f / scale)), dtype range), as PyTorch's
 * quantize_per_tensor (count == 1: one scale and zero point, `axis` ignored) and
 * quantize_per_channel (count == shape->dims[axis]: channel c along `axis` uses scales[c]
 * and zero_points[c]; negative axes count from the end). It multiplies by the float32
 * reciprocal of the scale, never divides (docs/numerics.md#quantize), and clamps to the full
 * dtype range, not an observer's [quant_min, quant_max].
 * dtype QEQ_DTYPE_QUINT8 writes uint8_t, QEQ_DTYPE_QINT8 int8_t (qint32 is not supported
 * here: QEQ_ERROR_UNSUPPORTED). y holds numel bytes and must not overlap x.
 * Where qeq differs from PyTorch's CPU build, which maps NaN, +-inf and |x / scale| beyond
 * about 9.2e18 to the dtype minimum: qeq saturates (+inf and large positive values to the
 * maximum, -inf and large negative ones to the minimum) and maps NaN to the zero point.
 * Rounding follows the current rounding mode, as PyTorch's does: leave it at the default
 * (to nearest, ties to even).
 * Errors: an invalid scale (qeq/qparams.h: not positive and finite, or its reciprocal
 * overflows to inf; QEQ_ERROR_INVALID_ARGUMENT, naming the index); a zero point outside the
 * dtype range;
 * count neither 1 nor dims[axis] (QEQ_ERROR_SHAPE_MISMATCH); NULL pointers; overlap. Nothing
 * is written on failure. */
QEQ_API qeq_status qeq_quantize_f32(const qeq_shape* shape, const float* x, int axis,
                                    qeq_dtype dtype, size_t count, const float* scales,
                                    const int32_t* zero_points, void* y);

/* y = (clamp(round_half_even(x * (1.0f / scale)) + zero_point, quant_min, quant_max) -
 * zero_point) * scale in float32, as PyTorch's fake_quantize_per_tensor_affine (count 1)
 * and fake_quantize_per_channel_affine (count == dims[axis]) compute it; the quantized
 * level 0 gives +0.0. y == x works in place; other overlaps are rejected. NaN inputs give
 * 0 (the zero point's level) and +-inf saturate, where PyTorch's CPU build gives the
 * quant_min level for all three. Rounding follows the current rounding mode (leave the
 * default). Errors: quant_min > quant_max or either beyond +-2^24, a zero point outside
 * [quant_min, quant_max], scales as for qeq_quantize_f32, count neither 1 nor dims[axis],
 * NULL pointers. Nothing is written on failure. */
QEQ_API qeq_status qeq_fake_quantize_f32(const qeq_shape* shape, const float* x, int axis,
                                         size_t count, const float* scales,
                                         const int32_t* zero_points, int32_t quant_min,
                                         int32_t quant_max, float* y);

/* y = scale * (float)(q - zero_point), exact as PyTorch's dequantize, per tensor (count 1)
 * or per channel along axis (count == dims[axis]). q holds numel uint8_t (QEQ_DTYPE_QUINT8)
 * or int8_t (QEQ_DTYPE_QINT8); qint32 is QEQ_ERROR_UNSUPPORTED here. Scales and zero points
 * are checked as for qeq_quantize_f32; y must not overlap the inputs. */
QEQ_API qeq_status qeq_dequantize_f32(const qeq_shape* shape, const void* q, int axis,
                                      qeq_dtype dtype, size_t count, const float* scales,
                                      const int32_t* zero_points, float* y);

/* Requantization of int32 accumulators, as PyTorch's quantized Linear/Conv outputs:
 * y = zero_point + round_half_even(clamp((float)acc * multiplier, quant_min - zero_point,
 * quant_max - zero_point)), multiplying and clamping in float32. One multiplier (count 1) or
 * one per channel along axis (count == dims[axis]); one output zero point. [quant_min,
 * quant_max] lies inside the dtype (use quant_min = zero_point for a fused ReLU). dtype
 * QEQ_DTYPE_QUINT8 writes uint8_t, QEQ_DTYPE_QINT8 int8_t. Errors: multipliers not positive
 * and finite (a multiplier is not a scale: it is never inverted, so the reciprocal rule of
 * qeq/qparams.h does not apply), bounds outside the dtype or quant_min > quant_max, the zero
 * point outside [quant_min, quant_max], counts, NULL pointers, overlap. Nothing is written
 * on failure. */
QEQ_API qeq_status qeq_requantize_s32(const qeq_shape* shape, const int32_t* acc, int axis,
                                      size_t count, const float* multipliers, int32_t zero_point,
                                      int32_t quant_min, int32_t quant_max, qeq_dtype dtype,
                                      void* y);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_QUANTIZE_H */
