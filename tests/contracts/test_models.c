/* PyTorch's quantized reference models end to end (tests/golden/models.txt,
 * docs/numerics.md#reference-models):
 * each model is rebuilt in C from its float weights: batch norm folded with
 * qeq_fold_batch_norm, a float32 calibration pass (tests/support/float-ops.c, PyTorch's
 * summation orders) over torch.rand's data regenerated from the exported mt19937 state feeds
 * qeq's observers at the points PyTorch's prepare() puts them, weights are quantized by qeq and
 * the model runs through qeq's int8 operations in NHWC. Asserted per model and engine:
 *   a. with PyTorch's activation qparams, the int8 outputs equal PyTorch's quantized model's
 *      bit for bit (eval data and the first calibration samples), under every ISA cap the CPU
 *      has with 1 thread, and with 2 threads under the best;
 *   b. qeq's observers give PyTorch's min/max and qparams exactly, qeq's weight qparams equal
 *      PyTorch's, and with qeq's own qparams the SQNR against PyTorch's float model equals
 *      PyTorch's (docs/numerics.md#model-numerics-sqnr: 41.496 dB per tensor, 39.976 dB per
 *      channel) within 0.01 dB;
 *   c. ModelMultipleOpsNoAvgPool with QAT-style fake quantization (qeq_fake_quantize_f32,
 *      moving-average observers): observers equal PyTorch's fake quantizers, SQNR vs float
 *      36.365 dB, weight-only 48.796, activation-only 39.932 (within 0.01 dB); the converted
 *      int8 model equals PyTorch's bit for bit and, dequantized, qeq's fake-quant forward. */
#include <math.h>
#include <pthreadpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qeq/conv.h"
#include "qeq/fold.h"
#include "qeq/gemm.h"
#include "qeq/nhwc.h"
#include "qeq/qops.h"
#include "qeq/qparams.h"
#include "qeq/quantize.h"
#include "qeq/sqnr.h"
#include "tests/support/float-ops.h"
#include "tests/support/golden.h"
#include "tests/support/mt19937.h"
#include "tests/support/test-support.h"

#define MAX_POINTS 8 /* observed activations per model */
#define MAX_LAYERS 3

typedef struct act_qparams {
  float scale;
  int32_t zero_point;
} act_qparams;

/* ---- fixtures: one float case and one case per engine, the data regenerated ---- */
typedef struct model_fixture {
  golden_case float_case, extra[3];                        /* the cases after the float one */
  size_t n_calib, n_eval, channels, height, width, sample; /* sample = C * H * W */
  float* calib;
  float* eval;
} model_fixture;

static const golden_field* need(const golden_case* c, const char* key) {
  const golden_field* f = golden_get(c, key);
  CHECK(f != NULL, "%s: no field %s", c->name, key);
  return f;
}

static void regenerate_data(model_fixture* m) {
  const golden_case* c = &m->float_case;
  mt19937 mt;
  const golden_field* words = need(c, "rng_state");
  CHECK(words->count == 624, "rng_state");
  for (size_t i = 0; i < 624; i++) mt.state[i] = (uint32_t)words->values[i];
  mt.left = (size_t)golden_int(c, "rng_left");
  mt.next = (size_t)golden_int(c, "rng_next");
  const size_t calib_count = m->n_calib * m->sample, eval_count = m->n_eval * m->sample;
  uint32_t* units = malloc((calib_count + eval_count) * sizeof *units);
  m->calib = malloc(calib_count * sizeof(float));
  m->eval = malloc(eval_count * sizeof(float));
  mt19937_rand(&mt, m->calib, units, calib_count);
  mt19937_rand(&mt, m->eval, units + calib_count, eval_count);
  const golden_field* head = need(c, "calib_head");
  for (size_t i = 0; i < head->count; i++) {
    CHECK(units[i] == (uint32_t)head->values[i], "%s: calibration value %zu", c->name, i);
  }
  uint64_t calib_sum = 0, eval_sum = 0;
  for (size_t i = 0; i < calib_count; i++) calib_sum += units[i];
  for (size_t i = 0; i < eval_count; i++) eval_sum += units[calib_count + i];
  CHECK(calib_sum == (uint64_t)golden_int(c, "calib_sum"), "%s: calibration data sum", c->name);
  CHECK(eval_sum == (uint64_t)golden_int(c, "eval_sum"), "%s: eval data sum", c->name);
  free(units);
}

static void load_model(model_fixture* m, const char* prefix, size_t extra) {
  memset(m, 0, sizeof *m);
  golden_file* f = golden_open("models.txt");
  CHECK(f != NULL, "models.txt");
  char want[128];
  snprintf(want, sizeof want, "%s_float", prefix);
  golden_case scratch;
  memset(&scratch, 0, sizeof scratch);
  while (golden_next(f, &scratch) && strcmp(scratch.name, want) != 0) {
  }
  CHECK(strcmp(scratch.name, want) == 0, "no case %s", want);
  m->float_case = scratch;
  memset(&scratch, 0, sizeof scratch);
  for (size_t e = 0; e < extra; e++) {
    CHECK(golden_next(f, &m->extra[e]), "%s: case %zu after the float one", prefix, e);
  }
  golden_close(f, &scratch);
  const golden_field* shape = need(&m->float_case, "shape");
  m->n_calib = (size_t)shape->values[0];
  m->n_eval = (size_t)shape->values[1];
  m->channels = (size_t)shape->values[2];
  m->height = (size_t)shape->values[3];
  m->width = (size_t)shape->values[4];
  m->sample = m->channels * m->height * m->width;
  regenerate_data(m);
}

static void free_model(model_fixture* m) {
  golden_close(NULL, &m->float_case);
  for (size_t e = 0; e < 3; e++) golden_close(NULL, &m->extra[e]);
  free(m->calib);
  free(m->eval);
}

static float* param_copy(const model_fixture* m, const char* key, size_t count) {
  const golden_field* f = need(&m->float_case, key);
  CHECK(f->count == count, "%s: %zu values, want %zu", key, f->count, count);
  float* out = malloc(count * sizeof *out);
  golden_floats(&m->float_case, key, out, count);
  return out;
}

/* ---- observers (docs/numerics.md#default-qconfigs: default_qconfig /
 * default_per_channel_qconfig) ---- */
static qeq_observer* activation_observer(void) {
  qeq_observer_config cfg = qeq_observer_config_default(QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE);
  cfg.has_custom_range = 1; /* default_observer: quant_min 0, quant_max 127 */
  cfg.quant_min = 0;
  cfg.quant_max = 127;
  qeq_observer* obs = NULL;
  CHECK(qeq_observer_create(&cfg, &obs) == QEQ_OK, "observer: %s", qeq_last_error());
  return obs;
}

static void observe(qeq_observer* obs, size_t count, const float* x) {
  if (obs == NULL) return;
  qeq_shape shape;
  CHECK(qeq_shape_init(&shape, 1, &count) == QEQ_OK, "shape");
  CHECK(qeq_observer_update(obs, &shape, x) == QEQ_OK, "observe: %s", qeq_last_error());
}

/* ---- a quantized Conv2d / Linear layer: folded float weights, then qeq's qint8 weights ---- */
typedef struct layer {
  const char* name;                        /* PyTorch's module name */
  size_t out, in, kernel, padding, groups; /* Linear: kernel 1 */
  int is_linear, relu;
  float* weight; /* folded */
  float* bias;   /* folded, or NULL */
  int8_t* qweight;
  float* weight_scales;
  size_t scale_count;
} layer;

