/* Fuzzes batch-norm folding (qeq_fold_batch_norm, qeq_fold_batch_norm_to, qeq_fold_batch_norms on
 * one layer, its min/max outputs maybe overlapping the rest) and the bias steps beside
 * it (qeq_absorb_high_bias, qeq_correct_bias): hostile statistics, missing biases, overlaps. */
#include <string.h>

#include "tests/fuzz/fuzz-layer.h"

typedef struct args {
  int which;
  qeq_layer layer, second;
  qeq_batch_norm bn;
  const float *beta, *gamma, *scales, *quantized, *mean;
  float *storage, *weight_out, *min_out, *max_out;
} args;

static const char* const names[] = {"qeq_fold_batch_norm", "qeq_absorb_high_bias",
                                    "qeq_correct_bias", "qeq_fold_batch_norm_to",
                                    "qeq_fold_batch_norms"};

static qeq_status call(void* p) {
  args* a = p;
  switch (a->which) {
    case 0: return qeq_fold_batch_norm(&a->layer, &a->bn, a->storage);
    case 3: return qeq_fold_batch_norm_to(&a->layer, &a->bn, a->weight_out, a->storage);
    case 4:
      return qeq_fold_batch_norms(&a->layer, &a->bn, &a->storage, &a->min_out, &a->max_out, 1);
    case 1:
      return qeq_absorb_high_bias(&a->layer, &a->second, a->beta, a->gamma, a->scales, a->storage);
    default: return qeq_correct_bias(&a->layer, a->quantized, a->mean, a->storage);
  }
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->which = (int)fuzz_below(f, 5);
  fuzz_layer(f, &a->layer, 0, 0, 0);
  const size_t out = fuzz_layer_out(&a->layer), in = fuzz_layer_in(&a->layer);
  size_t weights = 0;
  if (qeq_shape_numel(&a->layer.weight_shape, &weights) != QEQ_OK) weights = 0;
  if (a->which == 0 || a->which >= 3) {
    a->bn.channels = fuzz_byte(f) % 8 ? out : fuzz_below(f, 9);
    a->bn.running_mean = fuzz_buffer(f, FUZZ_F32, a->bn.channels);
    a->bn.running_var = fuzz_buffer(f, fuzz_byte(f) % 2 ? FUZZ_SCALE : FUZZ_F32, a->bn.channels);
    a->bn.gamma = fuzz_byte(f) % 4 ? fuzz_buffer(f, FUZZ_F32, a->bn.channels) : NULL;
    a->bn.beta = fuzz_byte(f) % 4 ? fuzz_buffer(f, FUZZ_F32, a->bn.channels) : NULL;
    a->bn.eps = fuzz_byte(f) % 4 ? 1e-5f : fuzz_f32(f);
    fuzz_track(f, &a->bn, sizeof a->bn);
  } else if (a->which == 1) {
    fuzz_layer(f, &a->second, fuzz_byte(f) % 8 ? out : 0, 0, 0);
    a->beta = fuzz_buffer(f, FUZZ_F32, out);
    a->gamma = fuzz_buffer(f, FUZZ_F32, out);
    a->scales = fuzz_buffer(f, FUZZ_SCALE, out);
  } else {
    a->quantized = fuzz_buffer(f, FUZZ_F32, weights);
    a->mean = fuzz_buffer(f, FUZZ_F32, in);
  }
  const size_t storage = a->which == 1 ? fuzz_layer_out(&a->second) : out;
  a->storage = fuzz_byte(f) % 4 ? fuzz_buffer(f, FUZZ_F32, storage) : NULL;
  if (a->which == 3) {
    /* the layer's own weight (in place) or another buffer, maybe overlapping */
    a->weight_out = fuzz_byte(f) % 4 ? fuzz_buffer(f, FUZZ_F32, weights) : a->layer.weight;
  }
  if (a->which == 4) {
    /* NULL, a buffer of its own, or the weight (refused: an overlap) */
    a->min_out = fuzz_byte(f) % 4 ? fuzz_buffer(f, FUZZ_F32, out) : NULL;
    a->max_out = fuzz_byte(f) % 8 ? fuzz_buffer(f, FUZZ_F32, out) : a->layer.weight;
  }
  return names[a->which];
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
