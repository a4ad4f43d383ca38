/* Allocation failure: for every public call that allocates, fail its k-th allocation for
 * every k. Each must then return QEQ_ERROR_OUT_OF_MEMORY, name itself, and leave every buffer
 * and descriptor as it was; with no failure it must give the same result as an unfailed run.
 *
 * The binary is linked with -Wl,--wrap for malloc, calloc, realloc and aligned_alloc, so the
 * library's own calls (qeq_static's objects) go through the counters below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test-support.h"

void* __real_malloc(size_t size);
void* __real_calloc(size_t count, size_t size);
void* __real_realloc(void* p, size_t size);
void* __real_aligned_alloc(size_t alignment, size_t size);

static size_t calls;   /* allocations since armed */
static size_t fail_at; /* 0: never fail; k: the k-th allocation returns NULL */
static int armed;

static int should_fail(void) {
  if (!armed) return 0;
  calls++;
  return calls == fail_at;
}

void* __wrap_malloc(size_t size) {
  return should_fail() ? NULL : __real_malloc(size);
}
void* __wrap_calloc(size_t count, size_t size) {
  return should_fail() ? NULL : __real_calloc(count, size);
}
void* __wrap_realloc(void* p, size_t size) {
  return should_fail() ? NULL : __real_realloc(p, size);
}
void* __wrap_aligned_alloc(size_t alignment, size_t size) {
  return should_fail() ? NULL : __real_aligned_alloc(alignment, size);
}

/* Each descriptor's bias as the case built it, before the call under test. */
static float* built_bias[4];

/* Everything a call may touch: floats and the layer descriptors' bias pointers. */
#define ARENA 4096
typedef struct state {
  float mem[ARENA];
  qeq_layer layers[4];
  qeq_observer* observer;
} state;

static void state_init(state* s) {
  memset(built_bias, 0, sizeof built_bias);
  for (size_t i = 0; i < ARENA; i++) s->mem[i] = (float)((i * 37 % 101) + 1) * 0.03125f - 1.5f;
  /* Positive where the cases need it: batch-norm variances, scales, input ranges. */
  for (size_t c = 0; c < 6; c++) {
    s->mem[200 + c] = 0.1f + 0.01f * (float)c;
    s->mem[220 + c] = 0.5f + (float)c;
    s->mem[700 + c] = 0.5f + (float)c;
    s->mem[710 + c] = s->mem[700 + c] + 2.0f;
  }
  memset(s->layers, 0, sizeof s->layers);
  s->observer = NULL;
}

static void record_biases(const state* s) {
  for (int i = 0; i < 4; i++) built_bias[i] = s->layers[i].bias;
}

static void layer(state* s, int i, qeq_layer_kind kind, size_t ndim, const size_t* dims,
                  size_t weight_at, long bias_at) {
  CHECK(qeq_layer_init(&s->layers[i], kind, ndim, dims, s->mem + weight_at,
                       bias_at < 0 ? NULL : s->mem + bias_at, 1, QEQ_ACTIVATION_RELU) == QEQ_OK,
        "layer %d: %s", i, qeq_last_error());
  record_biases(s);
}

/* Conv2d 3 -> 4 (3x3), Conv2d 4 -> 5 (3x3): channels along axis 1 run 9 elements. */
static void conv_pair(state* s) {
  layer(s, 0, QEQ_LAYER_CONV2D, 4, (size_t[]){4, 3, 3, 3}, 0, 200);
  layer(s, 1, QEQ_LAYER_CONV2D, 4, (size_t[]){5, 4, 3, 3}, 300, 600);
}

static qeq_status run_cle(state* s) {
  conv_pair(s);
  return qeq_cross_layer_equalize(&s->layers[0], &s->layers[1], s->mem + 700);
}

static qeq_status run_cle_transpose(state* s) {
  /* ConvTranspose2d 4 -> 3: its output channels run along axis 1. */
  layer(s, 0, QEQ_LAYER_CONV_TRANSPOSE2D, 4, (size_t[]){4, 3, 3, 3}, 0, 200);
  layer(s, 1, QEQ_LAYER_CONV2D, 4, (size_t[]){5, 3, 3, 3}, 300, 600);
  return qeq_cross_layer_equalize(&s->layers[0], &s->layers[1], NULL);
}

static qeq_status run_equalize(state* s) {
  conv_pair(s);
  layer(s, 2, QEQ_LAYER_CONV2D, 4, (size_t[]){2, 5, 3, 3}, 1000, 1200);
  qeq_layer* chain[3] = {&s->layers[0], &s->layers[1], &s->layers[2]};
  const size_t sizes[1] = {3};
  return qeq_equalize(chain, sizes, 1, 1e-6f, 4, NULL);
}

