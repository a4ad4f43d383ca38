/* qeq: batch-norm folding into Linear, Conv and ConvTranspose layers (PyTorch's
 * fuse_conv_bn_weights / fuse_linear_bn_weights, with grouped ConvTranspose done right). */
#ifndef QEQ_FOLD_H
#define QEQ_FOLD_H

#include <qeq/layer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An eval-mode batch norm over `channels` features. gamma and beta NULL: affine=False
 * (gamma 1, beta 0). */
typedef struct qeq_batch_norm {
  size_t channels;
  const float* running_mean;
  const float* running_var;
  const float* gamma; /* weight, or NULL */
  const float* beta;  /* bias, or NULL */
  float eps;          /* PyTorch's default 1e-5 */
} qeq_batch_norm;

/* Folds `bn` (applied to the layer's output) into the layer, in place, in float32 and in
 * PyTorch's order, so the results carry PyTorch's bits:
 *   Conv / ConvTranspose: r = 1 / sqrt(var + eps), k = gamma * r, W' = W * k per output
 *     channel, b' = ((b - mean) * r) * gamma + beta;
 *   Linear: s = gamma * (1 / sqrt(var + eps)), W' = W * s per row, b' = (b - mean) * s + beta.
 * A layer without bias gets one: bias_storage (bn->channels floats) is filled and
 * layer->bias set to it; it may be NULL when the layer has a bias. Grouped ConvTranspose
 * scales each group's block along its axis 1 by that group's k (PyTorch raises a broadcast
 * error there); Linear with an affine=False batch norm works (PyTorch raises a TypeError).
 * Errors, with nothing modified: a bad descriptor; bn->channels != the layer's output
 * channels (QEQ_ERROR_SHAPE_MISMATCH); NULL mean/var; eps negative or NaN; a running
 * variance with var + eps <= 0; any NaN/Inf among the batch-norm parameters or the bias
 * (QEQ_ERROR_NON_FINITE, naming it) or a factor gamma / sqrt(var + eps) that overflows; a
 * missing bias without bias_storage; bias_storage overlapping the weight or the batch-norm
 * arrays. */
QEQ_API qeq_status qeq_fold_batch_norm(qeq_layer* layer, const qeq_batch_norm* bn,
                                       float* bias_storage);

/* qeq_fold_batch_norm out of place: the layer is read, not modified; the folded weight (the
 * layer's weight shape, contiguous) goes to weight_out and the folded bias (bn->channels
 * floats) to bias_out, with the same bits. weight_out may be the layer's weight and bias_out
 * its bias (in place); otherwise no written buffer may overlap another argument. One read of
 * the weight to check it and one read-and-write to fold it, where copying the layer and then
 * folding in place costs two more passes. The same errors, with nothing written. */
QEQ_API qeq_status qeq_fold_batch_norm_to(const qeq_layer* layer, const qeq_batch_norm* bn,
                                          float* weight_out, float* bias_out);

/* qeq_fold_batch_norm for `count` layers at once, in place: bns[i] folds into layers[i]
 * (bias_storage[i] as qeq_fold_batch_norm's bias_storage; bias_storage may be NULL when every
 * layer has a bias). Every layer is checked, and its factors computed, before the first write:
 * on error nothing is written (each layer's errors as qeq_fold_batch_norm's, prefixed by
 * layers[i]), and the written buffers of all layers may share no byte. The same bits as one
 * qeq_fold_batch_norm per layer, in one call. weight_min / weight_max (NULL, or per layer NULL
 * or bns[i].channels floats): each output channel's min and max of the weight as given, before
 * folding, which the checks read anyway (a caller reporting ranges needs no second pass). */
QEQ_API qeq_status qeq_fold_batch_norms(qeq_layer* layers, const qeq_batch_norm* bns,
                                        float* const* bias_storage, float* const* weight_min,
                                        float* const* weight_max, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_FOLD_H */
