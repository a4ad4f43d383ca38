/* The data-free-quantization and FX-equalization steps beyond CLE:
 *  - input-weight equalization against PyTorch's observers, calculate_equalization_scale,
 *    calculate_scaled_minmax and weight updates (tests/golden/input_equalize.txt), bit for bit
 *    under every ISA cap; SmoothQuant's alpha against a double-precision formula;
 *  - high-bias absorption and bias correction against the reference forward pass;
 *  - selective equalization's choice, on the SQNRs of
 *    docs/numerics.md#selective-equalization-example;
 *  - bad input changes nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/layer-fixtures.h"

static qeq_isa isas[QEQ_ISA_COUNT];
static size_t isa_count;

static void test_golden_input_equalization(void** state) {
  (void)state;
  for (size_t k = 0; k < isa_count; k++) {
    CHECK(qeq_set_isa_cap(isas[k]) == QEQ_OK, "cap");
    const char* isa = qeq_isa_name(isas[k]);
    golden_file* f = golden_open("input_equalize.txt");
    CHECK(f != NULL, "input_equalize.txt missing");
    golden_case c = {0};
    size_t cases = 0;
    while (golden_next(f, &c)) {
      owned_layer layer = golden_layer(&c, "");
      owned_layer producer = {0};
      const int has_producer = golden_get(&c, "shapep") != NULL;
      if (has_producer) producer = golden_layer(&c, "p");
      size_t in;
      qeq_layer_channels(&layer.layer, &in, NULL);
      float *xmin = malloc(in * sizeof(float)), *xmax = malloc(in * sizeof(float));
      float* scales = malloc(in * sizeof(float));
      golden_floats(&c, "input_min", xmin, in);
      golden_floats(&c, "input_max", xmax, in);
      CHECK(qeq_input_equalization_scales(&layer.layer, xmin, xmax, NULL, scales) == QEQ_OK,
            "%s: %s", c.name, qeq_last_error());
      expect_bits(isa, c.name, scales, &c, "scales", in);
      float lo, hi;
      CHECK(qeq_scaled_input_minmax(in, xmin, xmax, scales, &lo, &hi) == QEQ_OK, "minmax");
      expect_bits(isa, c.name, &lo, &c, "scaled_min", 1);
      expect_bits(isa, c.name, &hi, &c, "scaled_max", 1);
      CHECK(qeq_apply_input_equalization(&layer.layer, has_producer ? &producer.layer : NULL,
                                         scales) == QEQ_OK,
            "%s: %s", c.name, qeq_last_error());
      expect_bits(isa, c.name, layer.weight, &c, "w_after", layer.weight_count);
      if (has_producer) {
        expect_bits(isa, c.name, producer.weight, &c, "wp_after", producer.weight_count);
        expect_bits(isa, c.name, producer.bias, &c, "bp_after", in);
        owned_free(&producer);
      }
      free(xmin), free(xmax), free(scales);
      owned_free(&layer);
      cases++;
    }
    golden_close(f, &c);
    CHECK(cases >= 5, "input_equalize.txt has %zu cases", cases);
    coverage_record(isas[k], 0, cases);
  }
  qeq_clear_isa_cap();
}

static void test_smoothquant_alpha(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 3);
  owned_layer layer = random_layer(&rng, QEQ_LAYER_LINEAR, 7, 5, 1, 1, QEQ_ACTIVATION_NONE);
  float xmin[7], xmax[7], s[7], wmin[7], wmax[7];
  for (int j = 0; j < 7; j++) {
    xmin[j] = -0.5f - (float)j;
    xmax[j] = 0.25f + 2.0f * (float)j;
  }
  const size_t dims[2] = {5, 7};
  qeq_shape shape;
  qeq_shape_init(&shape, 2, dims);
  qeq_channel_minmax_f32(&shape, layer.weight, 1, wmin, wmax);
  const float alphas[] = {0.0f, 0.3f, 0.5f, 0.8f, 1.0f};
  for (size_t a = 0; a < 5; a++) {
    for (int absmax = 0; absmax < 2; absmax++) {
      const qeq_input_equalization_options options = {alphas[a], absmax};
      CHECK(qeq_input_equalization_scales(&layer.layer, xmin, xmax, &options, s) == QEQ_OK, "%s",
            qeq_last_error());
      for (int j = 0; j < 7; j++) {
        const double w = absmax ? fmax(fabs(wmin[j]), fabs(wmax[j])) : (double)(wmax[j] - wmin[j]);
        const double x = absmax ? fmax(fabs(xmin[j]), fabs(xmax[j])) : (double)(xmax[j] - xmin[j]);
        const double want = pow(w, 1.0 - alphas[a]) / pow(x, alphas[a]);
        CHECK(fabs(s[j] - want) <= 4e-7 * want, "alpha %g absmax %d column %d: %g, want %g",
              (double)alphas[a], absmax, j, (double)s[j], want);
      }
    }
  }
  const qeq_input_equalization_options bad = {1.5f, 0};
  CHECK(qeq_input_equalization_scales(&layer.layer, xmin, xmax, &bad, s) ==
            QEQ_ERROR_INVALID_ARGUMENT,
        "alpha 1.5 accepted");
  owned_free(&layer);
}

/* Producer -> ReLU -> layer computes the same after input equalization, for a grouped conv
 * (PyTorch refuses those). */
