/* Cross-layer equalization, its iteration, and batch-norm folding:
 *  - PyTorch's numbers (tests/golden/equalize.txt, fold.txt) bit for bit under every ISA cap,
 *    including the sweep counts of PyTorch's equalize();
 *  - behaviour, with the float reference forward pass of tests/support/layer-forward.c:
 *    equalized pairs and chains compute what they computed before, ranges match after CLE,
 *    folded layers equal layer + eval-mode batch norm (ConvTranspose with groups too);
 *  - zero-range channels stay finite and unscaled; bad input changes nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/layers/equalize-internal.h"
#include "tests/support/golden.h"
#include "tests/support/layer-fixtures.h"
#include "tests/support/layer-forward.h"
#include "tests/support/test-support.h"

static qeq_isa isas[QEQ_ISA_COUNT];
static size_t isa_count;

/* ---- golden ---- */

static void test_golden_cle_and_chains(void** state) {
  (void)state;
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap");
    const char* isa = qeq_isa_name(isas[k]);
    golden_file* f = golden_open("equalize.txt");
    CHECK(f != NULL, "equalize.txt missing");
    golden_case c = {0};
    size_t pairs = 0, chains = 0;
    while (golden_next(f, &c)) {
      if (strncmp(c.name, "cle_", 4) == 0) {
        owned_layer a = golden_layer(&c, "1"), b = golden_layer(&c, "2");
        float* scales = malloc(a.channels_out * sizeof(float));
        CHECK(qeq_cross_layer_equalize(&a.layer, &b.layer, scales) == QEQ_OK, "%s: %s", c.name,
              qeq_last_error());
        expect_bits(isa, c.name, a.weight, &c, "w1_after", a.weight_count);
        expect_bits(isa, c.name, b.weight, &c, "w2_after", b.weight_count);
        expect_bits(isa, c.name, scales, &c, "scales", a.channels_out);
        if (a.bias != NULL) expect_bits(isa, c.name, a.bias, &c, "b1_after", a.channels_out);
        free(scales);
        owned_free(&a);
        owned_free(&b);
        pairs++;
      } else {
        const size_t count = (size_t)golden_int(&c, "count");
        owned_layer layers[8];
        qeq_layer* chain[8];
        for (size_t j = 0; j < count; j++) {
          char tag[24];
          snprintf(tag, sizeof tag, "%zu", j);
          layers[j] = golden_layer(&c, tag);
          chain[j] = &layers[j].layer;
        }
        float threshold;
        golden_floats(&c, "threshold", &threshold, 1);
        qeq_equalize_report report;
        CHECK(qeq_equalize(chain, &count, 1, threshold, 1000, &report) == QEQ_OK, "%s: %s", c.name,
              qeq_last_error());
        CHECK(report.converged && report.sweeps == (size_t)golden_int(&c, "sweeps"),
              "%s %s: %zu sweeps (converged %d, change %g), PyTorch ran %ld", isa, c.name,
              report.sweeps, report.converged, report.final_change, golden_int(&c, "sweeps"));
        for (size_t j = 0; j < count; j++) {
          char key[40];
          snprintf(key, sizeof key, "w%zu_after", j);
          expect_bits(isa, c.name, layers[j].weight, &c, key, layers[j].weight_count);
          snprintf(key, sizeof key, "b%zu_after", j);
          expect_bits(isa, c.name, layers[j].bias, &c, key, layers[j].channels_out);
          owned_free(&layers[j]);
        }
        chains++;
      }
    }
    golden_close(f, &c);
    CHECK(pairs >= 12 && chains >= 4, "fixture has %zu pairs and %zu chains", pairs, chains);
    coverage_record(isas[k], 0, pairs + chains);
  }
  qeq_clear_isa_cap();
}

static void test_golden_fold(void** state) {
  (void)state;
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap");
    golden_file* f = golden_open("fold.txt");
    CHECK(f != NULL, "fold.txt missing");
    golden_case c = {0};
    size_t cases = 0;
    while (golden_next(f, &c)) {
      owned_layer o = golden_layer(&c, "");
      const size_t n = o.channels_out;
      float *mean = malloc(n * sizeof(float)), *var = malloc(n * sizeof(float));
      float *gamma = NULL, *beta = NULL, *storage = malloc(n * sizeof(float)), eps;
      golden_floats(&c, "mean", mean, n);
      golden_floats(&c, "var", var, n);
      golden_floats(&c, "eps", &eps, 1);
      if (golden_get(&c, "gamma") != NULL) {
        gamma = malloc(n * sizeof(float));
        beta = malloc(n * sizeof(float));
        golden_floats(&c, "gamma", gamma, n);
        golden_floats(&c, "beta", beta, n);
      }
      const qeq_batch_norm bn = {n, mean, var, gamma, beta, eps};
      /* Out of place first: the same bits, the layer untouched. */
      float* weight_out = malloc(o.weight_count * sizeof(float));
      float* bias_out = malloc(n * sizeof(float));
      float* weight_before = malloc(o.weight_count * sizeof(float));
      memcpy(weight_before, o.weight, o.weight_count * sizeof(float));
      CHECK(qeq_fold_batch_norm_to(&o.layer, &bn, weight_out, bias_out) == QEQ_OK, "%s: %s", c.name,
            qeq_last_error());
      CHECK(memcmp(weight_before, o.weight, o.weight_count * sizeof(float)) == 0,
            "%s: qeq_fold_batch_norm_to changed the layer", c.name);
      expect_bits(qeq_isa_name(isas[k]), c.name, weight_out, &c, "w_after", o.weight_count);
      expect_bits(qeq_isa_name(isas[k]), c.name, bias_out, &c, "b_after", n);
      free(weight_out), free(bias_out), free(weight_before);
      CHECK(qeq_fold_batch_norm(&o.layer, &bn, storage) == QEQ_OK, "%s: %s", c.name,
            qeq_last_error());
      expect_bits(qeq_isa_name(isas[k]), c.name, o.weight, &c, "w_after", o.weight_count);
      expect_bits(qeq_isa_name(isas[k]), c.name, o.layer.bias, &c, "b_after", n);
      CHECK((o.bias == NULL) == (o.layer.bias == storage), "%s: bias storage", c.name);
      free(mean), free(var), free(gamma), free(beta), free(storage);
      owned_free(&o);
      cases++;
    }
    golden_close(f, &c);
    CHECK(cases >= 10, "fold.txt has %zu cases", cases);
  }
  qeq_clear_isa_cap();
}