static size_t layer_weights(const layer* l) {
  return l->out * (l->in / l->groups) * l->kernel * l->kernel;
}

/* Loads p_<name>_weight/bias and folds p_<bn>_* (bn may be NULL) with qeq_fold_batch_norm. */
static void layer_load(layer* l, const model_fixture* m, const char* bn) {
  char key[64];
  snprintf(key, sizeof key, "p_%s_weight", l->name);
  l->weight = param_copy(m, key, layer_weights(l));
  snprintf(key, sizeof key, "p_%s_bias", l->name);
  l->bias = golden_get(&m->float_case, key) != NULL ? param_copy(m, key, l->out) : NULL;
  if (bn == NULL) return;
  float* stats[4];
  const char* parts[4] = {"running_mean", "running_var", "weight", "bias"};
  for (int i = 0; i < 4; i++) {
    snprintf(key, sizeof key, "p_%s_%s", bn, parts[i]);
    stats[i] = param_copy(m, key, l->out);
  }
  qeq_layer desc;
  const size_t dims[4] = {l->out, l->in / l->groups, l->kernel, l->kernel};
  CHECK(qeq_layer_init(&desc, QEQ_LAYER_CONV2D, 4, dims, l->weight, l->bias, l->groups,
                       QEQ_ACTIVATION_NONE) == QEQ_OK,
        "%s: %s", l->name, qeq_last_error());
  const qeq_batch_norm norm = {l->out, stats[0], stats[1], stats[2], stats[3], 1e-5f};
  float* storage = l->bias == NULL ? malloc(l->out * sizeof(float)) : NULL;
  CHECK(qeq_fold_batch_norm(&desc, &norm, storage) == QEQ_OK, "fold %s: %s", l->name,
        qeq_last_error());
  l->bias = desc.bias;
  for (int i = 0; i < 4; i++) free(stats[i]);
}

/* Quantizes the folded weights with these scales (zero points 0, symmetric). */
static void layer_quantize_with(layer* l, size_t count, const float* scales) {
  free(l->weight_scales);
  free(l->qweight);
  l->scale_count = count;
  l->weight_scales = malloc(count * sizeof(float));
  memcpy(l->weight_scales, scales, count * sizeof(float));
  int32_t* zps = calloc(count, sizeof(int32_t));
  qeq_shape shape;
  const size_t dims[2] = {l->out, layer_weights(l) / l->out};
  CHECK(qeq_shape_init(&shape, 2, dims) == QEQ_OK, "shape");
  l->qweight = malloc(layer_weights(l));
  CHECK(qeq_quantize_f32(&shape, l->weight, 0, QEQ_DTYPE_QINT8, count, l->weight_scales, zps,
                         l->qweight) == QEQ_OK,
        "%s: %s", l->name, qeq_last_error());
  free(zps);
}

/* The weight observer of the qconfig, then qeq_quantize_f32 (what convert does). */
static void layer_quantize(layer* l, int per_channel) {
  qeq_observer_config cfg = qeq_observer_config_default(
      QEQ_DTYPE_QINT8, per_channel ? QEQ_PER_CHANNEL_SYMMETRIC : QEQ_PER_TENSOR_SYMMETRIC);
  qeq_observer* obs = NULL;
  CHECK(qeq_observer_create(&cfg, &obs) == QEQ_OK, "weight observer");
  qeq_shape shape;
  const size_t dims[2] = {l->out, layer_weights(l) / l->out};
  CHECK(qeq_shape_init(&shape, 2, dims) == QEQ_OK, "shape");
  CHECK(qeq_observer_update(obs, &shape, l->weight) == QEQ_OK, "%s", qeq_last_error());
  const size_t count = per_channel ? l->out : 1;
  float scales[16];
  int32_t zps[16];
  CHECK(count <= 16, "channels");
  CHECK(qeq_observer_qparams(obs, count, scales, zps, NULL) == QEQ_OK, "%s", qeq_last_error());
  for (size_t i = 0; i < count; i++) CHECK(zps[i] == 0, "symmetric zero point");
  layer_quantize_with(l, count, scales);
  qeq_observer_destroy(obs);
}

static void layer_free(layer* l) {
  free(l->weight);
  free(l->bias);
  free(l->qweight);
  free(l->weight_scales);
}

static void layer_float(const layer* l, size_t n, size_t h, size_t w, const float* x, float* y) {
  if (l->is_linear) {
    f32_linear_forward(n, l->in, l->out, l->weight, l->bias, x, y);
  } else {
    const f32_conv2d conv = {l->in,      l->out,     l->groups, l->kernel, l->kernel,
                             l->padding, l->padding, l->weight, l->bias};
    f32_conv2d_forward(&conv, n, h, w, x, y);
  }
}

/* The fields qeq_gemm_config and qeq_conv_config share, from a layer and its qparams. */
#define SET_QUANTIZED_LAYER(c, l, in, out, eng)                              \
  do {                                                                       \
    (c).weights = (l)->qweight;                                              \
    (c).quant.weight_qparam_count = (l)->scale_count;                        \
    (c).quant.weight_scales = (l)->weight_scales;                            \
    (c).quant.bias = (l)->bias;                                              \
    (c).quant.input_scale = (in).scale;                                      \
    (c).quant.input_zero_point = (in).zero_point;                            \
    (c).quant.output_scale = (out).scale;                                    \
    (c).quant.output_zero_point = (out).zero_point;                          \
    (c).quant.clamp = (l)->relu ? QEQ_GEMM_CLAMP_RELU : QEQ_GEMM_CLAMP_NONE; \
    (c).quant.engine = (eng);                                                \
  } while (0)

/* qeq's int8 layer: NHWC uint8 in, uint8 out (rows of `out` for Linear). */
/* The quantized ops follow the same engine as the layers (the enums share their values). */
static qeq_qops_engine qops_engine(qeq_gemm_engine engine) {
  return engine == QEQ_GEMM_ENGINE_QNNPACK ? QEQ_QOPS_ENGINE_QNNPACK : QEQ_QOPS_ENGINE_ONEDNN;
}

static void layer_int8(const layer* l, qeq_gemm_engine engine, act_qparams in, act_qparams out,
                       size_t n, size_t h, size_t w, const uint8_t* x, uint8_t* y,
                       pthreadpool_t pool) {
  if (l->is_linear) {
    qeq_gemm_config c = qeq_gemm_config_default();
    c.n = l->out;
    c.k = l->in;
    SET_QUANTIZED_LAYER(c, l, in, out, engine);
    qeq_gemm* g = NULL;
    CHECK(qeq_gemm_create(&c, &g) == QEQ_OK, "%s: %s", l->name, qeq_last_error());
    CHECK(qeq_gemm_run(g, n, x, l->in, y, l->out, pool) == QEQ_OK, "%s: %s", l->name,
          qeq_last_error());
    qeq_gemm_destroy(g);
    return;
  }
  qeq_conv_config c = qeq_conv_config_default();
  c.input_channels = l->in;
  c.output_channels = l->out;
  c.groups = l->groups;
  c.kernel_height = c.kernel_width = l->kernel;
  c.padding_height = c.padding_width = l->padding;
  SET_QUANTIZED_LAYER(c, l, in, out, engine);
  qeq_conv* conv = NULL;
  CHECK(qeq_conv_create(&c, &conv) == QEQ_OK, "%s: %s", l->name, qeq_last_error());
  CHECK(qeq_conv_run(conv, n, h, w, x, 0, y, 0, pool) == QEQ_OK, "%s: %s", l->name,
        qeq_last_error());
  qeq_conv_destroy(conv);
}