static void test_input_equalization_keeps_function(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 4);
  owned_layer producer = random_layer(&rng, QEQ_LAYER_CONV2D, 4, 8, 2, 1, QEQ_ACTIVATION_RELU);
  owned_layer layer = random_layer(&rng, QEQ_LAYER_CONV2D, 8, 6, 2, 1, QEQ_ACTIVATION_NONE);
  qeq_layer* chain[2] = {&producer.layer, &layer.layer};
  activation x = random_input(&rng, 4, 1), mid;
  layer_forward(&producer.layer, &x, &mid);
  float xmin[8], xmax[8], s[8];
  const size_t plane = mid.spatial[0] * mid.spatial[1] * mid.spatial[2];
  for (size_t c = 0; c < 8; c++) {
    xmin[c] = INFINITY, xmax[c] = -INFINITY;
    for (size_t p = 0; p < plane; p++) {
      xmin[c] = fminf(xmin[c], (float)mid.data[c * plane + p]);
      xmax[c] = fmaxf(xmax[c], (float)mid.data[c * plane + p]);
    }
  }
  activation before = run_chain(chain, 2, &x);
  CHECK(qeq_input_equalization_scales(&layer.layer, xmin, xmax, NULL, s) == QEQ_OK, "%s",
        qeq_last_error());
  CHECK(qeq_apply_input_equalization(&layer.layer, &producer.layer, s) == QEQ_OK, "%s",
        qeq_last_error());
  activation after = run_chain(chain, 2, &x);
  CHECK(max_relative_diff(&before, &after) < 1e-5, "grouped input equalization changed output");
  activation_free(&x), activation_free(&mid), activation_free(&before), activation_free(&after);
  owned_free(&producer), owned_free(&layer);
}