/* ---- behaviour against the reference forward pass ---- */

typedef struct chain_spec {
  const char* name;
  qeq_layer_kind kinds[3];
  size_t channels[4];
  size_t groups[3];
  size_t count;
  int relu; /* a ReLU after every layer but the last */
} chain_spec;

static const chain_spec chain_specs[] = {
    {"Linear 3->4->5->6",
     {QEQ_LAYER_LINEAR, QEQ_LAYER_LINEAR, QEQ_LAYER_LINEAR},
     {3, 4, 5, 6},
     {1, 1, 1},
     3,
     0},
    {"Linear+ReLU x3",
     {QEQ_LAYER_LINEAR, QEQ_LAYER_LINEAR, QEQ_LAYER_LINEAR},
     {3, 4, 5, 6},
     {1, 1, 1},
     3,
     1},
    {"Conv2d+ReLU x3",
     {QEQ_LAYER_CONV2D, QEQ_LAYER_CONV2D, QEQ_LAYER_CONV2D},
     {3, 6, 8, 4},
     {1, 1, 1},
     3,
     1},
    {"conv -> depthwise -> conv",
     {QEQ_LAYER_CONV2D, QEQ_LAYER_CONV2D, QEQ_LAYER_CONV2D},
     {3, 8, 8, 5},
     {1, 8, 1},
     3,
     1},
    {"grouped Conv1d -> ConvTranspose1d (groups 2) -> Conv1d",
     {QEQ_LAYER_CONV1D, QEQ_LAYER_CONV_TRANSPOSE1D, QEQ_LAYER_CONV1D},
     {4, 6, 8, 2},
     {2, 2, 1},
     3,
     1},
    {"Conv3d -> ConvTranspose3d",
     {QEQ_LAYER_CONV3D, QEQ_LAYER_CONV_TRANSPOSE3D},
     {2, 4, 3},
     {1, 1},
     2,
     1},
};

static void test_chains_keep_their_function(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed());
  for (size_t s = 0; s < sizeof chain_specs / sizeof chain_specs[0]; s++) {
    const chain_spec* spec = &chain_specs[s];
    owned_layer layers[3];
    qeq_layer* chain[3];
    for (size_t j = 0; j < spec->count; j++) {
      layers[j] = random_layer(
          &rng, spec->kinds[j], spec->channels[j], spec->channels[j + 1], spec->groups[j], 1,
          spec->relu && j + 1 < spec->count ? QEQ_ACTIVATION_RELU : QEQ_ACTIVATION_NONE);
      chain[j] = &layers[j].layer;
    }
    activation x = random_input(&rng, spec->channels[0], 1); /* Linear: 504 samples */
    activation before = run_chain(chain, spec->count, &x);
    qeq_equalize_report report;
    CHECK(qeq_equalize(chain, &spec->count, 1, 1e-4f, 200, &report) == QEQ_OK, "%s: %s", spec->name,
          qeq_last_error());
    CHECK(report.converged, "%s did not converge (change %g after %zu sweeps)", spec->name,
          report.final_change, report.sweeps);
    activation after = run_chain(chain, spec->count, &x);
    const double diff = max_relative_diff(&before, &after);
    CHECK(diff < 1e-5, "%s: output changed by %g (relative)", spec->name, diff);
    /* One more pair step changes (almost) nothing: each pair's ranges now agree. */
    for (size_t j = 0; j + 1 < spec->count; j++) {
      const size_t n = layers[j].channels_out;
      float* scales = malloc(n * sizeof(float));
      CHECK(qeq_cross_layer_equalize(chain[j], chain[j + 1], scales) == QEQ_OK, "%s",
            qeq_last_error());
      for (size_t c = 0; c < n; c++) {
        CHECK(fabsf(scales[c] - 1.0f) < 1e-3f,
              "%s pair %zu channel %zu: scale %g after "
              "convergence",
              spec->name, j, c, (double)scales[c]);
      }
      free(scales);
    }
    printf("  %-55s %2zu sweeps, output change %.2g\n", spec->name, report.sweeps, diff);
    activation_free(&x), activation_free(&before), activation_free(&after);
    for (size_t j = 0; j < spec->count; j++) owned_free(&layers[j]);
  }
}

/* A copy of a layer with its own weight and bias. */
static owned_layer clone_layer(const owned_layer* o) {
  owned_layer c = *o;
  c.weight = malloc(o->weight_count * sizeof(float));
  memcpy(c.weight, o->weight, o->weight_count * sizeof(float));
  c.bias = NULL;
  if (o->bias != NULL) {
    c.bias = malloc(o->channels_out * sizeof(float));
    memcpy(c.bias, o->bias, o->channels_out * sizeof(float));
  }
  c.layer.weight = c.weight;
  c.layer.bias = c.bias;
  return c;
}

/* qeq_equalize's fused chain sweep (plain layers, row blocks) against the same sweeps done
 * pair by pair with qeq_cross_layer_equalize: the same weights and biases, bit for bit, over
 * two groups (convs large enough for several row blocks, Linear layers, a first layer
 * without bias), under every cap. */
