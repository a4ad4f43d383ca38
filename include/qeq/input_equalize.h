/* qeq: input-weight equalization as PyTorch's FX passes do it
 * (torch/ao/quantization/fx/_equalize.py), with SmoothQuant's migration strength as an
 * option. Per input channel j of a layer: s_j from the input's and the weight's ranges; the
 * layer's weight column j times 1/s_j; the input times s_j, which the producing layer
 * absorbs (its output row j and bias j times s_j) when it feeds this one directly or through
 * a ReLU.
 * The input's per-channel min/max come from a qeq_observer with a per-channel scheme and
 * ch_axis 1 (PyTorch's _InputEqualizationObserver wraps exactly that). */
#ifndef QEQ_INPUT_EQUALIZE_H
#define QEQ_INPUT_EQUALIZE_H

#include <qeq/layer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the scale is formed. alpha = 0.5 with ranges is PyTorch's rule,
 *   s_j = sqrt((wmax_j - wmin_j) / (xmax_j - xmin_j))   (float32, PyTorch's bits),
 * and any other alpha in [0, 1] is SmoothQuant's migration strength in the same orientation,
 *   s_j = w_j^(1 - alpha) / x_j^alpha,
 * with w_j, x_j the ranges, or the absolute maxima when use_absmax is set (SmoothQuant's
 * statistic). As in PyTorch, s_j = 1 where the result is 0, NaN or infinite (a constant
 * input or weight column). */
typedef struct qeq_input_equalization_options {
  float alpha;    /* 0.5: PyTorch */
  int use_absmax; /* 0: ranges (PyTorch); 1: max |.| (SmoothQuant) */
} qeq_input_equalization_options;

/* Scales for `layer` (its input-channel count of them) from the input's per-channel min and
 * max. options may be NULL (PyTorch's rule). Grouped and depthwise convolutions work (their
 * weight ranges are taken per input channel across groups; PyTorch raises). Errors: a bad
 * descriptor, NULL arrays, min > max or NaN in the input statistics, alpha outside [0, 1],
 * non-finite weights. Nothing is written on failure. */
QEQ_API qeq_status qeq_input_equalization_scales(const qeq_layer* layer, const float* input_min,
                                                 const float* input_max,
                                                 const qeq_input_equalization_options* options,
                                                 float* scales);

/* Applies scales: layer's weight column j times float32(1 / s_j); if producer is not NULL,
 * its output row j and bias j times s_j (PyTorch's order: equalize a producer as a layer
 * first, then as a producer). Without a producer the caller multiplies the layer's input
 * by s (PyTorch inserts a mul node). Errors, with nothing modified: bad descriptors, the
 * producer's output channels != the layer's input channels, a ReLU6 on the producer
 * (QEQ_ERROR_UNSUPPORTED), invalid scales (qeq/qparams.h: not positive and finite, or
 * without a finite reciprocal). */
QEQ_API qeq_status qeq_apply_input_equalization(qeq_layer* layer, qeq_layer* producer,
                                                const float* scales);

/* The input observer's range after equalization, as PyTorch's calculate_scaled_minmax:
 * min_j(input_min_j * s_j) and max_j(input_max_j * s_j), for per-tensor input qparams. */
QEQ_API qeq_status qeq_scaled_input_minmax(size_t channels, const float* input_min,
                                           const float* input_max, const float* scales,
                                           float* min_out, float* max_out);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_INPUT_EQUALIZE_H */
