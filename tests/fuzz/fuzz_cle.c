/* Fuzzes layer descriptors and cross-layer equalization of a pair: qeq_layer_init,
 * qeq_layer_channels, qeq_cross_layer_equalize (weights that overlap or are shared too). */
#include <string.h>

#include "tests/fuzz/fuzz-layer.h"

typedef struct args {
  int which;
  qeq_layer first, second, *init_out;
  size_t ndim, *in, *out;
  float* scales;
} args;

static const char* const names[] = {"qeq_cross_layer_equalize", "qeq_layer_init",
                                    "qeq_layer_channels"};

static qeq_status call(void* p) {
  args* a = p;
  const qeq_layer* l = &a->first;
  switch (a->which) {
    case 0: return qeq_cross_layer_equalize(&a->first, &a->second, a->scales);
    case 1:
      return qeq_layer_init(a->init_out, l->kind, a->ndim, l->weight_shape.dims, l->weight, l->bias,
                            l->groups, l->activation);
    default: return qeq_layer_channels(l, a->in, a->out);
  }
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->which = (int)fuzz_below(f, 3);
  /* Mostly a pair whose channels correspond. */
  const size_t channels = 1 + fuzz_below(f, 8);
  fuzz_layer(f, &a->first, 0, channels, 0);
  fuzz_layer(f, &a->second, fuzz_byte(f) % 8 ? channels : 0, 0, 0);
  a->scales = fuzz_buffer(f, FUZZ_F32, fuzz_layer_out(&a->first));
  a->ndim = a->first.weight_shape.ndim + (fuzz_byte(f) % 16 == 0);
  a->init_out = fuzz_buffer(f, FUZZ_SIZE, sizeof(qeq_layer) / sizeof(size_t));
  a->in = fuzz_buffer(f, FUZZ_SIZE, 1);
  a->out = fuzz_buffer(f, FUZZ_SIZE, 1);
  return names[a->which];
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
