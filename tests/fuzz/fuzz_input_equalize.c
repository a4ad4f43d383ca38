/* Fuzzes input-weight equalization: qeq_input_equalization_scales (PyTorch's rule and
 * SmoothQuant's alpha), qeq_apply_input_equalization with or without a producer, and
 * qeq_scaled_input_minmax. */
#include <string.h>

#include "tests/fuzz/fuzz-layer.h"

typedef struct args {
  int which;
  qeq_layer layer, producer;
  int with_producer;
  size_t channels;
  const float *min, *max;
  qeq_input_equalization_options* options;
  float *scales, *min_out, *max_out;
} args;

static const char* const names[] = {"qeq_input_equalization_scales", "qeq_apply_input_equalization",
                                    "qeq_scaled_input_minmax"};

static qeq_status call(void* p) {
  args* a = p;
  switch (a->which) {
    case 0: return qeq_input_equalization_scales(&a->layer, a->min, a->max, a->options, a->scales);
    case 1:
      return qeq_apply_input_equalization(&a->layer, a->with_producer ? &a->producer : NULL,
                                          a->scales);
    default:
      return qeq_scaled_input_minmax(a->channels, a->min, a->max, a->scales, a->min_out,
                                     a->max_out);
  }
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->which = (int)fuzz_below(f, 3);
  fuzz_layer(f, &a->layer, 0, 0, 0);
  const size_t in = fuzz_layer_in(&a->layer);
  a->with_producer = fuzz_byte(f) % 2;
  if (a->with_producer) fuzz_layer(f, &a->producer, 0, fuzz_byte(f) % 8 ? in : 0, 0);
  a->channels = a->which == 2 ? fuzz_below(f, 16) : in;
  a->min = fuzz_buffer(f, FUZZ_F32, a->channels);
  a->max = fuzz_buffer(f, FUZZ_F32, a->channels);
  if (fuzz_byte(f) % 2) {
    a->options = fuzz_buffer(f, FUZZ_F32, 2); /* {alpha, use_absmax}: any bits */
    if (a->options && fuzz_byte(f) % 2) a->options->alpha = 0.5f, a->options->use_absmax = 0;
  }
  a->scales = fuzz_buffer(f, a->which == 0 ? FUZZ_F32 : FUZZ_SCALE, a->channels);
  a->min_out = fuzz_buffer(f, FUZZ_F32, 1);
  a->max_out = fuzz_buffer(f, FUZZ_F32, 1);
  return names[a->which];
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