/* float NCHW -> quint8 NHWC with the input observer's qparams (the QuantStub). */
static void quantize_input(size_t n, size_t c, size_t h, size_t w, const float* x, act_qparams q,
                           uint8_t* y) {
  const size_t count = n * c * h * w;
  float* nhwc = malloc(count * sizeof *nhwc);
  CHECK(qeq_nchw_to_nhwc_f32(n, c, h, w, x, nhwc) == QEQ_OK, "%s", qeq_last_error());
  qeq_shape shape;
  CHECK(qeq_shape_init(&shape, 1, &count) == QEQ_OK, "shape");
  CHECK(
      qeq_quantize_f32(&shape, nhwc, 0, QEQ_DTYPE_QUINT8, 1, &q.scale, &q.zero_point, y) == QEQ_OK,
      "%s", qeq_last_error());
  free(nhwc);
}

/* ---- a model: layers, observed points, the float and int8 forward passes ---- */
typedef struct model model;
struct model {
  const char* prefix;
  size_t points; /* observed activations, in the order of `point_names` */
  const char* point_names[MAX_POINTS];
  size_t layer_count;
  layer layers[MAX_LAYERS];
  size_t out_per_sample; /* output elements per input sample (ModelMultipleOps: 2 rows of 6) */
  /* float pass over n samples, observing into obs[points] (entries may be NULL); y may be NULL */
  void (*float_forward)(const model* m, const model_fixture* f, size_t n, const float* x,
                        qeq_observer* const* obs, float* y);
  /* int8 pass; y receives the output quantized with qp[points - 1], in PyTorch's logical
   * (NCHW / row) order */
  void (*int8_forward)(const model* m, const model_fixture* f, const act_qparams* qp,
                       qeq_gemm_engine engine, size_t n, const float* x, uint8_t* y,
                       pthreadpool_t pool);
};

/* ModelMultipleOps: conv1+bn1+relu1 (fused), add the input, relu, adaptive average pool to
 * 4x4, conv2, max pool 2, cat [out, out] on the batch, reshape (-1, 12), fc. Observed: quant,
 * conv1, skip_add, conv2, cat, fc. */
static void mmo_float(const model* m, const model_fixture* f, size_t n, const float* x,
                      qeq_observer* const* obs, float* y) {
  const size_t hw = f->height * f->width, plane_count = n * 3;
  float* t1 = malloc(n * 3 * hw * sizeof(float));
  float* t2 = malloc(n * 3 * 16 * sizeof(float));
  float* t3 = malloc(n * 3 * 16 * sizeof(float));
  float* cat = malloc(2 * n * 12 * sizeof(float));
  float* out = malloc(2 * n * 6 * sizeof(float));
  observe(obs[0], n * 3 * hw, x);
  layer_float(&m->layers[0], n, f->height, f->width, x, t1);
  f32_relu(n * 3 * hw, t1);
  observe(obs[1], n * 3 * hw, t1);
  f32_add(n * 3 * hw, t1, x, t1);
  observe(obs[2], n * 3 * hw, t1);
  f32_relu(n * 3 * hw, t1);
  f32_adaptive_avg_pool2d(plane_count, f->height, f->width, 4, 4, t1, t2);
  layer_float(&m->layers[1], n, 4, 4, t2, t3);
  observe(obs[3], n * 3 * 16, t3);
  f32_max_pool2d(plane_count, 4, 4, 2, t3, cat);
  memcpy(cat + n * 12, cat, n * 12 * sizeof(float));
  observe(obs[4], 2 * n * 12, cat);
  layer_float(&m->layers[2], 2 * n, 1, 1, cat, out);
  observe(obs[5], 2 * n * 6, out);
  if (y != NULL) memcpy(y, out, 2 * n * 6 * sizeof(float));
  free(t1);
  free(t2);
  free(t3);
  free(cat);
  free(out);
}

static void mmo_int8(const model* m, const model_fixture* f, const act_qparams* qp,
                     qeq_gemm_engine engine, size_t n, const float* x, uint8_t* y,
                     pthreadpool_t pool) {
  const size_t h = f->height, w = f->width, hw = h * w;
  uint8_t* xq = malloc(n * 3 * hw);
  uint8_t* a = malloc(n * 3 * hw);
  uint8_t* s = malloc(n * 3 * hw);
  uint8_t* p = malloc(n * 3 * 16);
  uint8_t* c2 = malloc(n * 3 * 16);
  uint8_t* mp = malloc(n * 12);
  uint8_t* cat = malloc(2 * n * 12);
  uint8_t* rows = malloc(2 * n * 12);
  quantize_input(n, 3, h, w, x, qp[0], xq);
  layer_int8(&m->layers[0], engine, qp[0], qp[1], n, h, w, xq, a, pool);
  const qeq_q8_tensor ta =
      qeq_q8_tensor_make(n, h, w, 3, QEQ_DTYPE_QUINT8, qp[1].scale, qp[1].zero_point);
  const qeq_q8_tensor tx =
      qeq_q8_tensor_make(n, h, w, 3, QEQ_DTYPE_QUINT8, qp[0].scale, qp[0].zero_point);
  const qeq_q8_tensor ts =
      qeq_q8_tensor_make(n, h, w, 3, QEQ_DTYPE_QUINT8, qp[2].scale, qp[2].zero_point);
  CHECK(qeq_q8_add_ex(&ta, a, &tx, xq, &ts, s, qops_engine(engine)) == QEQ_OK, "add: %s",
        qeq_last_error());
  CHECK(qeq_q8_relu(&ts, s, &ts, a) == QEQ_OK, "relu: %s", qeq_last_error());
  const qeq_q8_tensor tp =
      qeq_q8_tensor_make(n, 4, 4, 3, QEQ_DTYPE_QUINT8, qp[2].scale, qp[2].zero_point);
  CHECK(qeq_q8_adaptive_avg_pool2d_ex(&ts, a, &tp, p, qops_engine(engine)) == QEQ_OK, "avgpool: %s",
        qeq_last_error());
  layer_int8(&m->layers[1], engine, qp[2], qp[3], n, 4, 4, p, c2, pool);
  const qeq_q8_tensor tc =
      qeq_q8_tensor_make(n, 4, 4, 3, QEQ_DTYPE_QUINT8, qp[3].scale, qp[3].zero_point);
  const qeq_q8_tensor tm =
      qeq_q8_tensor_make(n, 2, 2, 3, QEQ_DTYPE_QUINT8, qp[3].scale, qp[3].zero_point);
  const qeq_pool2d_params pool2 = qeq_pool2d_params_make(2, 2);
  CHECK(qeq_q8_max_pool2d(&tc, c2, &pool2, &tm, mp) == QEQ_OK, "maxpool: %s", qeq_last_error());
  const qeq_q8_tensor inputs[2] = {tm, tm};
  const void* inputs_data[2] = {mp, mp};
  const qeq_q8_tensor tcat =
      qeq_q8_tensor_make(2 * n, 2, 2, 3, QEQ_DTYPE_QUINT8, qp[4].scale, qp[4].zero_point);
  CHECK(qeq_q8_cat(2, inputs, inputs_data, QEQ_CAT_BATCH, &tcat, cat) == QEQ_OK, "cat: %s",
        qeq_last_error());
  /* reshape(-1, 12) reads PyTorch's logical NCHW order: row r = (c, h, w) of sample r */
  for (size_t r = 0; r < 2 * n; r++) {
    for (size_t c = 0; c < 3; c++) {
      for (size_t i = 0; i < 4; i++) rows[r * 12 + c * 4 + i] = cat[(r * 4 + i) * 3 + c];
    }
  }
  layer_int8(&m->layers[2], engine, qp[4], qp[5], 2 * n, 1, 1, rows, y, pool);
  free(xq);
  free(a);
  free(s);
  free(p);
  free(c2);
  free(mp);
  free(cat);
  free(rows);
}

