/* Fuzzes the quantized ops (qeq/qops.h): fuzzed descriptors (sizes, pixel strides, dtypes,
 * scales, zero points), pooling windows and cat lists on buffers that may be NULL, short or
 * overlapping, under a fuzzed engine (add, the average pools: the _ex entry points; onednn
 * when the input runs out, so older inputs keep their meaning; likewise hardsigmoid's slot
 * runs sigmoid on a last byte that is odd); every call must refuse cleanly or give the scalar
 * path's bits. */
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

enum { OPS = 13, MAX_INPUTS = 3 };

typedef struct args {
  int op;
  qeq_q8_tensor x, b, y;
  qeq_q8_tensor inputs[MAX_INPUTS];
  const void* inputs_data[MAX_INPUTS];
  size_t count;
  int axis;
  qeq_pool2d_params pool;
  float min_val, max_val;
  const void *x_data, *b_data;
  void* y_data;
  qeq_qops_engine engine;
  int sigmoid; /* op 10: qeq_q8_sigmoid instead of qeq_q8_hardsigmoid */
} args;

static qeq_status call(void* p) {
  args* a = p;
  switch (a->op) {
    case 0: return qeq_q8_add_ex(&a->x, a->x_data, &a->b, a->b_data, &a->y, a->y_data, a->engine);
    case 1:
      return qeq_q8_add_relu_ex(&a->x, a->x_data, &a->b, a->b_data, &a->y, a->y_data, a->engine);
    case 2:
      return qeq_q8_cat(a->count, a->inputs, a->inputs_data, (qeq_cat_axis)a->axis, &a->y,
                        a->y_data);
    case 3: return qeq_q8_max_pool2d(&a->x, a->x_data, &a->pool, &a->y, a->y_data);
    case 4: return qeq_q8_avg_pool2d_ex(&a->x, a->x_data, &a->pool, &a->y, a->y_data, a->engine);
    case 5: return qeq_q8_adaptive_avg_pool2d_ex(&a->x, a->x_data, &a->y, a->y_data, a->engine);
    case 6: return qeq_q8_relu(&a->x, a->x_data, &a->y, a->y_data);
    case 7: return qeq_q8_relu6(&a->x, a->x_data, &a->y, a->y_data);
    case 8: return qeq_q8_hardtanh(&a->x, a->x_data, a->min_val, a->max_val, &a->y, a->y_data);
    case 9: return qeq_q8_hardswish(&a->x, a->x_data, (qeq_gemm_engine)a->axis, &a->y, a->y_data);
    case 10:
      if (a->sigmoid)
        return qeq_q8_sigmoid(&a->x, a->x_data, (qeq_gemm_engine)a->axis, &a->y, a->y_data);
      return qeq_q8_hardsigmoid(&a->x, a->x_data, (qeq_gemm_engine)a->axis, &a->y, a->y_data);
    case 11: return qeq_q8_mul(&a->x, a->x_data, &a->b, a->b_data, &a->y, a->y_data);
    default: return qeq_q8_mul_relu(&a->x, a->x_data, &a->b, a->b_data, &a->y, a->y_data);
  }
}

static const char* const names[OPS] = {
    "qeq_q8_add_ex",     "qeq_q8_add_relu_ex",   "qeq_q8_cat",
    "qeq_q8_max_pool2d", "qeq_q8_avg_pool2d_ex", "qeq_q8_adaptive_avg_pool2d_ex",
    "qeq_q8_relu",       "qeq_q8_relu6",         "qeq_q8_hardtanh",
    "qeq_q8_hardswish",  "qeq_q8_hardsigmoid",   "qeq_q8_mul",
    "qeq_q8_mul_relu"};

/* A descriptor of at most about FUZZ_MAX_NUMEL bytes, sometimes with hostile fields. */
static qeq_q8_tensor tensor(fuzz* f) {
  qeq_q8_tensor t;
  t.n = fuzz_below(f, 3), t.h = fuzz_below(f, 9), t.w = fuzz_below(f, 9), t.c = fuzz_below(f, 40);
  const uint8_t tag = fuzz_byte(f);
  t.pixel_stride_bytes = tag % 4 == 0   ? t.c + fuzz_below(f, 5)
                         : tag % 8 == 1 ? fuzz_below(f, 3)
                                        : 0;
  if (tag % 32 == 2) t.n = SIZE_MAX / 2, t.h = t.w = 2; /* n * h * w overflows */
  t.dtype = (qeq_dtype)(tag >> 5 & 3);
  t.scale = fuzz_scale(f);
  t.zero_point = fuzz_byte(f) % 8 ? (int32_t)fuzz_byte(f) - (t.dtype == QEQ_DTYPE_QINT8 ? 128 : 0)
                                  : fuzz_i32(f);
  return t;
}