static void test_high_bias_absorption(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 5);
  owned_layer first = random_layer(&rng, QEQ_LAYER_CONV2D, 3, 6, 1, 1, QEQ_ACTIVATION_RELU);
  owned_layer second = random_layer(&rng, QEQ_LAYER_CONV2D, 6, 4, 2, 0, QEQ_ACTIVATION_NONE);
  /* Small weights and large biases: every pre-activation of `first` stays above the moved
   * amount, where the absorption is exact. Channel 5's beta is below 3|gamma|: nothing moves. */
  for (size_t i = 0; i < first.weight_count; i++) first.weight[i] *= 1e-3f;
  float beta[6], gamma[6], b1_before[6], storage[4];
  for (int c = 0; c < 6; c++) {
    first.bias[c] = beta[c] = 4.0f + (float)c;
    gamma[c] = c % 2 ? -0.5f : 0.25f;
  }
  beta[5] = 1.0f;
  memcpy(b1_before, first.bias, sizeof b1_before);
  qeq_layer* chain[2] = {&first.layer, &second.layer};
  activation x = random_input(&rng, 3, 1);
  activation before = run_chain(chain, 2, &x);
  CHECK(qeq_absorb_high_bias(&first.layer, &second.layer, beta, gamma, NULL, storage) == QEQ_OK,
        "%s", qeq_last_error());
  CHECK(second.layer.bias == storage, "second got no bias");
  for (int c = 0; c < 6; c++) {
    const float moved = c == 5 ? 0.0f : beta[c] - 3.0f * fabsf(gamma[c]);
    CHECK(first.bias[c] == b1_before[c] - moved, "channel %d: bias %g, want %g", c,
          (double)first.bias[c], (double)(b1_before[c] - moved));
  }
  activation after = run_chain(chain, 2, &x);
  CHECK(max_relative_diff(&before, &after) < 1e-5, "absorption changed the output");
  /* The same with CLE scales: beta and gamma given before scaling, and the scales. */
  float scaled_beta[6], scaled_gamma[6], s[6], b1_again[6];
  memcpy(b1_again, first.bias, sizeof b1_again);
  for (int c = 0; c < 6; c++) {
    s[c] = 0.5f + 0.25f * (float)c;
    scaled_beta[c] = beta[c] * s[c];
    scaled_gamma[c] = gamma[c] * s[c];
  }
  CHECK(qeq_absorb_high_bias(&first.layer, &second.layer, scaled_beta, scaled_gamma, s, NULL) ==
            QEQ_OK,
        "%s", qeq_last_error());
  for (int c = 0; c < 5; c++) {
    const float moved = scaled_beta[c] / s[c] - 3.0f * fabsf(scaled_gamma[c] / s[c]);
    CHECK(first.bias[c] == b1_again[c] - moved, "scaled channel %d", c);
  }
  activation_free(&x), activation_free(&before), activation_free(&after);
  owned_free(&first), owned_free(&second);
}

static void test_bias_correction(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 6);
  const qeq_layer_kind kinds[3] = {QEQ_LAYER_LINEAR, QEQ_LAYER_CONV2D, QEQ_LAYER_CONV_TRANSPOSE1D};
  const size_t groups[3] = {1, 2, 3};
  for (int k = 0; k < 3; k++) {
    owned_layer layer = random_layer(&rng, kinds[k], 6, 6, groups[k], k != 1, QEQ_ACTIVATION_NONE);
    float* quantized = malloc(layer.weight_count * sizeof(float));
    for (size_t i = 0; i < layer.weight_count; i++) {
      quantized[i] = roundf(layer.weight[i] * 4.0f) / 4.0f;
    }
    float mean[6], storage[6];
    for (int c = 0; c < 6; c++) mean[c] = 0.5f + 0.3f * (float)c;
    /* A spatially constant input equal to its mean: the float layer's output is what the
     * corrected quantized layer must produce. */
    activation x = random_input(&rng, 6, kinds[k] != QEQ_LAYER_LINEAR);
    const size_t plane = x.spatial[0] * x.spatial[1] * x.spatial[2];
    for (size_t c = 0; c < 6; c++) {
      for (size_t p = 0; p < plane; p++) x.data[c * plane + p] = mean[c];
    }
    activation want, got;
    layer_forward(&layer.layer, &x, &want);
    qeq_layer quantized_layer = layer.layer;
    CHECK(qeq_correct_bias(&quantized_layer, quantized, mean, storage) == QEQ_OK, "%s",
          qeq_last_error());
    quantized_layer.weight = quantized;
    layer_forward(&quantized_layer, &x, &got);
    /* ConvTranspose outputs near the border see fewer taps; compare the interior. */
    const size_t out_plane = want.spatial[0] * want.spatial[1] * want.spatial[2];
    double worst = 0, scale = 0;
    for (size_t c = 0; c < want.channels; c++) {
      for (size_t p = 0; p < out_plane; p++) {
        if (kinds[k] == QEQ_LAYER_CONV_TRANSPOSE1D) {
          const size_t pos = p % want.spatial[2], kernel = layer.layer.weight_shape.dims[2];
          if (pos + 1 < kernel || pos + kernel > want.spatial[2]) continue;
        }
        scale = fmax(scale, fabs(want.data[c * out_plane + p]));
        worst = fmax(worst, fabs(want.data[c * out_plane + p] - got.data[c * out_plane + p]));
      }
    }
    CHECK(scale > 0 && worst <= 1e-5 * scale, "kind %d: corrected output off by %g of %g",
          (int)kinds[k], worst, scale);
    activation_free(&x), activation_free(&want), activation_free(&got);
    free(quantized);
    owned_free(&layer);
  }
}