/* A chain of convolutions (each with its folded batch norm and fused ReLU); observed: the
 * input, then every layer's output. The output is compared in PyTorch's NCHW order. */
static void chain_size(const model* m, size_t upto, size_t h, size_t w, size_t* oh, size_t* ow) {
  for (size_t i = 0; i < upto; i++) {
    h = h + 2 * m->layers[i].padding - m->layers[i].kernel + 1;
    w = w + 2 * m->layers[i].padding - m->layers[i].kernel + 1;
  }
  *oh = h;
  *ow = w;
}

static void chain_float(const model* m, const model_fixture* f, size_t n, const float* x,
                        qeq_observer* const* obs, float* y) {
  (void)y;
  size_t h = f->height, w = f->width;
  float* cur = malloc(n * f->sample * sizeof(float));
  memcpy(cur, x, n * f->sample * sizeof(float));
  observe(obs[0], n * f->sample, cur);
  for (size_t i = 0; i < m->layer_count; i++) {
    const layer* l = &m->layers[i];
    size_t oh, ow;
    chain_size(m, i + 1, f->height, f->width, &oh, &ow);
    float* next = malloc(n * l->out * oh * ow * sizeof(float));
    layer_float(l, n, h, w, cur, next);
    if (l->relu) f32_relu(n * l->out * oh * ow, next);
    observe(obs[i + 1], n * l->out * oh * ow, next);
    free(cur);
    cur = next;
    h = oh;
    w = ow;
  }
  free(cur);
}

static void chain_int8(const model* m, const model_fixture* f, const act_qparams* qp,
                       qeq_gemm_engine engine, size_t n, const float* x, uint8_t* y,
                       pthreadpool_t pool) {
  size_t h = f->height, w = f->width;
  uint8_t* cur = malloc(n * f->sample);
  quantize_input(n, f->channels, h, w, x, qp[0], cur);
  for (size_t i = 0; i < m->layer_count; i++) {
    const layer* l = &m->layers[i];
    size_t oh, ow;
    chain_size(m, i + 1, f->height, f->width, &oh, &ow);
    uint8_t* next = malloc(n * l->out * oh * ow);
    layer_int8(l, engine, qp[i], qp[i + 1], n, h, w, cur, next, pool);
    free(cur);
    cur = next;
    h = oh;
    w = ow;
  }
  const size_t o = m->layers[m->layer_count - 1].out;
  for (size_t b = 0; b < n; b++) { /* NHWC -> NCHW */
    for (size_t p = 0; p < h * w; p++) {
      for (size_t c = 0; c < o; c++) y[(b * o + c) * h * w + p] = cur[(b * h * w + p) * o + c];
    }
  }
  free(cur);
}

/* ---- the checks ---- */
static qeq_gemm_engine engine_of(const golden_case* c) {
  return golden_int(c, "engine") == 1 ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
}

static void pytorch_qparams(const model* m, const golden_case* c, act_qparams* qp) {
  char key[64];
  for (size_t i = 0; i < m->points; i++) {
    snprintf(key, sizeof key, "act_%s", m->point_names[i]);
    const golden_field* f = need(c, key);
    qp[i].scale = (float)f->values[2];
    qp[i].zero_point = (int32_t)f->values[3];
  }
}

/* b: qeq's observers over the C calibration pass against PyTorch's; returns qeq's qparams. */
static void calibrate(const model* m, const model_fixture* f, act_qparams* qp) {
  qeq_observer* obs[MAX_POINTS];
  for (size_t i = 0; i < m->points; i++) obs[i] = activation_observer();
  m->float_forward(m, f, f->n_calib, f->calib, obs, NULL);
  size_t exact = 0;
  for (size_t i = 0; i < m->points; i++) {
    float mn, mx;
    CHECK(qeq_observer_minmax(obs[i], 1, &mn, &mx) == QEQ_OK, "minmax");
    CHECK(qeq_observer_qparams(obs[i], 1, &qp[i].scale, &qp[i].zero_point, NULL) == QEQ_OK,
          "qparams: %s", qeq_last_error());
    char key[64];
    snprintf(key, sizeof key, "act_%s", m->point_names[i]);
    for (int e = 0; e < 2; e++) { /* the float pass is the same for both engines */
      const golden_field* want = need(&f->extra[e], key);
      CHECK(mn == (float)want->values[0] && mx == (float)want->values[1],
            "%s %s: observed [%a, %a], PyTorch [%a, %a]", m->prefix, key, (double)mn, (double)mx,
            want->values[0], want->values[1]);
      CHECK(qp[i].scale == (float)want->values[2] && qp[i].zero_point == want->values[3],
            "%s %s: qparams %a %d, PyTorch %a %d", m->prefix, key, (double)qp[i].scale,
            qp[i].zero_point, want->values[2], (int)want->values[3]);
    }
    exact++;
    qeq_observer_destroy(obs[i]);
  }
  printf("%s: %zu of %zu activation observers give PyTorch's min/max and qparams exactly\n",
         m->prefix, exact, m->points);
}

static void check_weight_qparams(const model* m, const golden_case* c) {
  char key[64];
  for (size_t i = 0; i < m->layer_count; i++) {
    const layer* l = &m->layers[i];
    snprintf(key, sizeof key, "w_%s", l->name);
    const golden_field* f = need(c, key);
    CHECK(f->count == l->scale_count, "%s: %zu weight scales", key, f->count);
    for (size_t j = 0; j < f->count; j++) {
      CHECK(l->weight_scales[j] == (float)f->values[j], "%s %s[%zu]: %a, PyTorch %a", m->prefix,
            key, j, (double)l->weight_scales[j], f->values[j]);
    }
  }
}

static void compare_int8(const model* m, const char* what, const uint8_t* got,
                         const golden_field* want, size_t count) {
  CHECK(want->count == count, "%s %s: %zu outputs, want %zu", m->prefix, what, want->count, count);
  size_t bad = 0, first = count;
  for (size_t i = 0; i < count; i++) {
    if (got[i] != (uint8_t)want->values[i]) {
      if (bad++ == 0) first = i;
    }
  }
  CHECK(bad == 0, "%s %s: %zu of %zu int8 outputs differ from PyTorch's (first at %zu: %u vs %d)",
        m->prefix, what, bad, count, first, got[first < count ? first : 0],
        (int)want->values[first < count ? first : 0]);
}