/* Bytes a descriptor spans, or 0 for the overflowing ones (the call must refuse them). */
static size_t span(const qeq_q8_tensor* t) {
  const size_t stride = t->pixel_stride_bytes ? t->pixel_stride_bytes : t->c;
  if (t->n > 64) return 0;
  const size_t pixels = t->n * t->h * t->w;
  return pixels == 0 ? 0 : (pixels - 1) * (stride > t->c ? stride : t->c) + t->c;
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->op = (int)fuzz_below(f, OPS);
  a->x = tensor(f);
  a->y = tensor(f);
  a->b = a->x;
  const uint8_t tag = fuzz_byte(f);
  if (tag % 4 == 0) a->b = tensor(f);
  if (tag % 8 == 1) a->y = a->x; /* same layout and qparams: the ops that keep them run */
  if (a->op == 3 || a->op == 4) {
    a->pool = qeq_pool2d_params_make(fuzz_below(f, 5), fuzz_below(f, 5));
    a->pool.stride_h = fuzz_below(f, 4), a->pool.stride_w = fuzz_below(f, 4);
    a->pool.padding_h = fuzz_below(f, 3), a->pool.padding_w = fuzz_below(f, 3);
    a->pool.dilation_h = 1 + fuzz_below(f, 2) * (a->op == 3), a->pool.dilation_w = 1;
    a->pool.ceil_mode = (int)fuzz_below(f, 3);
    a->pool.count_include_pad = (int)fuzz_below(f, 2);
    a->pool.divisor_override = (int64_t)fuzz_below(f, 6) - 1;
    size_t oh = 0, ow = 0;
    if (fuzz_byte(f) % 2 && qeq_pool2d_output_size(&a->pool, a->x.h, a->x.w, &oh, &ow) == QEQ_OK) {
      a->y = a->x, a->y.h = oh, a->y.w = ow, a->y.pixel_stride_bytes = 0;
    }
  }
  if (a->op == 10 && fuzz_byte(f) % 2) { /* PyTorch's fixed (hard)sigmoid qparams */
    a->y.scale = 0x1p-8f, a->y.zero_point = a->y.dtype == QEQ_DTYPE_QINT8 ? -128 : 0;
  }
  if (a->op >= 11 && fuzz_byte(f) % 2) { /* broadcast: some of b's axes are 1 */
    const uint8_t axes = fuzz_byte(f);
    a->b.n = axes & 1 ? 1 : a->b.n, a->b.h = axes & 2 ? 1 : a->b.h;
    a->b.w = axes & 4 ? 1 : a->b.w, a->b.c = axes & 8 ? 1 : a->b.c;
    a->b.pixel_stride_bytes = 0;
  }
  a->min_val = fuzz_f32(f), a->max_val = fuzz_f32(f);
  a->count = fuzz_below(f, MAX_INPUTS + 1);
  a->axis = (int)fuzz_below(f, 3);
  if (a->op == 2) {
    size_t total = 0;
    for (size_t i = 0; i < a->count; i++) {
      a->inputs[i] = tensor(f);
      if (fuzz_byte(f) % 2) { /* consistent with y except along the axis */
        const size_t part = a->axis == 1 ? a->inputs[i].c : a->inputs[i].n;
        a->inputs[i].n = a->axis == 1 ? a->y.n : a->inputs[i].n;
        a->inputs[i].h = a->y.h, a->inputs[i].w = a->y.w, a->inputs[i].dtype = a->y.dtype;
        a->inputs[i].c = a->axis == 1 ? a->inputs[i].c : a->y.c;
        total += part;
      }
      a->inputs_data[i] = fuzz_buffer(f, FUZZ_U8, span(&a->inputs[i]));
    }
    if (fuzz_byte(f) % 2 && total > 0 && total < 64) {
      if (a->axis == 1)
        a->y.c = total;
      else
        a->y.n = total;
    }
  }
  a->x_data = fuzz_buffer(f, FUZZ_U8, span(&a->x));
  const int b_is_x = fuzz_byte(f) % 4 == 0 && span(&a->b) <= span(&a->x);
  a->b_data = b_is_x ? a->x_data : fuzz_buffer(f, FUZZ_U8, span(&a->b));
  /* y may be x's buffer (in place, or an overlap to refuse) when it fits in it. */
  const int alias = fuzz_byte(f) % 8 == 0 && a->x_data != NULL && span(&a->y) <= span(&a->x);
  a->y_data = alias ? (void*)a->x_data : fuzz_buffer(f, FUZZ_U8, span(&a->y));
  const uint8_t engine = fuzz_byte(f); /* last, so shorter inputs decode as before */
  a->engine = engine % 8 == 7 ? (qeq_qops_engine)fuzz_i32(f) : (qeq_qops_engine)(engine % 2);
  /* After the engine, so older inputs decode as before: a broadcasting add (b's buffer, sized
   * for the larger b above, only shrinks in need); sometimes a cat along width. */
  if (a->op <= 1 && fuzz_byte(f) % 2) {
    const qeq_q8_tensor before = a->b;
    const uint8_t axes = fuzz_byte(f);
    a->b.n = axes & 1 ? 1 : a->b.n, a->b.h = axes & 2 ? 1 : a->b.h;
    a->b.w = axes & 4 ? 1 : a->b.w, a->b.c = axes & 8 ? 1 : a->b.c;
    a->b.pixel_stride_bytes = 0;
    /* never more bytes than b's buffer has (a zero or overflowing size set to 1 would) */
    if (before.n > 64 || span(&a->b) > span(&before)) a->b = before;
  }
  if (a->op == 2 && fuzz_byte(f) % 4 == 3) a->axis = QEQ_CAT_WIDTH;
  a->sigmoid = fuzz_byte(f) % 2; /* likewise */
  return a->op == 10 && a->sigmoid ? "qeq_q8_sigmoid" : names[a->op];
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