static void test_fused_chains_match_pair_by_pair(void** state) {
  (void)state;
  enum { LAYERS = 7, SWEEPS = 3 };
  const struct {
    qeq_layer_kind kind;
    size_t in, out;
    int bias;
  } specs[LAYERS] = {{QEQ_LAYER_CONV2D, 16, 64, 1}, {QEQ_LAYER_CONV2D, 64, 72, 1},
                     {QEQ_LAYER_CONV2D, 72, 48, 0}, {QEQ_LAYER_LINEAR, 48, 40, 1},
                     {QEQ_LAYER_LINEAR, 40, 30, 0}, {QEQ_LAYER_LINEAR, 30, 20, 1},
                     {QEQ_LAYER_LINEAR, 20, 10, 1}};
  const size_t groups[2] = {4, 3}; /* convs and the first Linear, then three Linear */
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap");
    test_rng rng;
    rng_init(&rng, test_seed() + k);
    owned_layer fused[LAYERS], paired[LAYERS];
    qeq_layer* chain[LAYERS];
    for (size_t j = 0; j < LAYERS; j++) {
      fused[j] = random_layer(&rng, specs[j].kind, specs[j].in, specs[j].out, 1, specs[j].bias,
                              QEQ_ACTIVATION_RELU);
      paired[j] = clone_layer(&fused[j]);
      chain[j] = &fused[j].layer;
    }
    qeq_equalize_report report;
    CHECK(qeq_equalize(chain, groups, 2, 0.0f, SWEEPS, &report) == QEQ_OK, "%s", qeq_last_error());
    CHECK(report.sweeps == SWEEPS && !report.converged, "%zu sweeps, converged %d", report.sweeps,
          report.converged);
    for (size_t sweep = 0; sweep < SWEEPS; sweep++) {
      for (size_t j = 0; j + 1 < LAYERS; j++) {
        if (j + 1 == groups[0]) continue; /* layer 3 ends the first group */
        CHECK(qeq_cross_layer_equalize(&paired[j].layer, &paired[j + 1].layer, NULL) == QEQ_OK,
              "%s", qeq_last_error());
      }
    }
    for (size_t j = 0; j < LAYERS; j++) {
      CHECK(memcmp(fused[j].weight, paired[j].weight, fused[j].weight_count * sizeof(float)) == 0,
            "%s: layer %zu's weight differs from pair-by-pair CLE", qeq_isa_name(isas[k]), j);
      CHECK(fused[j].bias == NULL ||
                memcmp(fused[j].bias, paired[j].bias, fused[j].channels_out * sizeof(float)) == 0,
            "%s: layer %zu's bias differs from pair-by-pair CLE", qeq_isa_name(isas[k]), j);
      owned_free(&fused[j]);
      owned_free(&paired[j]);
    }
  }
  qeq_clear_isa_cap();
}

/* The chain [a, b, c, ...] as the overlapping pairs [a, b], [b, c], ...: the same pairs in the
 * same order, but a layer in two places, so qeq_equalize takes the general sweep. */
static void overlapping_pairs(qeq_layer* const* chain, size_t count, qeq_layer** pairs) {
  for (size_t j = 0; j + 1 < count; j++) {
    pairs[2 * j] = chain[j];
    pairs[2 * j + 1] = chain[j + 1];
  }
}

/* Copies of `count` layers, and their chain. */
static void clone_chain(const owned_layer* from, owned_layer* to, qeq_layer** chain, size_t count) {
  for (size_t j = 0; j < count; j++) {
    to[j] = clone_layer(&from[j]);
    chain[j] = &to[j].layer;
  }
}

/* The fused chain sweep decides convergence as the general sweep does, bit for bit: the same
 * sweeps, report and weights for thresholds at and just above each sweep's change, where its
 * rough sums of squares (lower bounds of each change) cannot settle it and the exact ones are
 * taken again, and below, where the bounds settle it; also after a sweep wrongly guessed to be
 * the last (which writes its output scalings at once). The same chain given as overlapping pairs
 * ([a, b], [b, c], ...) takes the general sweep. Under every cap, as the rough sums differ. */
/* The fused chain sweep's events (the test hook), counted on this thread. */
static size_t sweep_events[QEQ_CHAIN_SWEEP_WRONGLY_GUESSED_LAST + 1];
static void count_sweep_event(qeq_chain_sweep_event event) {
  sweep_events[event]++;
}

static void test_fused_chain_convergence_matches_general(void** state) {
  (void)state;
  enum { LAYERS = 4, SWEEPS = 6 };
  const size_t channels[LAYERS + 1] = {8, 40, 48, 36, 12}; /* rows of 72 to 432 elements */
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap");
    const char* isa = qeq_isa_name(isas[k]);
    test_rng rng;
    rng_init(&rng, test_seed() + 40 + k);
    owned_layer original[LAYERS];
    for (size_t j = 0; j < LAYERS; j++) {
      original[j] = random_layer(&rng, QEQ_LAYER_CONV2D, channels[j], channels[j + 1], 1, j != 1,
                                 QEQ_ACTIVATION_RELU);
    }
    /* Each sweep's change, from the general sweep stopped after it. */
    float changes[SWEEPS];
    for (size_t n = 1; n <= SWEEPS; n++) {
      owned_layer copy[LAYERS];
      qeq_layer* chain[LAYERS];
      clone_chain(original, copy, chain, LAYERS);
      qeq_layer* pairs[2 * (LAYERS - 1)];
      const size_t sizes[LAYERS - 1] = {2, 2, 2};
      overlapping_pairs(chain, LAYERS, pairs);
      qeq_equalize_report report;
      CHECK(qeq_equalize(pairs, sizes, LAYERS - 1, 0.0f, n, &report) == QEQ_OK, "%s",
            qeq_last_error());
      changes[n - 1] = (float)report.final_change;
      for (size_t j = 0; j < LAYERS; j++) owned_free(&copy[j]);
    }
    memset(sweep_events, 0, sizeof sweep_events);
    qeq_equalize_test_set_chain_hook(count_sweep_event);
    for (size_t t = 0; t < 2 * SWEEPS + 1; t++) {
      const float threshold = t == 2 * SWEEPS ? 0.0f
                              : t % 2 == 0    ? changes[t / 2]
                                              : nextafterf(changes[t / 2], INFINITY);
      owned_layer fused[LAYERS], general[LAYERS];
      qeq_layer *fused_chain[LAYERS], *general_chain[LAYERS], *pairs[2 * (LAYERS - 1)];
      clone_chain(original, fused, fused_chain, LAYERS);
      clone_chain(original, general, general_chain, LAYERS);
      overlapping_pairs(general_chain, LAYERS, pairs);
      const size_t chain_size = LAYERS, sizes[LAYERS - 1] = {2, 2, 2};
      qeq_equalize_report want, got;
      CHECK(qeq_equalize(pairs, sizes, LAYERS - 1, threshold, 3 * SWEEPS, &want) == QEQ_OK, "%s",
            qeq_last_error());
      CHECK(qeq_equalize(fused_chain, &chain_size, 1, threshold, 3 * SWEEPS, &got) == QEQ_OK, "%s",
            qeq_last_error());
      CHECK(got.sweeps == want.sweeps && got.converged == want.converged &&
                memcmp(&got.final_change, &want.final_change, sizeof(double)) == 0,
            "%s threshold %a: %zu sweeps, converged %d, change %a; general: %zu, %d, %a", isa,
            (double)threshold, got.sweeps, got.converged, got.final_change, want.sweeps,
            want.converged, want.final_change);
      for (size_t j = 0; j < LAYERS; j++) {
        CHECK(memcmp(fused[j].weight, general[j].weight, fused[j].weight_count * sizeof(float)) ==
                      0 &&
                  (fused[j].bias == NULL || memcmp(fused[j].bias, general[j].bias,
                                                   fused[j].channels_out * sizeof(float)) == 0),
              "%s threshold %a: layer %zu differs from the general sweep", isa, (double)threshold,
              j);
        owned_free(&fused[j]);
        owned_free(&general[j]);
      }
    }
    qeq_equalize_test_set_chain_hook(NULL);
    const size_t* seen = sweep_events;
    CHECK(seen[QEQ_CHAIN_SWEEP_SETTLED_BY_BOUNDS] > 0 && seen[QEQ_CHAIN_SWEEP_RETAKEN] > 0 &&
              seen[QEQ_CHAIN_SWEEP_WRONGLY_GUESSED_LAST] > 0,
          "%s: rough sweeps settled by their bounds %zu, taken again %zu; sweeps wrongly guessed "
          "the last %zu: every path should run",
          isa, seen[QEQ_CHAIN_SWEEP_SETTLED_BY_BOUNDS], seen[QEQ_CHAIN_SWEEP_RETAKEN],
          seen[QEQ_CHAIN_SWEEP_WRONGLY_GUESSED_LAST]);
    for (size_t j = 0; j < LAYERS; j++) owned_free(&original[j]);
  }
  qeq_clear_isa_cap();
}