static void test_selective_equalization(void** state) {
  (void)state;
  /* docs/numerics.md#selective-equalization-example:
   * {'bot.0': 40.5729, '': 64.3854, 'top.0': 30.7953}, N = 1 -> ['top.0']. */
  const double sqnr[3] = {40.5729, 64.3854, 30.7953};
  size_t chosen[4], count;
  CHECK(
      qeq_select_lowest_sqnr(3, sqnr, 1, chosen, &count) == QEQ_OK && count == 1 && chosen[0] == 2,
      "N=1 chose %zu layers, first %zu", count, chosen[0]);
  CHECK(qeq_select_lowest_sqnr(3, sqnr, 0, chosen, &count) == QEQ_OK && count == 0, "N=0");
  CHECK(qeq_select_lowest_sqnr(3, sqnr, 7, chosen, &count) == QEQ_OK && count == 3 &&
            chosen[0] == 2 && chosen[1] == 0 && chosen[2] == 1,
        "N=7");
  CHECK(qeq_select_lowest_sqnr(3, sqnr, -1, chosen, &count) == QEQ_OK && count == 2 &&
            chosen[0] == 2 && chosen[1] == 0,
        "N=-1");
  CHECK(qeq_select_lowest_sqnr(3, sqnr, -5, chosen, &count) == QEQ_OK && count == 0, "N=-5");
  const double ties[4] = {1.0, 1.0, 0.5, INFINITY};
  CHECK(qeq_select_lowest_sqnr(4, ties, 4, chosen, &count) == QEQ_OK && chosen[0] == 2 &&
            chosen[1] == 0 && chosen[2] == 1 && chosen[3] == 3,
        "ties keep their order");
  const double with_nan[2] = {1.0, NAN};
  CHECK(qeq_select_lowest_sqnr(2, with_nan, 1, chosen, &count) == QEQ_ERROR_INVALID_ARGUMENT &&
            strstr(qeq_last_error(), "sqnr[1]") != NULL,
        "NaN accepted");
}

static void test_errors_change_nothing(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 7);
  owned_layer a = random_layer(&rng, QEQ_LAYER_LINEAR, 3, 4, 1, 1, QEQ_ACTIVATION_RELU);
  owned_layer b = random_layer(&rng, QEQ_LAYER_LINEAR, 4, 2, 1, 1, QEQ_ACTIVATION_NONE);
  float wa[12], wb[8], ba[4], bb[2];
  memcpy(wa, a.weight, sizeof wa), memcpy(wb, b.weight, sizeof wb);
  memcpy(ba, a.bias, sizeof ba), memcpy(bb, b.bias, sizeof bb);
  float beta[4] = {5, 5, 5, 5}, gamma[4] = {1, 1, 1, 1}, mean[4] = {0, 0, 0, 0};
  float s[4] = {1, 2, 0, 1}, xmin[4] = {0, 0, 0, 0}, xmax[4] = {1, 1, -1, 1};
  float q[12] = {0}, out[4];