/* a: PyTorch's qparams -> PyTorch's int8 outputs, under every cap, 1 and 2 threads. */
static size_t check_bit_exact(const model* m, const model_fixture* f, const golden_case* c,
                              const act_qparams* qp) {
  const qeq_gemm_engine engine = engine_of(c);
  const golden_field* y_eval = need(c, "y_eval");
  const golden_field* y_subset = need(c, "y_subset");
  const size_t subset = y_subset->count / m->out_per_sample;
  uint8_t* got = malloc((f->n_eval > subset ? f->n_eval : subset) * m->out_per_sample);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  size_t runs = 0;
  /* one thread under every cap, then two threads under the best one (a pool's spinning
   * workers cost more than these small layers, above all under qemu) */
  for (size_t t = 0; t <= n_isas; t++) {
    pthreadpool_t pool = NULL;
    if (t < n_isas) {
      CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap");
    } else {
      qeq_clear_isa_cap();
      pool = pthreadpool_create(2);
    }
    m->int8_forward(m, f, qp, engine, f->n_eval, f->eval, got, pool);
    compare_int8(m, c->name, got, y_eval, f->n_eval * m->out_per_sample);
    m->int8_forward(m, f, qp, engine, subset, f->calib, got, pool);
    compare_int8(m, c->name, got, y_subset, subset * m->out_per_sample);
    runs++;
    pthreadpool_destroy(pool);
  }
  qeq_clear_isa_cap();
  /* how much the engine convention matters here: the other engine's outputs */
  const qeq_gemm_engine other =
      engine == QEQ_GEMM_ENGINE_ONEDNN ? QEQ_GEMM_ENGINE_QNNPACK : QEQ_GEMM_ENGINE_ONEDNN;
  m->int8_forward(m, f, qp, other, subset, f->calib, got, NULL);
  size_t differ = 0;
  for (size_t i = 0; i < y_subset->count; i++) differ += got[i] != (uint8_t)y_subset->values[i];
  char caps[128] = "";
  for (size_t t = 0; t < n_isas; t++) {
    strncat(caps, qeq_isa_name(isas[t]), sizeof caps - strlen(caps) - 2);
    strncat(caps, t + 1 < n_isas ? "," : "", sizeof caps - strlen(caps) - 1);
  }
  printf(
      "%s: identical under the caps %s (1 thread), the best with 2 threads; the other engine's "
      "convention "
      "gives %zu of %zu calibration-sample outputs differently\n",
      c->name, caps, differ, y_subset->count);
  free(got);
  return (f->n_eval + subset) * m->out_per_sample * runs;
}

/* b: qeq's own qparams -> SQNR of the dequantized output against PyTorch's float model. */
static double check_sqnr(const model* m, const model_fixture* f, const golden_case* c,
                         const act_qparams* qp, double spec_db, double bar_db) {
  const size_t count = f->n_eval * m->out_per_sample;
  uint8_t* q = malloc(count);
  float* deq = malloc(count * sizeof(float));
  float* ref = malloc(count * sizeof(float));
  m->int8_forward(m, f, qp, engine_of(c), f->n_eval, f->eval, q, NULL);
  const size_t one = 1;
  qeq_shape shape;
  CHECK(qeq_shape_init(&shape, 1, &count) == QEQ_OK, "shape");
  const act_qparams out = qp[m->points - 1];
  CHECK(qeq_dequantize_f32(&shape, q, 0, QEQ_DTYPE_QUINT8, one, &out.scale, &out.zero_point, deq) ==
            QEQ_OK,
        "%s", qeq_last_error());
  CHECK(need(&f->float_case, "y_float")->count == count, "y_float");
  golden_floats(&f->float_case, "y_float", ref, count);
  double db = 0;
  CHECK(qeq_sqnr_f32(count, ref, deq, &db) == QEQ_OK, "%s", qeq_last_error());
  const double torch_db = need(c, "sqnr")->values[0];
  CHECK(fabs(db - torch_db) < 0.01, "%s: SQNR %.4f dB, PyTorch %.4f dB", c->name, db, torch_db);
  if (spec_db > 0)
    CHECK(fabs(db - spec_db) < 0.01,
          "%s: SQNR %.4f, reference %.3f (docs/numerics.md#model-numerics-sqnr)", c->name, db,
          spec_db);
  CHECK(db > bar_db, "%s: SQNR %.4f dB under the bar %.1f", c->name, db, bar_db);
  free(q);
  free(deq);
  free(ref);
  return db;
}

static void run_model(model* m, model_fixture* fixture, int per_channel, double spec_db,
                      double bar_db) {
  model_fixture f = *fixture;
  for (size_t i = 0; i < m->layer_count; i++) layer_quantize(&m->layers[i], per_channel);
  act_qparams qp[MAX_POINTS];
  calibrate(m, &f, qp);
  for (int e = 0; e < 2; e++) {
    const golden_case* c = &f.extra[e];
    check_weight_qparams(m, c);
    act_qparams torch_qp[MAX_POINTS];
    pytorch_qparams(m, c, torch_qp);
    const size_t outputs = check_bit_exact(m, &f, c, torch_qp);
    const double db = check_sqnr(m, &f, c, qp, spec_db, bar_db);
    printf(
        "%s: %zu int8 outputs identical to PyTorch's; SQNR with qeq's qparams %.4f dB "
        "(PyTorch %.4f)\n",
        c->name, outputs, db, need(c, "sqnr")->values[0]);
  }
  for (size_t i = 0; i < m->layer_count; i++) layer_free(&m->layers[i]);
  free_model(&f);
}

static model model_multiple_ops(const char* prefix, const model_fixture* f) {
  model m = {prefix,    6,       {"quant", "conv1", "skip_add", "conv2", "cat", "fc"}, 3, {{0}}, 12,
             mmo_float, mmo_int8};
  m.layers[0] = (layer){.name = "conv1", .out = 3, .in = 3, .kernel = 1, .groups = 1, .relu = 1};
  m.layers[1] = (layer){.name = "conv2", .out = 3, .in = 3, .kernel = 1, .groups = 1};
  m.layers[2] = (layer){.name = "fc", .out = 6, .in = 12, .kernel = 1, .groups = 1, .is_linear = 1};
  layer_load(&m.layers[0], f, "bn1");
  layer_load(&m.layers[1], f, NULL);
  layer_load(&m.layers[2], f, NULL);
  return m;
}

static void test_model_multiple_ops(const char* prefix, int per_channel, double spec_db,
                                    double bar_db) {
  model_fixture f;
  load_model(&f, prefix, 2);
  model m = model_multiple_ops(prefix, &f);
  run_model(&m, &f, per_channel, spec_db, bar_db);
}

static void test_mmo_per_tensor(void** state) {
  (void)state;
  test_model_multiple_ops("mmo_pt", 0, 41.496, 30.0);
}

static void test_mmo_per_channel(void** state) {
  (void)state;
  test_model_multiple_ops("mmo_pc", 1, 39.976, 35.0);
}

/* name, out, in, kernel, padding, groups, relu, batch norm */
typedef struct chain_spec {
  const char* name;
  size_t out, in, kernel, padding, groups;
  int relu;
  const char* bn;
} chain_spec;

static void test_chain(const char* prefix, const chain_spec* specs, size_t count, int per_channel) {
  model_fixture f;
  load_model(&f, prefix, 2);
  model m = {prefix, count + 1, {"quant"}, count, {{0}}, 0, chain_float, chain_int8};
  for (size_t i = 0; i < count; i++) {
    const chain_spec* s = &specs[i];
    m.point_names[i + 1] = s->name;
    m.layers[i] = (layer){.name = s->name,
                          .out = s->out,
                          .in = s->in,
                          .kernel = s->kernel,
                          .padding = s->padding,
                          .groups = s->groups,
                          .relu = s->relu};
    layer_load(&m.layers[i], &f, s->bn);
  }
  size_t oh, ow;
  chain_size(&m, count, f.height, f.width, &oh, &ow);
  m.out_per_sample = specs[count - 1].out * oh * ow;
  run_model(&m, &f, per_channel, 0, 30.0);
}

/* ConvReluConvModel (docs/numerics.md#model-list), fused [fc1, relu], default_qconfig. */
static void test_conv_relu_conv(void** state) {
  (void)state;
  const chain_spec specs[] = {{"fc1", 5, 3, 3, 0, 1, 1, NULL}, {"fc2", 5, 5, 1, 0, 1, 0, NULL}};
  test_chain("crc", specs, 2, 0);
}