static void test_single_pair_equalizes_ranges(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 1);
  /* grouped Conv2d -> grouped Conv2d with different group counts */
  owned_layer a = random_layer(&rng, QEQ_LAYER_CONV2D, 6, 12, 3, 1, QEQ_ACTIVATION_RELU);
  owned_layer b = random_layer(&rng, QEQ_LAYER_CONV2D, 12, 8, 4, 0, QEQ_ACTIVATION_NONE);
  activation x = random_input(&rng, 6, 1);
  qeq_layer* chain[2] = {&a.layer, &b.layer};
  activation before = run_chain(chain, 2, &x);
  CHECK(qeq_cross_layer_equalize(&a.layer, &b.layer, NULL) == QEQ_OK, "%s", qeq_last_error());
  activation after = run_chain(chain, 2, &x);
  CHECK(max_relative_diff(&before, &after) < 1e-5, "grouped pair changed its output");
  /* Output-channel ranges of a (axis 0) equal input-channel ranges of b (per group). */
  float r1[12], lo[12], hi[12];
  CHECK(qeq_channel_range_f32(&a.layer.weight_shape, a.weight, 0, r1) == QEQ_OK, "range");
  const size_t out_g = 2, in_g = 3, kernel = b.weight_count / (8 * 3);
  for (size_t g = 0; g < 4; g++) {
    const size_t dims[3] = {out_g, in_g, kernel};
    qeq_shape block;
    qeq_shape_init(&block, 3, dims);
    CHECK(qeq_channel_minmax_f32(&block, b.weight + g * out_g * in_g * kernel, 1, lo + g * in_g,
                                 hi + g * in_g) == QEQ_OK,
          "minmax");
  }
  for (size_t c = 0; c < 12; c++) {
    const float r2 = hi[c] - lo[c];
    CHECK(fabsf(r1[c] - r2) <= 1e-5f * r1[c], "channel %zu: ranges %g and %g", c, (double)r1[c],
          (double)r2);
  }
  activation_free(&x), activation_free(&before), activation_free(&after);
  owned_free(&a), owned_free(&b);
}

static void test_fold_matches_batch_norm(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 2);
  const struct {
    qeq_layer_kind kind;
    size_t in, out, groups;
    int bias, affine;
  } cases[] = {
      {QEQ_LAYER_CONV2D, 4, 6, 2, 1, 1},           {QEQ_LAYER_CONV_TRANSPOSE2D, 4, 6, 2, 1, 1},
      {QEQ_LAYER_CONV_TRANSPOSE1D, 6, 9, 3, 0, 1}, {QEQ_LAYER_CONV_TRANSPOSE3D, 2, 4, 2, 1, 0},
      {QEQ_LAYER_LINEAR, 5, 3, 1, 0, 0},           {QEQ_LAYER_CONV3D, 3, 4, 1, 1, 1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    owned_layer o = random_layer(&rng, cases[i].kind, cases[i].in, cases[i].out, cases[i].groups,
                                 cases[i].bias, QEQ_ACTIVATION_NONE);
    const size_t n = cases[i].out;
    float mean[9], var[9], gamma[9], beta[9], storage[9];
    for (size_t c = 0; c < n; c++) {
      mean[c] = ((float)rng_below(&rng, 201) - 100.0f) / 50.0f;
      var[c] = 0.05f + (float)rng_below(&rng, 100) / 40.0f;
      gamma[c] = ((float)rng_below(&rng, 201) - 100.0f) / 60.0f;
      beta[c] = ((float)rng_below(&rng, 201) - 100.0f) / 70.0f;
    }
    const qeq_batch_norm bn = {
        n, mean, var, cases[i].affine ? gamma : NULL, cases[i].affine ? beta : NULL, 1e-5f};
    activation x = random_input(&rng, cases[i].in, cases[i].kind != QEQ_LAYER_LINEAR);
    activation y, folded;
    layer_forward(&o.layer, &x, &y);
    const size_t plane = y.spatial[0] * y.spatial[1] * y.spatial[2];
    for (size_t c = 0; c < n; c++) {
      for (size_t p = 0; p < plane; p++) {
        double* v = &y.data[c * plane + p];
        *v = (*v - mean[c]) / sqrt((double)var[c] + 1e-5);
        if (cases[i].affine) *v = *v * gamma[c] + beta[c];
      }
    }
    CHECK(qeq_fold_batch_norm(&o.layer, &bn, storage) == QEQ_OK, "%s", qeq_last_error());
    layer_forward(&o.layer, &x, &folded);
    const double diff = max_relative_diff(&y, &folded);
    CHECK(diff < 1e-5, "case %zu (kind %d, groups %zu): folded output differs by %g", i,
          (int)cases[i].kind, cases[i].groups, diff);
    activation_free(&x), activation_free(&y), activation_free(&folded);
    owned_free(&o);
  }
}

/* qeq_fold_batch_norms: the bits of one qeq_fold_batch_norm per layer; on any layer's error
 * (a NaN weight in the last, two layers sharing a weight) no layer is written, and the message
 * names the layer. */