static qeq_status run_triplet(state* s) {
  layer(s, 0, QEQ_LAYER_CONV2D, 4, (size_t[]){4, 3, 3, 3}, 0, 200);
  CHECK(qeq_layer_init(&s->layers[1], QEQ_LAYER_CONV2D, 4, (size_t[]){4, 1, 3, 3}, s->mem + 300,
                       s->mem + 400, 4, QEQ_ACTIVATION_RELU) == QEQ_OK,
        "%s", qeq_last_error());
  record_biases(s);
  layer(s, 2, QEQ_LAYER_CONV2D, 4, (size_t[]){5, 4, 3, 3}, 500, -1);
  return qeq_equalize_depthwise_separable(&s->layers[0], &s->layers[1], &s->layers[2], s->mem + 900,
                                          s->mem + 910);
}

static qeq_status run_fold(state* s) {
  /* ConvTranspose2d without bias: the folded bias goes to storage. */
  layer(s, 0, QEQ_LAYER_CONV_TRANSPOSE2D, 4, (size_t[]){4, 3, 3, 3}, 0, -1);
  const qeq_batch_norm bn = {3, s->mem + 210, s->mem + 220, s->mem + 230, s->mem + 240, 1e-5f};
  return qeq_fold_batch_norm(&s->layers[0], &bn, s->mem + 250);
}

static qeq_status run_fold_to(state* s) {
  /* Out of place, from a ConvTranspose2d without bias. */
  layer(s, 0, QEQ_LAYER_CONV_TRANSPOSE2D, 4, (size_t[]){4, 3, 3, 3}, 0, -1);
  const qeq_batch_norm bn = {3, s->mem + 210, s->mem + 220, s->mem + 230, s->mem + 240, 1e-5f};
  return qeq_fold_batch_norm_to(&s->layers[0], &bn, s->mem + 300, s->mem + 450);
}

static qeq_status run_fold_many(state* s) {
  /* A ConvTranspose2d without bias (storage) and a Conv2d with one, in one call. */
  layer(s, 0, QEQ_LAYER_CONV_TRANSPOSE2D, 4, (size_t[]){4, 3, 3, 3}, 0, -1);
  layer(s, 1, QEQ_LAYER_CONV2D, 4, (size_t[]){5, 3, 3, 3}, 300, 450);
  const qeq_batch_norm bns[2] = {
      {3, s->mem + 210, s->mem + 220, s->mem + 230, s->mem + 240, 1e-5f},
      {5, s->mem + 210, s->mem + 220, s->mem + 230, s->mem + 240, 1e-5f}};
  float* const storage[2] = {s->mem + 250, NULL};
  float* const min_out[2] = {s->mem + 600, s->mem + 610};
  float* const max_out[2] = {NULL, s->mem + 620};
  return qeq_fold_batch_norms(s->layers, bns, storage, min_out, max_out, 2);
}

static qeq_status run_input_equalization(state* s) {
  layer(s, 0, QEQ_LAYER_CONV2D, 4, (size_t[]){5, 3, 3, 3}, 0, 200);
  layer(s, 1, QEQ_LAYER_CONV_TRANSPOSE2D, 4, (size_t[]){4, 3, 3, 3}, 300, 600);
  return qeq_apply_input_equalization(&s->layers[0], &s->layers[1], s->mem + 700);
}

static qeq_status run_input_equalization_scales(state* s) {
  layer(s, 0, QEQ_LAYER_CONV2D, 4, (size_t[]){5, 3, 3, 3}, 0, 200);
  return qeq_input_equalization_scales(&s->layers[0], s->mem + 700, s->mem + 710, NULL,
                                       s->mem + 720);
}

static qeq_status run_absorb(state* s) {
  conv_pair(s);
  return qeq_absorb_high_bias(&s->layers[0], &s->layers[1], s->mem + 700, s->mem + 710, NULL, NULL);
}

static qeq_status run_correct_bias(state* s) {
  layer(s, 0, QEQ_LAYER_CONV2D, 4, (size_t[]){4, 3, 3, 3}, 0, -1);
  return qeq_correct_bias(&s->layers[0], s->mem + 300, s->mem + 500, s->mem + 600);
}

static qeq_status run_scale(state* s) {
  qeq_shape shape;
  qeq_shape_init(&shape, 3, (size_t[]){4, 6, 5});
  return qeq_scale_channels_f32(&shape, s->mem, 1, s->mem + 200, s->mem);
}

static qeq_status run_minmax(state* s) {
  qeq_shape shape;
  qeq_shape_init(&shape, 3, (size_t[]){4, 6, 5});
  return qeq_channel_minmax_f32(&shape, s->mem, 1, s->mem + 200, s->mem + 210);
}