/* ModelForFusionWithBias (docs/numerics.md#model-list), fused [conv1, bn1, relu1], [conv2, bn2],
 * per channel. */
static void test_fusion_with_bias(void** state) {
  (void)state;
  const chain_spec specs[] = {{"conv1", 2, 3, 5, 0, 1, 1, "bn1"},
                              {"conv2", 2, 2, 1, 0, 1, 0, "bn2"}};
  test_chain("ffwb", specs, 2, 1);
}

/* A depthwise-separable block (models_cases.py): 3x3 depthwise + BN + ReLU, 1x1 + BN + ReLU,
 * random batch-norm statistics, per channel. */
static void test_depthwise_separable(void** state) {
  (void)state;
  const chain_spec specs[] = {{"dw", 4, 4, 3, 1, 4, 1, "bn1"}, {"pw", 6, 4, 1, 0, 1, 1, "bn2"}};
  test_chain("dws", specs, 2, 1);
}

/* ---- ModelMultipleOpsNoAvgPool and fake quantization (docs/numerics.md#default-qconfigs,
 * docs/numerics.md#fake-quantize, docs/numerics.md#model-numerics-sqnr) ----
 * QAT as PyTorch 1.13 runs it after fuse_modules_qat / prepare_qat / freeze_bn_stats: conv1 is
 * a ConvBnReLU2d that keeps its batch norm: sf = gamma / sqrt(var + eps), the weights W * sf
 * are fake-quantized, the convolution runs with a zero bias, its output is divided by sf and
 * goes through the eval batch norm (x * alpha + (beta - mean * alpha), alpha = gamma / sqrt)
 * and the ReLU. conv2 is called twice (on the input, then after the max pool), so its output
 * observer sees two batches. Observers are moving-average ones (c = 0.01), activations
 * quint8 [0, 127], weights qint8 symmetric; the converted model folds the batch norm
 * (qeq_fold_batch_norm) and quantizes with the fake quantizers' qparams. */
enum { NAP_QUANT, NAP_CONV1, NAP_CONV2, NAP_ADD, NAP_CAT, NAP_FC, NAP_POINTS };
static const char* const nap_act_keys[NAP_POINTS] = {
    "fq_quant_act", "fq_conv1_act", "fq_conv2_act", "fq_skip_add_act", "fq_cat_act", "fq_fc_act"};
enum { NAP_W1, NAP_W2, NAP_WFC, NAP_WEIGHTS };
static const char* const nap_weight_keys[NAP_WEIGHTS] = {"fq_conv1_wfq", "fq_conv2_wfq",
                                                         "fq_fc_wfq"};

typedef struct nap_params {
  float *w1, *w2, *wfc, *bfc, *mean, *var, *gamma, *beta; /* as PyTorch holds them */
} nap_params;

/* Which fake quantizers run and with what qparams (qat: both; weight-only; activation-only). */
typedef struct nap_fake_quant {
  int weights, activations;
  act_qparams act[NAP_POINTS];
  float weight_scale[NAP_WEIGHTS];
} nap_fake_quant;

/* Observers of the calibration pass (entries NULL where the qconfig has none). */
typedef struct nap_observers {
  qeq_observer* act[NAP_POINTS];
  qeq_observer* weight[NAP_WEIGHTS];
} nap_observers;

static void nap_load(nap_params* p, const model_fixture* f) {
  p->w1 = param_copy(f, "p_conv1_weight", 9);
  p->w2 = param_copy(f, "p_conv2_weight", 9);
  p->wfc = param_copy(f, "p_fc_weight", 72);
  p->bfc = param_copy(f, "p_fc_bias", 6);
  p->mean = param_copy(f, "p_bn1_running_mean", 3);
  p->var = param_copy(f, "p_bn1_running_var", 3);
  p->gamma = param_copy(f, "p_bn1_weight", 3);
  p->beta = param_copy(f, "p_bn1_bias", 3);
}