static void test_fold_many_matches_one_by_one(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 5);
  enum { count = 4 };
  const qeq_layer_kind kinds[count] = {QEQ_LAYER_CONV2D, QEQ_LAYER_CONV_TRANSPOSE2D,
                                       QEQ_LAYER_LINEAR, QEQ_LAYER_CONV1D};
  owned_layer batch[count], single[count];
  qeq_layer layers[count];
  qeq_batch_norm bns[count];
  float params[count][4][6], storage[count][6], single_storage[count][6];
  float* storage_ptrs[count];
  for (size_t i = 0; i < count; i++) {
    const size_t groups = kinds[i] == QEQ_LAYER_LINEAR ? 1 : 2;
    batch[i] = random_layer(&rng, kinds[i], 4, 6, groups, i % 2 == 0, QEQ_ACTIVATION_NONE);
    single[i] = batch[i]; /* a copy with its own arrays */
    single[i].weight = malloc(batch[i].weight_count * sizeof(float));
    memcpy(single[i].weight, batch[i].weight, batch[i].weight_count * sizeof(float));
    single[i].layer.weight = single[i].weight;
    if (batch[i].bias != NULL) {
      single[i].bias = malloc(6 * sizeof(float));
      memcpy(single[i].bias, batch[i].bias, 6 * sizeof(float));
      single[i].layer.bias = single[i].bias;
    }
    for (size_t c = 0; c < 6; c++) {
      params[i][0][c] = ((float)rng_below(&rng, 201) - 100.0f) / 50.0f;
      params[i][1][c] = 0.05f + (float)rng_below(&rng, 100) / 40.0f;
      params[i][2][c] = ((float)rng_below(&rng, 201) - 100.0f) / 60.0f;
      params[i][3][c] = ((float)rng_below(&rng, 201) - 100.0f) / 70.0f;
    }
    bns[i] = (qeq_batch_norm){6, params[i][0], params[i][1], params[i][2], params[i][3], 1e-5f};
    layers[i] = batch[i].layer;
    storage_ptrs[i] = storage[i];
  }
  /* errors first: nothing written */
  const float kept = batch[count - 1].weight[7];
  batch[count - 1].weight[7] = NAN;
  CHECK(qeq_fold_batch_norms(layers, bns, storage_ptrs, NULL, NULL, count) == QEQ_ERROR_NON_FINITE,
        "a NaN weight was folded");
  CHECK(strstr(qeq_last_error(), "layers[3]") != NULL, "message: %s", qeq_last_error());
  batch[count - 1].weight[7] = kept;
  qeq_layer shared[2] = {layers[0], layers[0]};
  shared[1].bias = NULL;
  CHECK(
      qeq_fold_batch_norms(shared, bns, storage_ptrs, NULL, NULL, 2) == QEQ_ERROR_INVALID_ARGUMENT,
      "two layers over one weight were folded");
  for (size_t i = 0; i < count; i++) {
    CHECK(memcmp(single[i].weight, batch[i].weight, batch[i].weight_count * sizeof(float)) == 0 &&
              layers[i].bias == batch[i].bias,
          "layer %zu changed on error", i);
  }
  /* the weights' per-output-channel min and max as given (layer 1, a ConvTranspose, left out) */
  float mins[count][6], maxs[count][6], expected_min[6], expected_max[6];
  float* min_ptrs[count] = {mins[0], NULL, mins[2], mins[3]};
  float* max_ptrs[count] = {maxs[0], NULL, maxs[2], maxs[3]};
  CHECK(qeq_fold_batch_norms(layers, bns, storage_ptrs, min_ptrs, max_ptrs, count) == QEQ_OK, "%s",
        qeq_last_error());
  for (size_t i = 0; i < count; i++) {
    if (min_ptrs[i] == NULL) continue;
    CHECK(qeq_channel_minmax_f32(&single[i].layer.weight_shape, single[i].weight, 0, expected_min,
                                 expected_max) == QEQ_OK,
          "%s", qeq_last_error());
    CHECK(memcmp(mins[i], expected_min, sizeof expected_min) == 0 &&
              memcmp(maxs[i], expected_max, sizeof expected_max) == 0,
          "layer %zu: weight min/max", i);
  }
  for (size_t i = 0; i < count; i++) {
    CHECK(qeq_fold_batch_norm(&single[i].layer, &bns[i], single_storage[i]) == QEQ_OK, "%s",
          qeq_last_error());
    CHECK(memcmp(single[i].weight, batch[i].weight, batch[i].weight_count * sizeof(float)) == 0,
          "layer %zu: weight bits differ", i);
    CHECK(layers[i].bias == (batch[i].bias != NULL ? batch[i].bias : storage[i]),
          "layer %zu: bias pointer", i);
    CHECK(memcmp(single[i].layer.bias, layers[i].bias, 6 * sizeof(float)) == 0,
          "layer %zu: bias bits differ", i);
    owned_free(&batch[i]), owned_free(&single[i]);
  }
}

/* conv -> ReLU -> depthwise -> ReLU -> conv in one step: the same function, and the three
 * ranges of every channel equal; a channel with a constant depthwise kernel stays unscaled. */
