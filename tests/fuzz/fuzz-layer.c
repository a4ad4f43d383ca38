/* See fuzz-layer.h. */
#include "tests/fuzz/fuzz-layer.h"

#include <string.h>

void fuzz_layer(fuzz* f, qeq_layer* layer, size_t in, size_t out, int depthwise) {
  memset(layer, 0, sizeof *layer);
  const uint8_t tag = fuzz_byte(f);
  if (!in) in = 1 + fuzz_below(f, 8);
  if (!out) out = depthwise ? in : 1 + fuzz_below(f, 8);
  layer->kind = depthwise ? QEQ_LAYER_CONV2D : (qeq_layer_kind)(tag % 7);
  layer->activation = (qeq_activation)fuzz_below(f, 3);
  layer->groups = 1;
  qeq_shape* s = &layer->weight_shape;
  if (layer->kind == QEQ_LAYER_LINEAR) {
    s->ndim = 2, s->dims[0] = out, s->dims[1] = in;
  } else {
    const int transpose = layer->kind >= QEQ_LAYER_CONV_TRANSPOSE1D;
    const size_t spatial = (size_t)layer->kind - (transpose ? 3 : 0);
    /* Depthwise when asked, grouped now and then where the channels allow it. */
    if (depthwise || (in == out && tag & 8)) layer->groups = in;
    s->ndim = 2 + spatial;
    s->dims[0] = transpose ? in : out;
    s->dims[1] = (transpose ? out : in) / layer->groups;
    for (size_t d = 2; d < s->ndim; d++) s->dims[d] = 1 + fuzz_below(f, 3);
  }
  if (fuzz_byte(f) % 16 == 0) {
    /* Broken on purpose. */
    switch (fuzz_below(f, 5)) {
      case 0: s->dims[fuzz_below(f, s->ndim)] = 0; break;
      case 1: s->dims[fuzz_below(f, s->ndim)] += 1; break;
      case 2: layer->groups = fuzz_below(f, 4); break;
      case 3: layer->kind = (qeq_layer_kind)(7 + fuzz_below(f, 2)); break;
      default: layer->activation = (qeq_activation)3; break;
    }
  }
  size_t numel = 1;
  for (size_t d = 0; d < s->ndim; d++) numel *= s->dims[d];
  layer->weight = fuzz_buffer(f, FUZZ_F32, numel);
  layer->bias = fuzz_byte(f) % 4 == 0 ? NULL : fuzz_buffer(f, FUZZ_F32, fuzz_layer_out(layer));
  fuzz_track(f, layer, sizeof *layer);
}

size_t fuzz_layer_out(const qeq_layer* layer) {
  size_t out = 1;
  return qeq_layer_channels(layer, NULL, &out) == QEQ_OK ? out : 1;
}

size_t fuzz_layer_in(const qeq_layer* layer) {
  size_t in = 1;
  return qeq_layer_channels(layer, &in, NULL) == QEQ_OK ? in : 1;
}
