/* qeq: cross-layer equalization (CLE), as torch.ao.quantization._equalize computes it, for
 * every layer pair whose channels correspond, and iterated over chains until converged. */
#ifndef QEQ_EQUALIZE_H
#define QEQ_EQUALIZE_H

#include <qeq/layer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Equalizes `first` -> (its activation) -> `second` in place, as PyTorch's
 * cross_layer_equalization: with r1 the ranges of first's output channels and r2 those of
 * second's input channels (max - min over every other index),
 *   s = sqrt(r1 / (r2 + 1e-9)), first's weight and bias times 1/s, second's weight times s,
 * all in float32 and in PyTorch's order (multiplying by the reciprocal), so Linear and Conv
 * pairs give PyTorch's bits. Beyond PyTorch: Conv1d/3d, ConvTranspose on either side,
 * grouped and depthwise convolutions (channel c of first's output is channel c of second's
 * input, whatever the groups), and layers without bias.
 * Channels left unscaled (s = 1), where PyTorch writes Inf/NaN or extreme weights: a zero
 * range on either side, and a scale that would make a weight or bias non-finite.
 * `scales` (NULL, or first's output-channel count) receives the s applied.
 * Errors, with nothing modified: a bad descriptor; first's output channels != second's input
 * channels (QEQ_ERROR_SHAPE_MISMATCH); a ReLU6 on first (QEQ_ERROR_UNSUPPORTED: clipping at
 * 6 does not commute with scaling); a NaN or Inf in either weight or first's bias
 * (QEQ_ERROR_NON_FINITE, naming the channel); overlapping weights; out of memory. */
QEQ_API qeq_status qeq_cross_layer_equalize(qeq_layer* first, qeq_layer* second, float* scales);

/* The depthwise-separable block of the DFQ paper, first -> depthwise -> third, scaled in
 * one step, as AIMET does, instead of by iterating pairs. With r0, r1, r2 the ranges of
 * first's output channels, of the depthwise channels and of third's input channels, and
 * c = cbrt(r0 * r1 * r2) per channel (in double, rounded to float32):
 *   s01 = r0 / c, s12 = c / r2;
 *   first's weight and bias times 1/s01; the depthwise weight times s01 / s12 and its bias
 *   times 1/s12; third's weight times s12.
 * Afterwards the three ranges of every channel equal c (to rounding). The depthwise layer
 * is a Conv with groups == in == out channels. Channels with a zero range anywhere, or whose
 * scaled weights would overflow, are left unscaled. scales01 / scales12 (NULL, or the
 * channel count) receive the scales. Errors, with nothing modified: as
 * qeq_cross_layer_equalize for both pairs, and a middle layer that is not depthwise. */
QEQ_API qeq_status qeq_equalize_depthwise_separable(qeq_layer* first, qeq_layer* depthwise,
                                                    qeq_layer* third, float* scales01,
                                                    float* scales12);

typedef struct qeq_equalize_report {
  size_t sweeps;       /* passes over every pair */
  double final_change; /* the last sweep's weight change, PyTorch's measure */
  int converged;       /* final_change < threshold */
} qeq_equalize_report;

/* PyTorch's equalize(): `layers` holds group_count groups back to back, group i having
 * group_sizes[i] >= 2 layers; a group [a, b, c] means the pairs [a, b], [b, c]. Each sweep
 * equalizes every pair in order; sweeps repeat until the change is below `threshold` (PyTorch
 * default 1e-4) or max_sweeps sweeps have run (not converging is not an error: see report).
 * The change is PyTorch's: the sum over distinct layers (by weight pointer) of the Frobenius
 * norm of the weight's change in the last pair that touched it during the sweep. qeq derives
 * it from the scales and the channels' sums of squares instead of copying weights.
 * Errors, with nothing modified: every qeq_cross_layer_equalize error for any pair, a group
 * shorter than 2, threshold negative or NaN, max_sweeps 0, weights or biases of different
 * layers overlapping (two descriptors may share a weight only if they describe the same
 * layer). `report` may be NULL. */
QEQ_API qeq_status qeq_equalize(qeq_layer* const* layers, const size_t* group_sizes,
                                size_t group_count, float threshold, size_t max_sweeps,
                                qeq_equalize_report* report);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_EQUALIZE_H */
