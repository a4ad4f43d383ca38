/* A straightforward float reference forward pass of a qeq_layer (batch 1, stride 1, no
 * padding, dilation 1), for tests of equalization and folding. Independent of the library:
 * plain loops in double. */
#ifndef QEQ_TESTS_SUPPORT_LAYER_FORWARD_H
#define QEQ_TESTS_SUPPORT_LAYER_FORWARD_H

#include <stddef.h>

#include "qeq/layer.h"

/* An activation tensor [channels, spatial[0], spatial[1], spatial[2]] (unused spatial dims
 * are 1; a Linear's input or output has all three 1). */
typedef struct activation {
  size_t channels;
  size_t spatial[3];
  double* data;
} activation;

/* y = layer(x), then the layer's fused activation. Allocates y->data (free with
 * activation_free). x must have the layer's input channels. */
void layer_forward(const qeq_layer* layer, const activation* x, activation* y);
void activation_free(activation* a);
size_t activation_numel(const activation* a);

#endif /* QEQ_TESTS_SUPPORT_LAYER_FORWARD_H */
