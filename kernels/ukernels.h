/* Micro-kernel signatures and the prototypes of every registered variant.
 *
 * Canonical problem: a dense tensor seen as [outer, channels, inner] (row-major), or as
 * `rows` rows of `width` used elements each `stride` elements apart. Sizes are in elements.
 * Kernels never allocate, never print, and never touch memory outside the described
 * elements. Callers guarantee every size is >= 1 and the products fit in size_t. */
#ifndef QEQ_KERNELS_UKERNELS_H
#define QEQ_KERNELS_UKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/registry-macros.h"

/* min[c], max[c] over x[(o * channels + c) * inner + i] for all o < outer, i < inner.
 * min is exact, NaN if the channel holds a NaN; -0.0 orders below +0.0. max is exact under
 * the same zero rule whenever min is not NaN (callers turn a NaN min into NaN max). */
typedef void qeq_f32_rminmax_ukernel_fn(size_t outer, size_t channels, size_t inner, const float* x,
                                        float* min, float* max);

/* acc_min[j] = min(acc_min[j], x[r * stride + j]) and acc_max likewise for r < rows,
 * j < width, with the rules of qeq_f32_rminmax_ukernel_fn. */
typedef void qeq_f32_vminmax_ukernel_fn(size_t rows, size_t width, size_t stride, const float* x,
                                        float* acc_min, float* acc_max);

/* y[(o * channels + c) * inner + i] = x[same] * scale[c]. y == x is allowed (in place). */
typedef void qeq_f32_rscale_ukernel_fn(size_t outer, size_t channels, size_t inner, const float* x,
                                       const float* scale, float* y);

/* y[r * stride + j] = x[r * stride + j] * scale[j] for r < rows, j < width. y == x allowed. */
typedef void qeq_f32_vscale_ukernel_fn(size_t rows, size_t width, size_t stride, const float* x,
                                       const float* scale, float* y);

/* Per-channel quantization parameters, prepared by the API layer: lo = qmin - zero_point and
 * hi = qmax - zero_point as floats (exact: small integers). */
typedef struct qeq_q8_quant_params {
  float inv_scale; /* 1.0f / scale, rounded to float32 as PyTorch computes it */
  float lo;
  float hi;
  int32_t zero_point;
} qeq_q8_quant_params;

/* y[(o * channels + c) * inner + i] = zero_point + round_half_even(clamp(v, lo, hi)) for
 * v = x[same] * inv_scale of channel c (v = 0 when it is NaN), stored as the low byte of the
 * result (the uint8 or the two's-complement int8 pattern). Rounding uses the current
 * rounding mode, round-to-nearest-even by default, on every ISA. */
typedef void qeq_f32_q8_rquant_ukernel_fn(size_t outer, size_t channels, size_t inner,
                                          const float* x, const qeq_q8_quant_params* params,
                                          uint8_t* y);

/* Per-channel fake-quantization parameters: lo = quant_min - zero_point and
 * hi = quant_max - zero_point as floats. */
typedef struct qeq_fq_params {
  float inv_scale; /* 1.0f / scale */
  float lo;
  float hi;
  float scale;
} qeq_fq_params;

/* y[(o * channels + c) * inner + i] = (round_half_even(clamp(v, lo, hi)) + 0) * scale for
 * v = x[same] * inv_scale of channel c (v = 0 when NaN), in float32: PyTorch's
 * (clamp(round(x * inv) + zp, qmin, qmax) - zp) * scale. y == x is allowed. Rounding uses
 * the current rounding mode (nearest even by default) on every ISA. */
typedef void qeq_f32_fq_rquant_ukernel_fn(size_t outer, size_t channels, size_t inner,
                                          const float* x, const qeq_fq_params* params, float* y);

typedef struct qeq_q8_dequant_params {
  float scale;
  int32_t zero_point;
} qeq_q8_dequant_params;

/* y[(o * channels + c) * inner + i] = scale * (float)(q[same] - zero_point) of channel c, q
 * read as int8 when is_signed, else as uint8 (PyTorch's dequantize, exact). */
typedef void qeq_q8_f32_rdequant_ukernel_fn(size_t outer, size_t channels, size_t inner,
                                            const uint8_t* q, int is_signed,
                                            const qeq_q8_dequant_params* params, float* y);

/* Requantization: y = zero_point + round_half_even(clamp((float)acc * multiplier, lo, hi)),
 * the quantize kernel applied to the accumulator converted to float (params.inv_scale holds
 * the multiplier), low byte stored. */
typedef void qeq_s32_q8_rrequant_ukernel_fn(size_t outer, size_t channels, size_t inner,
                                            const int32_t* acc, const qeq_q8_quant_params* params,
                                            uint8_t* y);

/* Prototypes of every variant this build contains. */
#define QEQ_UKERNEL(family, isa) \
  QEQ_IF_BUILT(isa, qeq_##family##_ukernel_fn QEQ_UKERNEL_NAME(family, isa);)
#include "kernels/all-families.inc"
#undef QEQ_UKERNEL

#endif /* QEQ_KERNELS_UKERNELS_H */