static void nap_free(nap_params* p) {
  float* all[] = {p->w1, p->w2, p->wfc, p->bfc, p->mean, p->var, p->gamma, p->beta};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

static void fake_quant(size_t count, float* x, float scale, int32_t zp, int32_t lo, int32_t hi) {
  qeq_shape shape;
  CHECK(qeq_shape_init(&shape, 1, &count) == QEQ_OK, "shape");
  CHECK(qeq_fake_quantize_f32(&shape, x, 0, 1, &scale, &zp, lo, hi, x) == QEQ_OK, "%s",
        qeq_last_error());
}

/* FakeQuantize.forward on an activation: observe (calibration) or fake-quantize [0, 127]. */
static void nap_act(const nap_fake_quant* fq, const nap_observers* obs, int point, size_t count,
                    float* x) {
  if (obs != NULL) observe(obs->act[point], count, x);
  if (fq != NULL && fq->activations) {
    fake_quant(count, x, fq->act[point].scale, fq->act[point].zero_point, 0, 127);
  }
}

/* The same on a weight tensor (a copy in w). */
static void nap_weight(const nap_fake_quant* fq, const nap_observers* obs, int index, size_t count,
                       float* w) {
  if (obs != NULL) observe(obs->weight[index], count, w);
  if (fq != NULL && fq->weights) fake_quant(count, w, fq->weight_scale[index], 0, -128, 127);
}

static void conv1x1(const float* w, size_t n, size_t hw, const float* x, float* y) {
  const f32_conv2d conv = {3, 3, 1, 1, 1, 0, 0, w, NULL};
  f32_conv2d_forward(&conv, n, hw, hw, x, y);
}

/* The prepared QAT model's forward on n samples (n even): fq NULL during calibration. */
static void nap_fake_quant_forward(const nap_params* p, const nap_fake_quant* fq,
                                   const nap_observers* obs, size_t n, const float* x_in,
                                   float* y) {
  const size_t hw = 15 * 15, count = n * 3 * hw;
  float* x = malloc(count * sizeof(float));
  float* t = malloc(count * sizeof(float));
  float* s = malloc(count * sizeof(float));
  float* pooled = malloc(n * 27 * sizeof(float));
  float* c2 = malloc(n * 27 * sizeof(float));
  float* cat = malloc(2 * n * 3 * sizeof(float));
  memcpy(x, x_in, count * sizeof(float));
  nap_act(fq, obs, NAP_QUANT, count, x);
  float sf[3], alpha[3], shift[3], w1[9], w2[9], wfc[72];
  for (size_t o = 0; o < 3; o++) {
    sf[o] = p->gamma[o] / sqrtf(p->var[o] + 1e-5f);
    alpha[o] = 1.0f / sqrtf(p->var[o] + 1e-5f) * p->gamma[o];
    shift[o] = p->beta[o] - p->mean[o] * alpha[o];
    for (size_t c = 0; c < 3; c++) w1[o * 3 + c] = p->w1[o * 3 + c] * sf[o];
  }
  nap_weight(fq, obs, NAP_W1, 9, w1);
  conv1x1(w1, n, 15, x, t);
  for (size_t i = 0; i < count; i++) {
    const size_t o = i / hw % 3;
    const float v = t[i] / sf[o] * alpha[o] + shift[o];
    t[i] = v > 0.0f ? v : 0.0f;
  }
  nap_act(fq, obs, NAP_CONV1, count, t);
  memcpy(w2, p->w2, sizeof w2);
  nap_weight(fq, obs, NAP_W2, 9, w2);
  conv1x1(w2, n, 15, x, s);
  nap_act(fq, obs, NAP_CONV2, count, s);
  f32_add(count, t, s, t);
  nap_act(fq, obs, NAP_ADD, count, t);
  f32_relu(count, t);
  f32_max_pool2d(n * 3, 15, 15, 4, t, pooled);
  memcpy(w2, p->w2, sizeof w2); /* the same module again: its weight observer sees it twice */
  nap_weight(fq, obs, NAP_W2, 9, w2);
  conv1x1(w2, n, 3, pooled, c2);
  nap_act(fq, obs, NAP_CONV2, n * 27, c2);
  f32_max_pool2d(n * 3, 3, 3, 2, c2, cat);
  memcpy(cat + n * 3, cat, n * 3 * sizeof(float));
  nap_act(fq, obs, NAP_CAT, 2 * n * 3, cat);
  memcpy(wfc, p->wfc, sizeof wfc);
  nap_weight(fq, obs, NAP_WFC, 72, wfc);
  f32_linear_forward(n / 2, 12, 6, wfc, p->bfc, cat, y);
  nap_act(fq, obs, NAP_FC, n / 2 * 6, y);
  free(x);
  free(t);
  free(s);
  free(pooled);
  free(c2);
  free(cat);
}

/* The converted model in int8 (layers: conv1 folded, conv2, fc); qp in NAP order. */
static void nap_int8(const model* m, const model_fixture* f, const act_qparams* qp,
                     qeq_gemm_engine engine, size_t n, const float* x, uint8_t* y,
                     pthreadpool_t pool) {
  (void)f;
  const size_t pixels = n * 15 * 15;
  uint8_t* xq = malloc(pixels * 3);
  uint8_t* a = malloc(pixels * 3);
  uint8_t* s = malloc(pixels * 3);
  uint8_t* sum = malloc(pixels * 3);
  uint8_t* pooled = malloc(n * 27);
  uint8_t* c2 = malloc(n * 27);
  uint8_t* mp = malloc(n * 3);
  uint8_t* cat = malloc(2 * n * 3);
  quantize_input(n, 3, 15, 15, x, qp[NAP_QUANT], xq);
  layer_int8(&m->layers[0], engine, qp[NAP_QUANT], qp[NAP_CONV1], n, 15, 15, xq, a, pool);
  layer_int8(&m->layers[1], engine, qp[NAP_QUANT], qp[NAP_CONV2], n, 15, 15, xq, s, pool);
  const act_qparams q1 = qp[NAP_CONV1], q2 = qp[NAP_CONV2], qa = qp[NAP_ADD], qc = qp[NAP_CAT];
  const qeq_q8_tensor ta =
      qeq_q8_tensor_make(n, 15, 15, 3, QEQ_DTYPE_QUINT8, q1.scale, q1.zero_point);
  const qeq_q8_tensor tsk =
      qeq_q8_tensor_make(n, 15, 15, 3, QEQ_DTYPE_QUINT8, q2.scale, q2.zero_point);
  const qeq_q8_tensor tsum =
      qeq_q8_tensor_make(n, 15, 15, 3, QEQ_DTYPE_QUINT8, qa.scale, qa.zero_point);
  CHECK(qeq_q8_add_ex(&ta, a, &tsk, s, &tsum, sum, qops_engine(engine)) == QEQ_OK, "add: %s",
        qeq_last_error());
  CHECK(qeq_q8_relu(&tsum, sum, &tsum, a) == QEQ_OK, "relu: %s", qeq_last_error());
  const qeq_q8_tensor tp =
      qeq_q8_tensor_make(n, 3, 3, 3, QEQ_DTYPE_QUINT8, qa.scale, qa.zero_point);
  const qeq_pool2d_params pool4 = qeq_pool2d_params_make(4, 4);
  CHECK(qeq_q8_max_pool2d(&tsum, a, &pool4, &tp, pooled) == QEQ_OK, "%s", qeq_last_error());
  layer_int8(&m->layers[1], engine, qa, q2, n, 3, 3, pooled, c2, pool);
  const qeq_q8_tensor tc =
      qeq_q8_tensor_make(n, 3, 3, 3, QEQ_DTYPE_QUINT8, q2.scale, q2.zero_point);
  const qeq_q8_tensor tm =
      qeq_q8_tensor_make(n, 1, 1, 3, QEQ_DTYPE_QUINT8, q2.scale, q2.zero_point);
  const qeq_pool2d_params pool2 = qeq_pool2d_params_make(2, 2);
  CHECK(qeq_q8_max_pool2d(&tc, c2, &pool2, &tm, mp) == QEQ_OK, "%s", qeq_last_error());
  const qeq_q8_tensor inputs[2] = {tm, tm};
  const void* inputs_data[2] = {mp, mp};
  const qeq_q8_tensor tcat =
      qeq_q8_tensor_make(2 * n, 1, 1, 3, QEQ_DTYPE_QUINT8, qc.scale, qc.zero_point);
  CHECK(qeq_q8_cat(2, inputs, inputs_data, QEQ_CAT_BATCH, &tcat, cat) == QEQ_OK, "cat: %s",
        qeq_last_error());
  /* [2n, 3, 1, 1] reshaped to (-1, 12): NHWC and NCHW coincide at 1x1 */
  layer_int8(&m->layers[2], engine, qc, qp[NAP_FC], n / 2, 1, 1, cat, y, pool);
  uint8_t* all[] = {xq, a, s, sum, pooled, c2, mp, cat};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

static void nap_observers_create(nap_observers* obs, int weights, int activations) {
  memset(obs, 0, sizeof *obs);
  qeq_observer_config act = qeq_observer_config_default(QEQ_DTYPE_QUINT8, QEQ_PER_TENSOR_AFFINE);
  act.reduce_range = 1; /* default_qat_qconfig: quint8 [0, 255] reduced to [0, 127] */
  act.averaging_constant = 0.01f;
  qeq_observer_config w = qeq_observer_config_default(QEQ_DTYPE_QINT8, QEQ_PER_TENSOR_SYMMETRIC);
  w.averaging_constant = 0.01f;
  for (int i = 0; activations && i < NAP_POINTS; i++) {
    CHECK(qeq_observer_create(&act, &obs->act[i]) == QEQ_OK, "%s", qeq_last_error());
  }
  for (int i = 0; weights && i < NAP_WEIGHTS; i++) {
    CHECK(qeq_observer_create(&w, &obs->weight[i]) == QEQ_OK, "%s", qeq_last_error());
  }
}

static void nap_observers_destroy(nap_observers* obs) {
  for (int i = 0; i < NAP_POINTS; i++) qeq_observer_destroy(obs->act[i]);
  for (int i = 0; i < NAP_WEIGHTS; i++) qeq_observer_destroy(obs->weight[i]);
}

/* One observer against PyTorch's fake quantizer ([min, max, scale, zp]); returns the scale. */
static act_qparams nap_compare_observer(const golden_case* c, const char* key,
                                        const qeq_observer* obs) {
  act_qparams q;
  float mn, mx;
  CHECK(qeq_observer_minmax(obs, 1, &mn, &mx) == QEQ_OK, "minmax");
  CHECK(qeq_observer_qparams(obs, 1, &q.scale, &q.zero_point, NULL) == QEQ_OK, "%s",
        qeq_last_error());
  const golden_field* want = need(c, key);
  CHECK(mn == (float)want->values[0] && mx == (float)want->values[1],
        "%s %s: observed [%a, %a], PyTorch [%a, %a]", c->name, key, (double)mn, (double)mx,
        want->values[0], want->values[1]);
  CHECK(q.scale == (float)want->values[2] && q.zero_point == (int32_t)want->values[3],
        "%s %s: qparams %a %d, PyTorch %a %d", c->name, key, (double)q.scale, q.zero_point,
        want->values[2], (int)want->values[3]);
  return q;
}

/* Calibrates with qeq's observers (asserted equal to PyTorch's fake quantizers) and fills fq. */
static void nap_calibrate(const nap_params* p, const model_fixture* f, const golden_case* c,
                          int weights, int activations, nap_fake_quant* fq) {
  nap_observers obs;
  nap_observers_create(&obs, weights, activations);
  /* one pass over all of the data: PyTorch calibrates with one batch, and moving averages
   * depend on the batching */
  float* y = malloc(f->n_calib / 2 * 6 * sizeof(float));
  nap_fake_quant_forward(p, NULL, &obs, f->n_calib, f->calib, y);
  free(y);
  memset(fq, 0, sizeof *fq);
  fq->weights = weights;
  fq->activations = activations;
  for (int i = 0; activations && i < NAP_POINTS; i++) {
    fq->act[i] = nap_compare_observer(c, nap_act_keys[i], obs.act[i]);
  }
  for (int i = 0; weights && i < NAP_WEIGHTS; i++) {
    fq->weight_scale[i] = nap_compare_observer(c, nap_weight_keys[i], obs.weight[i]).scale;
  }
  nap_observers_destroy(&obs);
}

static double nap_sqnr(const model_fixture* f, const float* y) {
  const size_t count = f->n_eval / 2 * 6;
  float* ref = malloc(count * sizeof(float));
  golden_floats(&f->float_case, "y_float", ref, count);
  double db = 0;
  CHECK(qeq_sqnr_f32(count, ref, y, &db) == QEQ_OK, "%s", qeq_last_error());
  free(ref);
  return db;
}

/* c: QAT-style fake quantization vs float (36.365 dB), the converted model bit for bit
 * against PyTorch's (its qparams) and against qeq's own fake-quant forward (qeq's). */
static void test_fake_quant_true_quant(void** state) {
  (void)state;
  model_fixture f;
  load_model(&f, "nap", 3); /* nap_qat, nap_onednn, nap_qnnpack */
  nap_params p;
  nap_load(&p, &f);
  const golden_case* qat = &f.extra[0];
  nap_fake_quant fq;
  nap_calibrate(&p, &f, qat, 1, 1, &fq);
  const size_t count = f.n_eval / 2 * 6;
  float* y = malloc(count * sizeof(float));
  float* torch_fq = malloc(count * sizeof(float));
  nap_fake_quant_forward(&p, &fq, NULL, f.n_eval, f.eval, y);
  golden_floats(qat, "y_fq", torch_fq, count);
  size_t same = 0;
  for (size_t i = 0; i < count; i++) same += same_bits(y[i], torch_fq[i]);
  const double db = nap_sqnr(&f, y), torch_db = need(qat, "sqnr")->values[0];
  CHECK(fabs(db - torch_db) < 0.01 && fabs(db - 36.365) < 0.01 && db > 35.0,
        "QAT fake quant vs float %.4f dB, PyTorch %.4f, reference 36.365 "
        "(docs/numerics.md#model-numerics-sqnr)",
        db, torch_db);
  printf(
      "nap_qat: fake quant vs float %.4f dB (PyTorch %.4f); %zu of %zu outputs carry "
      "PyTorch's fake-quant bits\n",
      db, torch_db, same, count);
  /* the converted model: conv1 folded as convert folds it, weights with the fake quantizers'
   * scales */
  model m = {"nap", NAP_POINTS, {0}, 3, {{0}}, 3, NULL, nap_int8};
  m.layers[0] = (layer){.name = "conv1", .out = 3, .in = 3, .kernel = 1, .groups = 1, .relu = 1};
  m.layers[1] = (layer){.name = "conv2", .out = 3, .in = 3, .kernel = 1, .groups = 1};
  m.layers[2] = (layer){.name = "fc", .out = 6, .in = 12, .kernel = 1, .groups = 1, .is_linear = 1};
  layer_load(&m.layers[0], &f, "bn1");
  layer_load(&m.layers[1], &f, NULL);
  layer_load(&m.layers[2], &f, NULL);
  for (int i = 0; i < NAP_WEIGHTS; i++) layer_quantize_with(&m.layers[i], 1, &fq.weight_scale[i]);
  for (int e = 1; e <= 2; e++) {
    const size_t outputs = check_bit_exact(&m, &f, &f.extra[e], fq.act);
    /* qeq's int8 model against qeq's fake-quant forward, same qparams: identical values */
    uint8_t* q = malloc(count);
    float* deq = malloc(count * sizeof(float));
    m.int8_forward(&m, &f, fq.act, engine_of(&f.extra[e]), f.n_eval, f.eval, q, NULL);
    qeq_shape shape;
    CHECK(qeq_shape_init(&shape, 1, &count) == QEQ_OK, "shape");
    const act_qparams out = fq.act[NAP_FC];
    CHECK(qeq_dequantize_f32(&shape, q, 0, QEQ_DTYPE_QUINT8, 1, &out.scale, &out.zero_point, deq) ==
              QEQ_OK,
          "%s", qeq_last_error());
    for (size_t i = 0; i < count; i++) {
      CHECK(same_bits(deq[i], y[i]), "%s: true quant %a vs fake quant %a at %zu", f.extra[e].name,
            (double)deq[i], (double)y[i], i);
    }
    printf(
        "%s: %zu int8 outputs identical to PyTorch's converted QAT model; qeq's int8 model "
        "dequantized equals its fake-quant forward (%zu values)\n",
        f.extra[e].name, outputs, count);
    free(q);
    free(deq);
  }
  for (int i = 0; i < 3; i++) layer_free(&m.layers[i]);
  free(y);
  free(torch_fq);
  nap_free(&p);
  free_model(&f);
}

/* c: weight-only (48.796 dB) and activation-only (39.932 dB) fake quantization vs float. */
static void test_weight_only_activation_only(void** state) {
  (void)state;
  model_fixture f;
  load_model(&f, "napw", 2); /* napw_wonly, napw_aonly */
  nap_params p;
  nap_load(&p, &f);
  const double spec[2] = {48.796, 39.932};
  float* y = malloc(f.n_eval / 2 * 6 * sizeof(float));
  for (int mode = 0; mode < 2; mode++) {
    const golden_case* c = &f.extra[mode];
    nap_fake_quant fq;
    nap_calibrate(&p, &f, c, mode == 0, mode == 1, &fq);
    nap_fake_quant_forward(&p, &fq, NULL, f.n_eval, f.eval, y);
    const double db = nap_sqnr(&f, y), torch_db = need(c, "sqnr")->values[0];
    CHECK(fabs(db - torch_db) < 0.01 && fabs(db - spec[mode]) < 0.01 && db > 35.0,
          "%s: %.4f dB, PyTorch %.4f, reference %.3f (docs/numerics.md#model-numerics-sqnr)",
          c->name, db, torch_db, spec[mode]);
    printf("%s: fake quant vs float %.4f dB (PyTorch %.4f)\n", c->name, db, torch_db);
  }
  free(y);
  nap_free(&p);
  free_model(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mmo_per_tensor),
      cmocka_unit_test(test_mmo_per_channel),
      cmocka_unit_test(test_conv_relu_conv),
      cmocka_unit_test(test_fusion_with_bias),
      cmocka_unit_test(test_depthwise_separable),
      cmocka_unit_test(test_fake_quant_true_quant),
      cmocka_unit_test(test_weight_only_activation_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
