/* Fuzzes the depthwise-separable triplet (qeq_equalize_depthwise_separable) and iterated
 * equalization over groups of layers (qeq_equalize), shared and overlapping weights too. */
#include <string.h>

#include "tests/fuzz/fuzz-layer.h"

#define LAYERS 5

typedef struct args {
  int which;
  qeq_layer layers[LAYERS];
  qeq_layer* pointers[LAYERS];
  size_t sizes[LAYERS], group_count, max_sweeps;
  float threshold, *scales01, *scales12;
  qeq_equalize_report* report;
} args;

static qeq_status call(void* p) {
  args* a = p;
  if (a->which == 0)
    return qeq_equalize_depthwise_separable(&a->layers[0], &a->layers[1], &a->layers[2],
                                            a->scales01, a->scales12);
  return qeq_equalize(a->pointers, a->sizes, a->group_count, a->threshold, a->max_sweeps,
                      a->report);
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->which = (int)fuzz_below(f, 2);
  /* A chain whose channels mostly correspond; for the triplet the middle one is depthwise. */
  size_t channels = 1 + fuzz_below(f, 8);
  for (int i = 0; i < LAYERS; i++) {
    const size_t next = i == 0 && a->which == 0 ? channels : 1 + fuzz_below(f, 8);
    const int depthwise = a->which == 0 && i == 1 && fuzz_byte(f) % 8;
    fuzz_layer(f, &a->layers[i], i ? channels : 0, depthwise ? channels : next, depthwise);
    channels = fuzz_layer_out(&a->layers[i]);
    a->pointers[i] = &a->layers[i];
  }
  a->scales01 = fuzz_buffer(f, FUZZ_F32, fuzz_layer_out(&a->layers[0]));
  a->scales12 = fuzz_buffer(f, FUZZ_F32, fuzz_layer_out(&a->layers[0]));
  /* Groups of 0 to 3 layers, up to LAYERS in all. */
  for (size_t used = 0; a->group_count < 3;) {
    const size_t n = fuzz_below(f, 4);
    if (used + n > LAYERS) break;
    a->sizes[a->group_count++] = n, used += n;
    if (fuzz_byte(f) % 2) break;
  }
  a->threshold = fuzz_byte(f) % 4 ? 1e-4f : fuzz_f32(f);
  a->max_sweeps = fuzz_below(f, 5);
  a->report = fuzz_buffer(f, FUZZ_F64, 3);
  return a->which ? "qeq_equalize" : "qeq_equalize_depthwise_separable";
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