static void test_depthwise_separable_triplet(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 3);
  owned_layer a = random_layer(&rng, QEQ_LAYER_CONV2D, 3, 8, 1, 1, QEQ_ACTIVATION_RELU);
  owned_layer dw = random_layer(&rng, QEQ_LAYER_CONV2D, 8, 8, 8, 1, QEQ_ACTIVATION_RELU);
  owned_layer c = random_layer(&rng, QEQ_LAYER_CONV2D, 8, 5, 1, 1, QEQ_ACTIVATION_NONE);
  const size_t kernel = dw.weight_count / 8;
  for (size_t k = 0; k < kernel; k++) dw.weight[2 * kernel + k] = 0.75f; /* range 0 */
  qeq_layer* chain[3] = {&a.layer, &dw.layer, &c.layer};
  activation x = random_input(&rng, 3, 1);
  activation before = run_chain(chain, 3, &x);
  float s01[8], s12[8];
  CHECK(qeq_equalize_depthwise_separable(&a.layer, &dw.layer, &c.layer, s01, s12) == QEQ_OK, "%s",
        qeq_last_error());
  activation after = run_chain(chain, 3, &x);
  const double diff = max_relative_diff(&before, &after);
  CHECK(diff < 1e-5, "triplet output changed by %g", diff);
  float r0[8], r1[8], r2[8];
  CHECK(qeq_channel_range_f32(&a.layer.weight_shape, a.weight, 0, r0) == QEQ_OK, "r0");
  CHECK(qeq_channel_range_f32(&dw.layer.weight_shape, dw.weight, 0, r1) == QEQ_OK, "r1");
  CHECK(qeq_channel_range_f32(&c.layer.weight_shape, c.weight, 1, r2) == QEQ_OK, "r2");
  for (size_t ch = 0; ch < 8; ch++) {
    if (ch == 2) {
      CHECK(s01[ch] == 1.0f && s12[ch] == 1.0f, "constant channel scaled");
      continue;
    }
    CHECK(fabsf(r0[ch] - r1[ch]) <= 1e-5f * r1[ch] && fabsf(r2[ch] - r1[ch]) <= 1e-5f * r1[ch],
          "channel %zu ranges %g %g %g", ch, (double)r0[ch], (double)r1[ch], (double)r2[ch]);
  }
  /* A middle layer that is not depthwise is refused, and nothing changes. */
  float copy[64];
  memcpy(copy, a.weight, sizeof(float) * (a.weight_count < 64 ? a.weight_count : 64));
  CHECK(qeq_equalize_depthwise_separable(&a.layer, &c.layer, &dw.layer, NULL, NULL) ==
            QEQ_ERROR_UNSUPPORTED,
        "non-depthwise middle accepted");
  CHECK(!memcmp(copy, a.weight, sizeof(float) * (a.weight_count < 64 ? a.weight_count : 64)),
        "refused call modified a weight");
  activation_free(&x), activation_free(&before), activation_free(&after);
  owned_free(&a), owned_free(&dw), owned_free(&c);
}

/* ---- edge cases and errors ---- */

static void test_zero_range_channels_stay_finite(void** state) {
  (void)state;
  /* Linear 3->3 -> Linear 3->2: row 1 of the first is constant (range 0), column 2 of the
   * second is constant. PyTorch would write Inf/NaN into row 1 and blow up row 2. */
  float w1[9] = {1, -2, 7, 0.5f, 0.5f, 0.5f, -1, 4, 2};
  float b1[3] = {0.1f, 0.2f, 0.3f};
  float w2[6] = {2, 1, 7, -3, 5, 7};
  qeq_layer a, b;
  CHECK(qeq_layer_init(&a, QEQ_LAYER_LINEAR, 2, (size_t[]){3, 3}, w1, b1, 1, QEQ_ACTIVATION_RELU) ==
            QEQ_OK,
        "init");
  CHECK(qeq_layer_init(&b, QEQ_LAYER_LINEAR, 2, (size_t[]){2, 3}, w2, NULL, 1,
                       QEQ_ACTIVATION_NONE) == QEQ_OK,
        "init");
  float scales[3];
  CHECK(qeq_cross_layer_equalize(&a, &b, scales) == QEQ_OK, "%s", qeq_last_error());
  CHECK(scales[1] == 1.0f && scales[2] == 1.0f && scales[0] != 1.0f, "scales %g %g %g",
        (double)scales[0], (double)scales[1], (double)scales[2]);
  CHECK(w1[3] == 0.5f && w1[4] == 0.5f && b1[1] == 0.2f && w2[5] == 7.0f, "unscaled channels");
  for (int i = 0; i < 9; i++) CHECK(isfinite(w1[i]), "w1[%d] not finite", i);
}

