/* Fuzzes qparams and observers: qeq_quant_range, qeq_calculate_qparams, and an observer fed
 * up to three batches of fuzzed shapes, then asked for its min/max and qparams. */
#include <string.h>

#include "tests/fuzz/fuzz.h"

#define BATCHES 3
#define STEPS (BATCHES + 3) /* create, updates, minmax, qparams */

typedef struct args {
  int which;
  qeq_observer_config config;
  size_t count;
  const float *min, *max;
  float *scale, *zero_point_float, *min_out, *max_out;
  int32_t *zero_point, *quant_min, *quant_max;
  qeq_shape shapes[BATCHES];
  const float* batches[BATCHES];
  int32_t statuses[STEPS]; /* every step's status, compared with the scalar path's too */
} args;

static const char* const step_names[STEPS] = {"qeq_observer_create", "qeq_observer_update",
                                              "qeq_observer_update", "qeq_observer_update",
                                              "qeq_observer_minmax", "qeq_observer_qparams"};

/* A sequence of calls: each failure must be documented and named; the outputs of the last
 * two are compared with the scalar path's. */
static qeq_status observe(args* a) {
  qeq_observer* const untouched = (qeq_observer*)&a->statuses;
  qeq_observer* obs = untouched;
  qeq_status st = qeq_observer_create(&a->config, &obs);
  fuzz_check_status(a->statuses[0] = st, step_names[0]);
  if (st != QEQ_OK) {
    if (obs != untouched) fuzz_fail("qeq_observer_create wrote *observer on failure");
    return QEQ_OK;
  }
  for (int b = 0; b < BATCHES; b++) {
    st = qeq_observer_update(obs, &a->shapes[b], a->batches[b]);
    fuzz_check_status(a->statuses[1 + b] = st, step_names[1 + b]);
  }
  const size_t channels = qeq_observer_channels(obs);
  st = channels <= a->count ? qeq_observer_minmax(obs, channels, a->min_out, a->max_out)
                            : QEQ_ERROR_SHAPE_MISMATCH;
  fuzz_check_status(a->statuses[4] = st, step_names[4]);
  st = qeq_observer_qparams(obs, channels ? channels : 1, a->scale, a->zero_point,
                            a->zero_point_float);
  if (channels > a->count) st = QEQ_ERROR_SHAPE_MISMATCH; /* outputs too short: not called */
  fuzz_check_status(a->statuses[5] = st, step_names[5]);
  qeq_observer_destroy(obs);
  return QEQ_OK;
}

static qeq_status call(void* p) {
  args* a = p;
  switch (a->which) {
    case 0: return qeq_quant_range(&a->config, a->quant_min, a->quant_max);
    case 1:
      return qeq_calculate_qparams(&a->config, a->count, a->min, a->max, a->scale, a->zero_point,
                                   a->zero_point_float);
    default: return observe(a);
  }
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->which = (int)fuzz_below(f, 3);
  qeq_observer_config* c = &a->config;
  *c = qeq_observer_config_default((qeq_dtype)fuzz_below(f, 4), (qeq_qscheme)fuzz_below(f, 6));
  const uint8_t flags = fuzz_byte(f);
  c->reduce_range = flags & 1, c->has_custom_range = flags >> 1 & 1;
  if (c->has_custom_range) c->quant_min = fuzz_i32(f), c->quant_max = fuzz_i32(f);
  if (flags & 4) c->eps = fuzz_f32(f);
  if (flags & 8) c->averaging_constant = flags & 16 ? fuzz_f32(f) : 0.5f;
  c->ch_axis = fuzz_axis(f, 3);
  a->count = a->which == 2 ? 64 : fuzz_below(f, 9);
  a->min = fuzz_buffer(f, FUZZ_F32, a->count);
  a->max = fuzz_buffer(f, FUZZ_F32, a->count);
  a->scale = fuzz_buffer(f, FUZZ_F32, a->count);
  a->zero_point = fuzz_buffer(f, FUZZ_I32, a->count);
  a->zero_point_float = fuzz_buffer(f, FUZZ_F32, a->count);
  a->quant_min = fuzz_buffer(f, FUZZ_I32, 1);
  a->quant_max = fuzz_buffer(f, FUZZ_I32, 1);
  if (a->which == 2) {
    a->min_out = fuzz_buffer(f, FUZZ_F32, a->count);
    a->max_out = fuzz_buffer(f, FUZZ_F32, a->count);
    for (int b = 0; b < BATCHES; b++)
      a->batches[b] = fuzz_buffer(f, FUZZ_F32, fuzz_shape(f, &a->shapes[b]));
  }
  fuzz_track(f, &a->statuses, sizeof a->statuses);
  return a->which == 0 ? "qeq_quant_range" : "qeq_calculate_qparams";
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