static qeq_status run_range(state* s) {
  qeq_shape shape;
  qeq_shape_init(&shape, 3, (size_t[]){4, 6, 5});
  return qeq_channel_range_f32(&shape, s->mem, 1, s->mem + 200);
}

static qeq_status run_quantize(state* s) {
  qeq_shape shape;
  qeq_shape_init(&shape, 2, (size_t[]){6, 5});
  const int32_t zps[6] = {0};
  return qeq_fake_quantize_f32(&shape, s->mem, 0, 6, s->mem + 200, zps, -128, 127, s->mem + 300);
}

static qeq_status run_observer(state* s) {
  qeq_observer_config cfg = qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_CHANNEL_AFFINE);
  cfg.ch_axis = 1;
  qeq_status status = qeq_observer_create(&cfg, &s->observer);
  if (status != QEQ_OK) return status;
  qeq_shape shape;
  qeq_shape_init(&shape, 3, (size_t[]){4, 6, 5});
  status = qeq_observer_update(s->observer, &shape, s->mem);
  if (status == QEQ_OK) status = qeq_observer_update(s->observer, &shape, s->mem + 120);
  if (status == QEQ_OK) {
    int32_t zp[6];
    status = qeq_observer_qparams(s->observer, 6, s->mem + 300, zp, NULL);
  }
  qeq_observer_destroy(s->observer);
  return status;
}

typedef struct fault_case {
  const char* name;
  const char* fn; /* the public function named on failure */
  qeq_status (*run)(state*);
  int multi_call; /* several calls: only "no half-applied OK" is checked, not the state */
} fault_case;

static const fault_case cases[] = {
    {"CLE conv pair", "qeq_cross_layer_equalize", run_cle, 0},
    {"CLE ConvTranspose", "qeq_cross_layer_equalize", run_cle_transpose, 0},
    {"equalize chain", "qeq_equalize", run_equalize, 0},
    {"depthwise-separable", "qeq_equalize_depthwise_separable", run_triplet, 0},
    {"fold ConvTranspose", "qeq_fold_batch_norm", run_fold, 0},
    {"fold out of place", "qeq_fold_batch_norm_to", run_fold_to, 0},
    {"fold several layers", "qeq_fold_batch_norms", run_fold_many, 0},
    {"input equalization", "qeq_apply_input_equalization", run_input_equalization, 0},
    {"input equalization scales", "qeq_input_equalization_scales", run_input_equalization_scales,
     0},
    {"absorb high bias", "qeq_absorb_high_bias", run_absorb, 0},
    {"correct bias", "qeq_correct_bias", run_correct_bias, 0},
    {"scale axis 1", "qeq_scale_channels_f32", run_scale, 0},
    {"minmax axis 1", "qeq_channel_minmax_f32", run_minmax, 0},
    {"range axis 1", "qeq_channel_range_f32", run_range, 0},
    {"fake quantize", "qeq_fake_quantize_f32", run_quantize, 0},
    {"observer", "qeq_observer_", run_observer, 1},
};

static void test_every_allocation_fails(void** unused) {
  (void)unused;
  (void)qeq_isa_effective(); /* dispatch initialised before counting */
  static state initial, expected, s;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const fault_case* c = &cases[i];
    /* The unfailed run: its result and its allocation count. */
    state_init(&expected);
    calls = 0, fail_at = 0, armed = 1;
    qeq_status status = c->run(&expected);
    armed = 0;
    const size_t total = calls;
    CHECK(status == QEQ_OK, "%s: %s", c->name, qeq_last_error());
    CHECK(total > 0 || c->multi_call, "%s: no allocation to fail", c->name);
    for (size_t k = 1; k <= total; k++) {
      state_init(&s);
      state_init(&initial);
      calls = 0, fail_at = k, armed = 1;
      status = c->run(&s);
      armed = 0;
      CHECK(status == QEQ_ERROR_OUT_OF_MEMORY, "%s: allocation %zu of %zu failed, status %s (%s)",
            c->name, k, total, qeq_status_string(status), qeq_last_error());
      CHECK(strstr(qeq_last_error(), c->fn) == qeq_last_error(),
            "%s: message \"%s\" does not start with %s", c->name, qeq_last_error(), c->fn);
      if (c->multi_call) continue;
      int same = memcmp(s.mem, initial.mem, sizeof s.mem) == 0;
      for (int l = 0; l < 4; l++) same &= s.layers[l].bias == built_bias[l];
      CHECK(same, "%s: allocation %zu of %zu failed and something was written", c->name, k, total);
    }
    /* Past the last allocation: the full result again. */
    state_init(&s);
    calls = 0, fail_at = total + 1, armed = 1;
    status = c->run(&s);
    armed = 0;
    CHECK(status == QEQ_OK && memcmp(s.mem, expected.mem, sizeof s.mem) == 0,
          "%s: the unfailed result differs", c->name);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_allocation_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
