/* Layers for the equalization tests: read from golden fixtures, or made at random, with the
 * memory they own; and helpers to run them through the reference forward pass. */
#ifndef QEQ_TESTS_SUPPORT_LAYER_FIXTURES_H
#define QEQ_TESTS_SUPPORT_LAYER_FIXTURES_H

#include "qeq/qeq.h"
#include "tests/support/golden.h"
#include "tests/support/layer-forward.h"
#include "tests/support/test-support.h"

typedef struct owned_layer {
  qeq_layer layer;
  float* weight;
  float* bias;
  size_t weight_count, channels_out;
} owned_layer;

void owned_free(owned_layer* o);
/* The layer of a fixture case whose fields are kind<tag>, groups<tag>, shape<tag>, w<tag> and
 * optionally b<tag>; activation ReLU. */
owned_layer golden_layer(const golden_case* c, const char* tag);
/* Fails unless got[0..n) has the bits of the fixture's field `key`. */
void expect_bits(const char* what, const char* name, const float* got, const golden_case* c,
                 const char* key, size_t n);
/* A layer of the kind with random weights whose channels differ in magnitude, kernels of 2 or
 * 3 per spatial dim, and an optional bias. */
owned_layer random_layer(test_rng* rng, qeq_layer_kind kind, size_t in, size_t out, size_t groups,
                         int bias, qeq_activation act);
/* A random activation of `channels` channels, 7x8x9 spatial if `spatial`, else 1x1x1. */
activation random_input(test_rng* rng, size_t channels, int spatial);
/* The layers applied in order. */
activation run_chain(qeq_layer* const* chain, size_t count, const activation* x);
/* max |a - b| / max |a|; fails the test if a is all zeros. */
double max_relative_diff(const activation* a, const activation* b);

#endif /* QEQ_TESTS_SUPPORT_LAYER_FIXTURES_H */