#define EXPECT_UNCHANGED(call, want, text)                                          \
  do {                                                                              \
    const qeq_status got = (call);                                                  \
    CHECK(got == (want), "%s: %s, want %s (%s)", #call, qeq_status_string(got),     \
          qeq_status_string(want), qeq_last_error());                               \
    CHECK(strstr(qeq_last_error(), text) != NULL, "%s: \"%s\" lacks \"%s\"", #call, \
          qeq_last_error(), text);                                                  \
    CHECK(!memcmp(wa, a.weight, sizeof wa) && !memcmp(wb, b.weight, sizeof wb) &&   \
              !memcmp(ba, a.bias, sizeof ba) && !memcmp(bb, b.bias, sizeof bb),     \
          "%s modified a layer", #call);                                            \
  } while (0)
  EXPECT_UNCHANGED(qeq_absorb_high_bias(&b.layer, &a.layer, beta, gamma, NULL, NULL),
                   QEQ_ERROR_SHAPE_MISMATCH, "input channels");
  a.layer.activation = QEQ_ACTIVATION_RELU6;
  EXPECT_UNCHANGED(qeq_absorb_high_bias(&a.layer, &b.layer, beta, gamma, NULL, NULL),
                   QEQ_ERROR_UNSUPPORTED, "ReLU6");
  EXPECT_UNCHANGED(qeq_apply_input_equalization(&b.layer, &a.layer, s), QEQ_ERROR_UNSUPPORTED,
                   "ReLU6");
  a.layer.activation = QEQ_ACTIVATION_RELU;
  gamma[3] = NAN;
  EXPECT_UNCHANGED(qeq_absorb_high_bias(&a.layer, &b.layer, beta, gamma, NULL, NULL),
                   QEQ_ERROR_NON_FINITE, "gamma[3]");
  EXPECT_UNCHANGED(qeq_absorb_high_bias(&a.layer, &b.layer, beta, NULL, NULL, NULL),
                   QEQ_ERROR_INVALID_ARGUMENT, "gamma is NULL");
  qeq_layer no_bias = a.layer;
  no_bias.bias = NULL;
  EXPECT_UNCHANGED(qeq_absorb_high_bias(&no_bias, &b.layer, beta, beta, NULL, NULL),
                   QEQ_ERROR_INVALID_ARGUMENT, "no bias to absorb");
  mean[1] = INFINITY;
  EXPECT_UNCHANGED(qeq_correct_bias(&b.layer, q, mean, NULL), QEQ_ERROR_NON_FINITE,
                   "input_mean[1]");
  EXPECT_UNCHANGED(qeq_correct_bias(&b.layer, NULL, mean, NULL), QEQ_ERROR_INVALID_ARGUMENT,
                   "quantized_weight is NULL");
  EXPECT_UNCHANGED(qeq_apply_input_equalization(&b.layer, NULL, s), QEQ_ERROR_INVALID_ARGUMENT,
                   "scales[2]");
  EXPECT_UNCHANGED(qeq_apply_input_equalization(&b.layer, &b.layer, s), QEQ_ERROR_SHAPE_MISMATCH,
                   "producer has 2 output channels");
  EXPECT_UNCHANGED(qeq_input_equalization_scales(&b.layer, xmin, xmax, NULL, out),
                   QEQ_ERROR_INVALID_ARGUMENT, "channel 2 has min");
#undef EXPECT_UNCHANGED
  owned_free(&a), owned_free(&b);
}

static void test_isa_coverage(void** state) {
  (void)state;
  CHECK(coverage_report("input equalization golden", 0) == 0,
        "an ISA this CPU has was not covered");
}

int main(void) {
  isa_count = detected_isas(isas);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden_input_equalization),
      cmocka_unit_test(test_smoothquant_alpha),
      cmocka_unit_test(test_input_equalization_keeps_function),
      cmocka_unit_test(test_high_bias_absorption),
      cmocka_unit_test(test_bias_correction),
      cmocka_unit_test(test_selective_equalization),
      cmocka_unit_test(test_errors_change_nothing),
      cmocka_unit_test(test_isa_coverage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
