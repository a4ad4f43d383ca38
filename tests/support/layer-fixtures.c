#include "tests/support/layer-fixtures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void owned_free(owned_layer* o) {
  free(o->weight);
  free(o->bias);
  memset(o, 0, sizeof *o);
}

owned_layer golden_layer(const golden_case* c, const char* tag) {
  char key[32];
  owned_layer o = {0};
  snprintf(key, sizeof key, "shape%s", tag);
  const golden_field* shape = golden_get(c, key);
  size_t dims[QEQ_MAX_DIMS];
  o.weight_count = 1;
  for (size_t d = 0; d < shape->count; d++) {
    dims[d] = (size_t)shape->values[d];
    o.weight_count *= dims[d];
  }
  o.weight = malloc(o.weight_count * sizeof(float));
  snprintf(key, sizeof key, "w%s", tag);
  golden_floats(c, key, o.weight, o.weight_count);
  snprintf(key, sizeof key, "b%s", tag);
  const golden_field* bias = golden_get(c, key);
  if (bias != NULL) {
    o.bias = malloc(bias->count * sizeof(float));
    golden_floats(c, key, o.bias, bias->count);
  }
  snprintf(key, sizeof key, "kind%s", tag);
  const qeq_layer_kind kind = (qeq_layer_kind)golden_int(c, key);
  snprintf(key, sizeof key, "groups%s", tag);
  const size_t groups = (size_t)golden_int(c, key);
  const qeq_status status = qeq_layer_init(&o.layer, kind, shape->count, dims, o.weight, o.bias,
                                           groups, QEQ_ACTIVATION_RELU);
  CHECK(status == QEQ_OK, "%s layer%s: %s", c->name, tag, qeq_last_error());
  qeq_layer_channels(&o.layer, NULL, &o.channels_out);
  return o;
}

void expect_bits(const char* what, const char* name, const float* got, const golden_case* c,
                 const char* key, size_t n) {
  float* want = malloc(n * sizeof(float));
  CHECK(golden_get(c, key) != NULL && golden_get(c, key)->count == n, "%s: %s has %zu values", name,
        key, n);
  golden_floats(c, key, want, n);
  for (size_t i = 0; i < n; i++) {
    CHECK(same_bits(got[i], want[i]), "%s %s: %s[%zu] = %a, want %a", what, name, key, i,
          (double)got[i], (double)want[i]);
  }
  free(want);
}

owned_layer random_layer(test_rng* rng, qeq_layer_kind kind, size_t in, size_t out, size_t groups,
                         int bias, qeq_activation act) {
  owned_layer o = {0};
  size_t dims[5], ndim;
  const int transpose = kind >= QEQ_LAYER_CONV_TRANSPOSE1D;
  if (kind == QEQ_LAYER_LINEAR) {
    dims[0] = out, dims[1] = in, ndim = 2;
  } else {
    dims[0] = transpose ? in : out;
    dims[1] = transpose ? out / groups : in / groups;
    ndim = 2 + (size_t)(transpose ? kind - QEQ_LAYER_CONV_TRANSPOSE1D + 1 : kind);
    /* 2 or 3: a one-element depthwise kernel has range 0 and is left unscaled */
    for (size_t d = 2; d < ndim; d++) dims[d] = 2 + rng_below(rng, 2);
  }
  o.weight_count = 1;
  for (size_t d = 0; d < ndim; d++) o.weight_count *= dims[d];
  o.weight = malloc(o.weight_count * sizeof(float));
  /* Channels of very different magnitudes: what equalization is for. */
  for (size_t i = 0; i < o.weight_count; i++) {
    const float magnitude = (float)(1u << (i * 7 / o.weight_count));
    o.weight[i] = magnitude * ((float)rng_below(rng, 2001) - 1000.0f) / 1000.0f;
  }
  if (bias) {
    o.bias = malloc(out * sizeof(float));
    for (size_t c = 0; c < out; c++) o.bias[c] = ((float)rng_below(rng, 201) - 100.0f) / 100.0f;
  }
  CHECK(qeq_layer_init(&o.layer, kind, ndim, dims, o.weight, o.bias, groups, act) == QEQ_OK,
        "random layer: %s", qeq_last_error());
  o.channels_out = out;
  return o;
}

activation random_input(test_rng* rng, size_t channels, int spatial) {
  activation a = {channels, {1, 1, 1}, NULL};
  if (spatial) a.spatial[0] = 7, a.spatial[1] = 8, a.spatial[2] = 9; /* room for 3 kernels of 3 */
  const size_t n = activation_numel(&a);
  a.data = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) a.data[i] = ((double)rng_below(rng, 2001) - 1000.0) / 500.0;
  return a;
}

activation run_chain(qeq_layer* const* chain, size_t count, const activation* x) {
  activation cur = *x, next;
  for (size_t j = 0; j < count; j++) {
    layer_forward(chain[j], &cur, &next);
    if (j > 0) activation_free(&cur);
    cur = next;
  }
  return cur;
}

/* max |a - b| / max |a|; fails the test if a is all zeros (a comparison that proves nothing). */
double max_relative_diff(const activation* a, const activation* b) {
  double scale = 0, diff = 0;
  for (size_t i = 0; i < activation_numel(a); i++) {
    scale = fmax(scale, fabs(a->data[i]));
    diff = fmax(diff, fabs(a->data[i] - b->data[i]));
  }
  CHECK(scale > 0, "the reference output is all zeros");
  return diff / scale;
}
