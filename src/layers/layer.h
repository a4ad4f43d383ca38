/* Internal: where a layer's input and output channels lie in its weight.
 *
 * A channel set is `blocks` contiguous sub-tensors of the weight, each of shape
 * [rows, cols, kernel] with its channels along `axis` (0 or 1). Block g holds channels
 * g * per_block .. (g + 1) * per_block - 1. Linear and Conv output channels, and
 * ConvTranspose input channels, are axis 0 of the whole weight (one block); grouped Conv
 * input channels and grouped ConvTranspose output channels are axis 1 of each group's
 * block. */
#ifndef QEQ_SRC_LAYER_H
#define QEQ_SRC_LAYER_H

#include <qeq/layer.h>

typedef struct qeq_channel_set {
  size_t blocks;
  size_t block_elements; /* distance between blocks, in floats */
  qeq_shape block_shape; /* [rows, cols, kernel] */
  int axis;              /* 0 or 1 within a block */
  size_t per_block;      /* channels per block */
  size_t channels;       /* blocks * per_block */
} qeq_channel_set;

/* qeq_layer_channels with messages naming `fn` and `name` (e.g. "first"). */
qeq_status qeq_layer_check(const char* fn, const char* name, const qeq_layer* layer,
                           size_t* in_channels, size_t* out_channels);

/* Bytes of the layer's weight (checked by qeq_layer_check not to overflow). */
size_t qeq_layer_weight_bytes(const qeq_layer* layer);

/* The layer's output (produces = 1) or input (produces = 0) channels. The layer must have
 * passed qeq_layer_check. */
void qeq_layer_channel_set(const qeq_layer* layer, int produces, qeq_channel_set* set);

/* Workspace floats qeq_channel_set_minmax and qeq_channel_set_scale need on `set`: callers
 * acquire it (qeq_workspace_acquire) before their first write, so neither can fail. */
size_t qeq_channel_set_workspace_floats(const qeq_channel_set* set);

/* Per-channel min and max over a channel set. */
void qeq_channel_set_minmax(const qeq_channel_set* set, const float* weight, float* min, float* max,
                            float* work);

/* Multiplies each channel of the set by its scale, in place. */
void qeq_channel_set_scale(const qeq_channel_set* set, float* weight, const float* scales,
                           float* work);
/* The same, from weight into out (out == weight: in place). */
void qeq_channel_set_scale_to(const qeq_channel_set* set, const float* weight, const float* scales,
                              float* out, float* work);

/* qeq_channel_set_minmax plus each channel's sum of squares in double (NULL: none), in the
 * same order on every ISA (qeq_minmax_squares_view), read in the same pass. */
void qeq_channel_set_minmax_squares(const qeq_channel_set* set, const float* weight, float* min,
                                    float* max, double* sum_squares, float* work);

/* The layer's response, per output channel, to an input that is constant per input channel
 * (value[i] everywhere): out[o] = sum over the input channels i feeding o and over kernel
 * positions of (a - b)[weight entry] * value[i], b optional (NULL: a alone). Border effects
 * of padding are ignored, as the DFQ paper does. Accumulates in double. */
void qeq_layer_constant_response(const qeq_layer* layer, const float* a, const float* b,
                                 const float* value, double* out);

#endif /* QEQ_SRC_LAYER_H */