static void test_errors_change_nothing(void** state) {
  (void)state;
  float w1[12], b1[4], w2[8], orig1[12], orig2[8], origb[4];
  for (int i = 0; i < 12; i++) w1[i] = (float)(i % 5) - 2.0f;
  for (int i = 0; i < 8; i++) w2[i] = (float)(i % 3) + 0.5f;
  for (int i = 0; i < 4; i++) b1[i] = (float)i;
  memcpy(orig1, w1, sizeof w1), memcpy(orig2, w2, sizeof w2), memcpy(origb, b1, sizeof b1);
  qeq_layer a, b, bad;
  CHECK(qeq_layer_init(&a, QEQ_LAYER_LINEAR, 2, (size_t[]){4, 3}, w1, b1, 1, QEQ_ACTIVATION_RELU) ==
            QEQ_OK,
        "init");
  CHECK(qeq_layer_init(&b, QEQ_LAYER_LINEAR, 2, (size_t[]){2, 4}, w2, NULL, 1,
                       QEQ_ACTIVATION_NONE) == QEQ_OK,
        "init");
#define EXPECT_UNCHANGED(call, want, text)                                                  \
  do {                                                                                      \
    const qeq_status got = (call);                                                          \
    CHECK(got == (want), "%s: status %s, want %s (%s)", #call, qeq_status_string(got),      \
          qeq_status_string(want), qeq_last_error());                                       \
    CHECK(strstr(qeq_last_error(), text) != NULL, "%s: message \"%s\" lacks \"%s\"", #call, \
          qeq_last_error(), text);                                                          \
    CHECK(!memcmp(w1, orig1, sizeof w1) && !memcmp(w2, orig2, sizeof w2) &&                 \
              !memcmp(b1, origb, sizeof b1),                                                \
          "%s modified a weight", #call);                                                   \
  } while (0)
  /* Descriptors. */
  EXPECT_UNCHANGED(
      qeq_layer_init(&bad, QEQ_LAYER_CONV2D, 2, (size_t[]){4, 3}, w1, b1, 1, QEQ_ACTIVATION_NONE),
      QEQ_ERROR_SHAPE_MISMATCH, "needs 4");
  EXPECT_UNCHANGED(qeq_layer_init(&bad, QEQ_LAYER_CONV1D, 3, (size_t[]){4, 1, 3}, w1, b1, 3,
                                  QEQ_ACTIVATION_NONE),
                   QEQ_ERROR_SHAPE_MISMATCH, "multiple of groups");
  EXPECT_UNCHANGED(
      qeq_layer_init(&bad, QEQ_LAYER_LINEAR, 2, (size_t[]){4, 3}, w1, b1, 2, QEQ_ACTIVATION_NONE),
      QEQ_ERROR_INVALID_ARGUMENT, "groups");
  EXPECT_UNCHANGED(
      qeq_layer_init(&bad, (qeq_layer_kind)9, 2, (size_t[]){4, 3}, w1, b1, 1, QEQ_ACTIVATION_NONE),
      QEQ_ERROR_INVALID_ARGUMENT, "kind 9");
  EXPECT_UNCHANGED(
      qeq_layer_init(&bad, QEQ_LAYER_LINEAR, 2, (size_t[]){4, 3}, NULL, b1, 1, QEQ_ACTIVATION_NONE),
      QEQ_ERROR_INVALID_ARGUMENT, "weight is NULL");
  EXPECT_UNCHANGED(
      qeq_layer_init(&bad, QEQ_LAYER_LINEAR, 2, (size_t[]){0, 3}, w1, b1, 1, QEQ_ACTIVATION_NONE),
      QEQ_ERROR_INVALID_ARGUMENT, "zero-sized");
  /* Pairs. */
  EXPECT_UNCHANGED(qeq_cross_layer_equalize(&b, &a, NULL), QEQ_ERROR_SHAPE_MISMATCH,
                   "2 output channels but second has 3 input channels");
  EXPECT_UNCHANGED(qeq_cross_layer_equalize(NULL, &b, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "first is NULL");
  a.activation = QEQ_ACTIVATION_RELU6;
  EXPECT_UNCHANGED(qeq_cross_layer_equalize(&a, &b, NULL), QEQ_ERROR_UNSUPPORTED, "ReLU6");
  a.activation = QEQ_ACTIVATION_RELU;
  qeq_layer alias = b;
  alias.weight = w1 + 4; /* overlaps a's weight */
  alias.weight_shape.dims[0] = 2;
  EXPECT_UNCHANGED(qeq_cross_layer_equalize(&a, &alias, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "overlap");
  w2[5] = NAN;
  orig2[5] = NAN;
  /* memcmp compares bits, and the NaN written above is the same NaN. */
  EXPECT_UNCHANGED(qeq_cross_layer_equalize(&a, &b, NULL), QEQ_ERROR_NON_FINITE,
                   "second's input channel 1");
  const size_t sizes[1] = {2};
  qeq_layer* chain[2] = {&a, &b};
  EXPECT_UNCHANGED(qeq_equalize(chain, sizes, 1, 1e-4f, 10, NULL), QEQ_ERROR_NON_FINITE,
                   "NaN or Inf");
  w2[5] = orig2[5] = 1.0f;
  b1[2] = INFINITY;
  origb[2] = INFINITY;
  EXPECT_UNCHANGED(qeq_cross_layer_equalize(&a, &b, NULL), QEQ_ERROR_NON_FINITE, "bias[2]");
  b1[2] = origb[2] = 2.0f;
  const size_t short_group[1] = {1};
  EXPECT_UNCHANGED(qeq_equalize(chain, short_group, 1, 1e-4f, 10, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "needs >= 2");
  qeq_equalize_report empty = {7, 1.0, 0};
  CHECK(qeq_equalize(chain, sizes, 0, 1e-4f, 10, &empty) == QEQ_OK && empty.sweeps == 0 &&
            empty.converged,
        "no groups: %zu sweeps, converged %d", empty.sweeps, empty.converged);
  EXPECT_UNCHANGED(qeq_equalize(chain, sizes, 1, NAN, 10, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "threshold");
  EXPECT_UNCHANGED(qeq_equalize(chain, sizes, 1, 1e-4f, 0, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "max_sweeps");
  /* A chain whose second pair mismatches must not touch the first pair either. */
  qeq_layer* bad_chain[3] = {&a, &b, &a};
  const size_t three[1] = {3};
  EXPECT_UNCHANGED(qeq_equalize(bad_chain, three, 1, 1e-4f, 10, NULL), QEQ_ERROR_SHAPE_MISMATCH,
                   "input channels");
  /* Batch norm. */
  float mean[4] = {0}, var[4] = {1, 1, 1, 1}, neg[4] = {1, -2, 1, 1}, nanv[4] = {0, 0, NAN, 0};
  qeq_batch_norm bn = {4, mean, var, NULL, NULL, 1e-5f};
  qeq_batch_norm wrong = bn;
  wrong.channels = 3;
  EXPECT_UNCHANGED(qeq_fold_batch_norm(&a, &wrong, NULL), QEQ_ERROR_SHAPE_MISMATCH, "3 channels");
  wrong = bn, wrong.running_var = neg;
  EXPECT_UNCHANGED(qeq_fold_batch_norm(&a, &wrong, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "running_var[1]");
  wrong = bn, wrong.running_mean = nanv;
  EXPECT_UNCHANGED(qeq_fold_batch_norm(&a, &wrong, NULL), QEQ_ERROR_NON_FINITE, "running_mean[2]");
  float tiny_var[4] = {1, 1, 1e-38f, 1}, huge_gamma[4] = {1, 1, 3e38f, 1};
  wrong = bn, wrong.running_var = tiny_var, wrong.gamma = huge_gamma, wrong.eps = 0.0f;
  EXPECT_UNCHANGED(qeq_fold_batch_norm(&a, &wrong, NULL), QEQ_ERROR_NON_FINITE,
                   "channel 2's factor");
  wrong = bn, wrong.eps = -1.0f;
  EXPECT_UNCHANGED(qeq_fold_batch_norm(&a, &wrong, NULL), QEQ_ERROR_INVALID_ARGUMENT, "eps");
  wrong = bn, wrong.running_var = NULL;
  EXPECT_UNCHANGED(qeq_fold_batch_norm(&a, &wrong, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "running_var is NULL");
  qeq_layer no_bias = a;
  no_bias.bias = NULL;
  EXPECT_UNCHANGED(qeq_fold_batch_norm(&no_bias, &bn, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "bias_storage");
  /* Out of place: the same refusals, and outputs that overlap an input partially. */
  float folded[64], folded_bias[4];
  EXPECT_UNCHANGED(qeq_fold_batch_norm_to(&a, &wrong, folded, folded_bias),
                   QEQ_ERROR_INVALID_ARGUMENT, "qeq_fold_batch_norm_to: bn running_var is NULL");
  EXPECT_UNCHANGED(qeq_fold_batch_norm_to(&a, &bn, NULL, folded_bias), QEQ_ERROR_INVALID_ARGUMENT,
                   "weight_out is NULL");
  EXPECT_UNCHANGED(qeq_fold_batch_norm_to(&a, &bn, folded, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "bias_out is NULL");
  EXPECT_UNCHANGED(qeq_fold_batch_norm_to(&a, &bn, a.weight + 1, folded_bias),
                   QEQ_ERROR_INVALID_ARGUMENT, "weight_out");
  EXPECT_UNCHANGED(qeq_fold_batch_norm_to(&a, &bn, folded, mean + 1), QEQ_ERROR_INVALID_ARGUMENT,
                   "bias_out");
  EXPECT_UNCHANGED(qeq_fold_batch_norm_to(&no_bias, &bn, folded, no_bias.weight),
                   QEQ_ERROR_INVALID_ARGUMENT, "bias_out");
#undef EXPECT_UNCHANGED
}

/* The first NaN or Inf of a long weight is found and named wherever it sits (the check scans
 * blocks of 1024 without branches first). */
static void test_non_finite_weight_index(void** state) {
  (void)state;
  enum { N = 64 };
  static float w1[N * N], w2[N * N], bias[N];
  for (size_t i = 0; i < N * N; i++) w1[i] = w2[i] = (float)(i % 13) - 6.0f;
  const size_t dims[2] = {N, N};
  qeq_layer a, b;
  CHECK(
      qeq_layer_init(&a, QEQ_LAYER_LINEAR, 2, dims, w1, bias, 1, QEQ_ACTIVATION_RELU) == QEQ_OK &&
          qeq_layer_init(&b, QEQ_LAYER_LINEAR, 2, dims, w2, NULL, 1, QEQ_ACTIVATION_NONE) == QEQ_OK,
      "%s", qeq_last_error());
  qeq_layer* chain[2] = {&a, &b};
  const size_t sizes[1] = {2};
  const size_t positions[] = {0, 1023, 1024, 2500, N * N - 1};
  const float bad[] = {NAN, -INFINITY, INFINITY, NAN, -INFINITY};
  for (size_t t = 0; t < sizeof positions / sizeof positions[0]; t++) {
    const float keep = w2[positions[t]];
    w2[positions[t]] = bad[t];
    if (t % 2) w2[N * N - 1] = NAN; /* a later one must not win */
    char want[64];
    snprintf(want, sizeof want, "layers[1]'s weight[%zu]", positions[t]);
    CHECK(qeq_equalize(chain, sizes, 1, 1e-4f, 10, NULL) == QEQ_ERROR_NON_FINITE &&
              strstr(qeq_last_error(), want) != NULL,
          "want \"%s\" in \"%s\"", want, qeq_last_error());
    w2[N * N - 1] = (float)((N * N - 1) % 13) - 6.0f;
    w2[positions[t]] = keep;
  }
}

/* Chains of plain layers take the fused sweep, whose read-only first pass checks the weights
 * (qeq_equalize skips its own scan then): the first bad layer in layer order is named, with
 * the first bad position, whether it starts a chain or not, and nothing is written. */
static void test_fused_chain_names_first_bad_layer(void** state) {
  (void)state;
  enum { N = 24, L = 5 };
  static float w[L][N * 3 * N], copy[L][N * 3 * N], bias[L][N];
  qeq_layer layer[L];
  qeq_layer* chain[L];
  for (size_t j = 0; j < L; j++) {
    for (size_t i = 0; i < N * 3 * N; i++) w[j][i] = (float)((i * 7 + j) % 11) - 5.0f;
    for (size_t c = 0; c < N; c++) bias[j][c] = 0.5f;
    CHECK(qeq_layer_init(&layer[j], QEQ_LAYER_CONV1D, 3, (size_t[]){N, N, 3}, w[j], bias[j], 1,
                         QEQ_ACTIVATION_RELU) == QEQ_OK,
          "%s", qeq_last_error());
    chain[j] = &layer[j];
  }
  const size_t sizes[2] = {3, 2}; /* layers 0-2, then 3-4: layer 3 starts a chain */
  const struct {
    size_t layer, position;
    float value;
  } bad[][2] = {{{0, 5, NAN}, {2, 0, NAN}},
                {{1, 70, INFINITY}, {2, 3, NAN}},
                {{2, N * 3 * N - 1, -INFINITY}, {4, 1, NAN}},
                {{3, 9, NAN}, {4, 0, INFINITY}},
                {{4, 100, NAN}, {4, 200, NAN}}};
  for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
    for (size_t k = 0; k < 2; k++) w[bad[t][k].layer][bad[t][k].position] = bad[t][k].value;
    memcpy(copy, w, sizeof w);
    qeq_equalize_report report = {7, 7.0, 7};
    char want[64];
    snprintf(want, sizeof want, "layers[%zu]'s weight[%zu]", bad[t][0].layer, bad[t][0].position);
    CHECK(qeq_equalize(chain, sizes, 2, 1e-4f, 10, &report) == QEQ_ERROR_NON_FINITE &&
              strstr(qeq_last_error(), want) != NULL,
          "want \"%s\" in \"%s\"", want, qeq_last_error());
    CHECK(memcmp(copy, w, sizeof w) == 0 && report.sweeps == 7, "written on failure (case %zu)", t);
    for (size_t k = 0; k < 2; k++) {
      const size_t i = bad[t][k].position;
      w[bad[t][k].layer][i] = (float)((i * 7 + bad[t][k].layer) % 11) - 5.0f;
    }
  }
  qeq_equalize_report report;
  CHECK(qeq_equalize(chain, sizes, 2, 1e-4f, 10, &report) == QEQ_OK, "%s", qeq_last_error());
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("equalize golden", 0) == 0, "an ISA this CPU has was not covered");
}

int main(void) {
  isa_count = detected_isas(isas);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden_cle_and_chains),
      cmocka_unit_test(test_golden_fold),
      cmocka_unit_test(test_chains_keep_their_function),
      cmocka_unit_test(test_fused_chains_match_pair_by_pair),
      cmocka_unit_test(test_fused_chain_convergence_matches_general),
      cmocka_unit_test(test_single_pair_equalizes_ranges),
      cmocka_unit_test(test_fold_matches_batch_norm),
      cmocka_unit_test(test_fold_many_matches_one_by_one),
      cmocka_unit_test(test_depthwise_separable_triplet),
      cmocka_unit_test(test_zero_range_channels_stay_finite),
      cmocka_unit_test(test_errors_change_nothing),
      cmocka_unit_test(test_non_finite_weight_index),
      cmocka_unit_test(test_fused_chain_names_first_bad_layer),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
