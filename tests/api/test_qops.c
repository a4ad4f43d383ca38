/* The quantized ops (qeq/qops.h) under every ISA cap: PyTorch 1.13's outputs from
 * tests/golden/qops.txt bit for bit, random shapes, strides and windows against the
 * independent reference (tests/support/qops-reference.c), and bad input refused with a
 * message and nothing written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/golden.h"
#include "tests/support/qops-reference.h"
#include "tests/support/test-support.h"

enum {
  OP_ADD,
  OP_ADD_RELU,
  OP_CAT,
  OP_MAX_POOL,
  OP_AVG_POOL,
  OP_ADAPTIVE,
  OP_RELU,
  OP_RELU6,
  OP_HARDTANH,
  OP_COUNT
};
static const char* const op_names[OP_COUNT] = {"add",        "add_relu",   "cat",
                                               "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
                                               "relu",       "relu6",      "hardtanh"};

/* ---- golden ---- */

static qeq_q8_tensor golden_tensor(const golden_case* gc, const char* prefix, qeq_dtype dtype) {
  char key[32];
  snprintf(key, sizeof key, "%s_shape", prefix);
  const golden_field* shape = golden_get(gc, key);
  snprintf(key, sizeof key, "%s_scale", prefix);
  const float scale = (float)golden_get(gc, key)->values[0];
  snprintf(key, sizeof key, "%s_zp", prefix);
  const int32_t zp = (int32_t)golden_int(gc, key);
  return qeq_q8_tensor_make((size_t)shape->values[0], (size_t)shape->values[1],
                            (size_t)shape->values[2], (size_t)shape->values[3], dtype, scale, zp);
}

static uint8_t* golden_bytes(const golden_case* gc, const char* key) {
  const golden_field* f = golden_get(gc, key);
  uint8_t* out = malloc(f->count + 1);
  for (size_t i = 0; i < f->count; i++) out[i] = (uint8_t)(int32_t)f->values[i];
  return out;
}

static qeq_pool2d_params golden_pool(const golden_case* gc) {
  const golden_field* k = golden_get(gc, "k");
  const golden_field* s = golden_get(gc, "s");
  const golden_field* p = golden_get(gc, "p");
  const golden_field* d = golden_get(gc, "d");
  qeq_pool2d_params params = qeq_pool2d_params_make((size_t)k->values[0], (size_t)k->values[1]);
  params.stride_h = (size_t)s->values[0], params.stride_w = (size_t)s->values[1];
  params.padding_h = (size_t)p->values[0], params.padding_w = (size_t)p->values[1];
  if (d != NULL) params.dilation_h = (size_t)d->values[0], params.dilation_w = (size_t)d->values[1];
  params.ceil_mode = (int)golden_int(gc, "ceil");
  if (golden_get(gc, "cip") != NULL) params.count_include_pad = (int)golden_int(gc, "cip");
  if (golden_get(gc, "div") != NULL) params.divisor_override = golden_int(gc, "div");
  return params;
}

/* Runs one fixture; returns the number of outputs that differ (or SIZE_MAX on an error). */
static size_t run_golden_case(const golden_case* gc, size_t* outputs) {
  const int op = (int)golden_int(gc, "op");
  /* qnnpack fixtures run through the _ex entry points with that engine (ops it leaves to
   * PyTorch's own kernels ignore it) */
  const qeq_qops_engine engine =
      golden_int(gc, "engine") ? QEQ_QOPS_ENGINE_QNNPACK : QEQ_QOPS_ENGINE_ONEDNN;
  const qeq_dtype dtype = golden_int(gc, "dtype") ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
  const qeq_q8_tensor y = golden_tensor(gc, "y", dtype);
  uint8_t* want = golden_bytes(gc, "y");
  const size_t count = golden_get(gc, "y")->count;
  uint8_t* got = malloc(count + 1);
  memset(got, 0x5A, count + 1);
  qeq_status st = QEQ_OK;
  if (op == OP_ADD || op == OP_ADD_RELU) {
    const qeq_q8_tensor a = golden_tensor(gc, "a", dtype);
    qeq_q8_tensor b = a;
    if (golden_get(gc, "b_shape") != NULL) b = golden_tensor(gc, "b", dtype); /* broadcast */
    b.scale = (float)golden_get(gc, "b_scale")->values[0];
    b.zero_point = (int32_t)golden_int(gc, "b_zp");
    uint8_t* ad = golden_bytes(gc, "a");
    uint8_t* bd = golden_bytes(gc, "b");
    st = op == OP_ADD ? qeq_q8_add_ex(&a, ad, &b, bd, &y, got, engine)
                      : qeq_q8_add_relu_ex(&a, ad, &b, bd, &y, got, engine);
    free(ad), free(bd);
  } else if (op == OP_CAT) {
    const size_t n = (size_t)golden_int(gc, "count");
    CHECK(n >= 1 && n <= 3, "%s: %zu cat inputs", gc->name, n);
    qeq_q8_tensor xs[3];
    const void* data[3];
    for (size_t i = 0; i < n; i++) {
      char prefix[24];
      snprintf(prefix, sizeof prefix, "x%zu", i);
      xs[i] = golden_tensor(gc, prefix, dtype);
      data[i] = golden_bytes(gc, prefix);
    }
    /* PyTorch's NCHW dim is qeq_cat_axis' value */
    st = qeq_q8_cat(n, xs, data, (qeq_cat_axis)golden_int(gc, "axis"), &y, got);
    for (size_t i = 0; i < n; i++) free((void*)data[i]);
  } else {
    const qeq_q8_tensor x = golden_tensor(gc, "x", dtype);
    uint8_t* xd = golden_bytes(gc, "x");
    qeq_pool2d_params pool;
    switch (op) {
      case OP_MAX_POOL:
        pool = golden_pool(gc);
        st = qeq_q8_max_pool2d(&x, xd, &pool, &y, got);
        break;
      case OP_AVG_POOL:
        pool = golden_pool(gc);
        st = qeq_q8_avg_pool2d_ex(&x, xd, &pool, &y, got, engine);
        break;
      case OP_ADAPTIVE: st = qeq_q8_adaptive_avg_pool2d_ex(&x, xd, &y, got, engine); break;
      case OP_RELU: st = qeq_q8_relu(&x, xd, &y, got); break;
      case OP_RELU6: st = qeq_q8_relu6(&x, xd, &y, got); break;
      default: {
        const golden_field* mm = golden_get(gc, "minmax");
        st = qeq_q8_hardtanh(&x, xd, (float)mm->values[0], (float)mm->values[1], &y, got);
      }
    }
    free(xd);
  }
  size_t differ = 0;
  if (st != QEQ_OK) {
    print_error("%s: %s\n", gc->name, qeq_last_error());
    differ = SIZE_MAX;
  } else {
    for (size_t i = 0; i < count; i++) differ += got[i] != want[i];
    differ += got[count] != 0x5A;
  }
  *outputs += count;
  free(got), free(want);
  return differ;
}

static void test_golden(void** state) {
  (void)state;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    golden_file* f = golden_open("qops.txt");
    CHECK(f != NULL, "tests/golden/qops.txt missing");
    golden_case gc;
    memset(&gc, 0, sizeof gc);
    size_t per_op[OP_COUNT][2] = {{0}}, outputs = 0, failures = 0;
    while (golden_next(f, &gc)) {
      const int op = (int)golden_int(&gc, "op");
      const size_t differ = run_golden_case(&gc, &outputs);
      if (differ != 0) print_error("%s: %zu outputs differ from PyTorch\n", gc.name, differ);
      failures += differ != 0;
      per_op[op][golden_int(&gc, "engine")]++;
    }
    golden_close(f, &gc);
    CHECK(failures == 0, "%s: %zu golden cases differ", qeq_isa_name(isas[t]), failures);
    for (int op = 0; op < OP_COUNT; op++) {
      CHECK(per_op[op][0] > 0, "no onednn fixture for %s", op_names[op]);
    }
    /* QNNPACK's own kernels (tests/golden/qops_cases.py: QNNPACK_FORMULAS) */
    static const int qnnpack_ops[] = {OP_ADD, OP_ADD_RELU, OP_AVG_POOL, OP_ADAPTIVE};
    for (size_t i = 0; i < sizeof qnnpack_ops / sizeof qnnpack_ops[0]; i++) {
      CHECK(per_op[qnnpack_ops[i]][1] > 0, "no qnnpack fixture for %s", op_names[qnnpack_ops[i]]);
    }
    printf("  golden under cap %-10s %zu outputs of %s identical to PyTorch's\n",
           qeq_isa_name(isas[t]), outputs, "qops.txt");
    /* cat along every axis and broadcasting add (qops_cases.py write_qops_axes) */
    golden_file* g = golden_open("qops_axes.txt");
    CHECK(g != NULL, "tests/golden/qops_axes.txt missing");
    memset(&gc, 0, sizeof gc);
    size_t axes_cases = 0, axes_outputs = 0, axes_failures = 0;
    while (golden_next(g, &gc)) {
      const size_t differ = run_golden_case(&gc, &axes_outputs);
      if (differ != 0) print_error("%s: %zu outputs differ from PyTorch\n", gc.name, differ);
      axes_failures += differ != 0;
      axes_cases++;
    }
    golden_close(g, &gc);
    CHECK(axes_cases > 0 && axes_failures == 0, "%s: %zu of %zu qops_axes.txt cases differ",
          qeq_isa_name(isas[t]), axes_failures, axes_cases);
    printf("  golden under cap %-10s %zu outputs of %s identical to PyTorch's\n",
           qeq_isa_name(isas[t]), axes_outputs, "qops_axes.txt");
  }
  qeq_clear_isa_cap();
}

/* ---- random against the reference ---- */

typedef struct rand_tensor {
  qeq_q8_tensor t;
  uint8_t* data;
  size_t bytes;
} rand_tensor;

static rand_tensor make_tensor(test_rng* rng, size_t n, size_t h, size_t w, size_t c,
                               qeq_dtype dtype, int strided) {
  rand_tensor r;
  const int32_t qmin = dtype == QEQ_DTYPE_QINT8 ? -128 : 0;
  const float scale =
      ldexpf(1.0f + (float)rng_below(rng, 1000) / 1000.0f, (int)rng_below(rng, 24) - 16);
  r.t = qeq_q8_tensor_make(n, h, w, c, dtype, scale, qmin + (int32_t)rng_below(rng, 256));
  if (strided) r.t.pixel_stride_bytes = c + 1 + rng_below(rng, 9);
  const size_t stride = r.t.pixel_stride_bytes ? r.t.pixel_stride_bytes : c;
  r.bytes = n * h * w * stride + 1;
  r.data = malloc(r.bytes);
  for (size_t i = 0; i < r.bytes; i++) r.data[i] = (uint8_t)rng_next(rng);
  return r;
}

/* y twice: one for qeq, one for the reference, same random fill (untouched gaps compare). */
static void compare_outputs(const char* what, const rand_tensor* y, const uint8_t* ref) {
  for (size_t i = 0; i < y->bytes; i++) {
    CHECK(y->data[i] == ref[i], "%s: byte %zu: %d, reference %d", what, i, y->data[i], ref[i]);
  }
}

static uint8_t* clone(const rand_tensor* r) {
  uint8_t* c = malloc(r->bytes);
  memcpy(c, r->data, r->bytes);
  return c;
}

static void random_case(test_rng* rng, const char* isa) {
  const qeq_dtype dtype = rng_below(rng, 2) ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
  const size_t n = 1 + rng_below(rng, 2), h = 1 + rng_below(rng, 9), w = 1 + rng_below(rng, 9);
  const size_t c = rng_size_pick(rng, 70);
  const int op = (int)rng_below(rng, OP_COUNT);
  char what[96];
  snprintf(what, sizeof what, "%s %s n%zu h%zu w%zu c%zu dtype %d", isa, op_names[op], n, h, w, c,
           (int)dtype);
  rand_tensor x = make_tensor(rng, n, h, w, c, dtype, (int)rng_below(rng, 2));
  rand_tensor y;
  qeq_status st = QEQ_OK;
  uint8_t* ref = NULL;
  if (op == OP_ADD || op == OP_ADD_RELU) {
    /* b broadcasts over a random set of axes (size 1), half the time */
    const unsigned ones = rng_below(rng, 2) ? (unsigned)rng_below(rng, 16) : 0;
    rand_tensor b = make_tensor(rng, ones & 1 ? 1 : n, ones & 2 ? 1 : h, ones & 4 ? 1 : w,
                                ones & 8 ? 1 : c, dtype, (int)rng_below(rng, 2));
    if (rng_below(rng, 3) == 0) b.t.scale = x.t.scale; /* exact ties */
    y = make_tensor(rng, n, h, w, c, dtype, (int)rng_below(rng, 2));
    if (rng_below(rng, 2)) { /* the broadcast input first */
      rand_tensor t = x;
      x = b, b = t;
    }
    ref = clone(&y);
    ref_q8_add(&x.t, x.data, &b.t, b.data, op == OP_ADD_RELU, &y.t, ref);
    st = (op == OP_ADD ? qeq_q8_add : qeq_q8_add_relu)(&x.t, x.data, &b.t, b.data, &y.t, y.data);
    free(b.data);
  } else if (op == OP_CAT) {
    const qeq_cat_axis axis = (qeq_cat_axis)rng_below(rng, 4);
    const size_t part = axis == QEQ_CAT_CHANNELS ? rng_size_pick(rng, 40) : 1 + rng_below(rng, 5);
    rand_tensor second =
        make_tensor(rng, axis == QEQ_CAT_BATCH ? part : n, axis == QEQ_CAT_HEIGHT ? part : h,
                    axis == QEQ_CAT_WIDTH ? part : w, axis == QEQ_CAT_CHANNELS ? part : c, dtype,
                    (int)rng_below(rng, 2));
    if (rng_below(rng, 3) == 0) second.t.scale = x.t.scale, second.t.zero_point = x.t.zero_point;
    y = make_tensor(rng, axis == QEQ_CAT_BATCH ? n + part : n,
                    axis == QEQ_CAT_HEIGHT ? h + part : h, axis == QEQ_CAT_WIDTH ? w + part : w,
                    axis == QEQ_CAT_CHANNELS ? c + part : c, dtype, (int)rng_below(rng, 2));
    if (rng_below(rng, 3) == 0) y.t.scale = x.t.scale, y.t.zero_point = x.t.zero_point; /* copy */
    const qeq_q8_tensor ins[2] = {x.t, second.t};
    const void* data[2] = {x.data, second.data};
    ref = clone(&y);
    ref_q8_cat(2, ins, data, axis, &y.t, ref);
    st = qeq_q8_cat(2, ins, data, axis, &y.t, y.data);
    free(second.data);
  } else if (op == OP_MAX_POOL || op == OP_AVG_POOL) {
    qeq_pool2d_params p = qeq_pool2d_params_make(1 + rng_below(rng, h < 4 ? h : 4),
                                                 1 + rng_below(rng, w < 4 ? w : 4));
    p.stride_h = 1 + rng_below(rng, 3), p.stride_w = 1 + rng_below(rng, 3);
    p.padding_h = rng_below(rng, p.kernel_h / 2 + 1),
    p.padding_w = rng_below(rng, p.kernel_w / 2 + 1);
    if (op == OP_MAX_POOL)
      p.dilation_h = 1 + rng_below(rng, 2), p.dilation_w = 1 + rng_below(rng, 2);
    p.ceil_mode = (int)rng_below(rng, 2);
    p.count_include_pad = (int)rng_below(rng, 2);
    if (op == OP_AVG_POOL && rng_below(rng, 4) == 0)
      p.divisor_override = 1 + (int64_t)rng_below(rng, 12);
    const size_t oh =
        ref_pool_output(h, p.kernel_h, p.stride_h, p.padding_h, p.dilation_h, p.ceil_mode);
    const size_t ow =
        ref_pool_output(w, p.kernel_w, p.stride_w, p.padding_w, p.dilation_w, p.ceil_mode);
    size_t qh = 0, qw = 0;
    const qeq_status size_st = qeq_pool2d_output_size(&p, h, w, &qh, &qw);
    CHECK((oh == 0 || ow == 0) == (size_st != QEQ_OK), "%s: output size status %d for %zu x %zu",
          what, (int)size_st, oh, ow);
    if (size_st != QEQ_OK) {
      free(x.data);
      return;
    }
    CHECK(qh == oh && qw == ow, "%s: output %zu x %zu, reference %zu x %zu", what, qh, qw, oh, ow);
    y = make_tensor(rng, n, oh, ow, c, dtype, (int)rng_below(rng, 2));
    y.t.scale = x.t.scale, y.t.zero_point = x.t.zero_point;
    ref = clone(&y);
    if (op == OP_MAX_POOL) {
      ref_q8_max_pool2d(&x.t, x.data, &p, &y.t, ref);
      st = qeq_q8_max_pool2d(&x.t, x.data, &p, &y.t, y.data);
    } else {
      ref_q8_avg_pool2d(&x.t, x.data, &p, &y.t, ref);
      st = qeq_q8_avg_pool2d(&x.t, x.data, &p, &y.t, y.data);
    }
  } else if (op == OP_ADAPTIVE) {
    y = make_tensor(rng, n, 1 + rng_below(rng, h + 2), 1 + rng_below(rng, w + 2), c, dtype,
                    (int)rng_below(rng, 2));
    y.t.scale = x.t.scale, y.t.zero_point = x.t.zero_point;
    ref = clone(&y);
    ref_q8_adaptive_avg_pool2d(&x.t, x.data, &y.t, ref);
    st = qeq_q8_adaptive_avg_pool2d(&x.t, x.data, &y.t, y.data);
  } else {
    y = make_tensor(rng, n, h, w, c, dtype, (int)rng_below(rng, 2));
    y.t.scale = x.t.scale, y.t.zero_point = x.t.zero_point;
    ref = clone(&y);
    const float lo = op == OP_HARDTANH ? -(float)rng_below(rng, 300) / 100.0f : 0.0f;
    const float hi = op == OP_HARDTANH ? (float)rng_below(rng, 300) / 100.0f
                     : op == OP_RELU6  ? 6.0f
                                       : INFINITY;
    ref_q8_clamp(&x.t, x.data, lo, hi, &y.t, ref);
    st = op == OP_RELU    ? qeq_q8_relu(&x.t, x.data, &y.t, y.data)
         : op == OP_RELU6 ? qeq_q8_relu6(&x.t, x.data, &y.t, y.data)
                          : qeq_q8_hardtanh(&x.t, x.data, lo, hi, &y.t, y.data);
  }
  CHECK(st == QEQ_OK, "%s: %s", what, qeq_last_error());
  compare_outputs(what, &y, ref);
  free(x.data), free(y.data), free(ref);
}

static void test_random_against_reference(void** state) {
  (void)state;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    test_rng rng;
    rng_init(&rng, test_seed() + 31u * t);
    const size_t cases = test_iterations(600);
    for (size_t i = 0; i < cases; i++) random_case(&rng, qeq_isa_name(isas[t]));
    printf("  random under cap %-10s %zu cases match the reference\n", qeq_isa_name(isas[t]),
           cases);
  }
  qeq_clear_isa_cap();
}

/* In place: y == a for add, y == x for relu, with the same layout. */
/* Broadcasting add under the qnnpack engine against an independent route: quint8 gives the
 * onednn rule (qeq_q8_add), qint8 gives XNNPACK's rule on the broadcast input spelled out to
 * y's sizes (the equal-shape path the fixtures pin), and so does an add without broadcast. */
static void test_broadcast_add_qnnpack(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 91);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    for (size_t iter = 0; iter < test_iterations(60); iter++) {
      const qeq_dtype dtype = rng_below(&rng, 2) ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
      const size_t n = 1 + rng_below(&rng, 2), h = 1 + rng_below(&rng, 6);
      const size_t w = 1 + rng_below(&rng, 6), c = rng_size_pick(&rng, 70);
      const unsigned ones = 1 + (unsigned)rng_below(&rng, 15);
      rand_tensor a = make_tensor(&rng, n, h, w, c, dtype, 0);
      rand_tensor b = make_tensor(&rng, ones & 1 ? 1 : n, ones & 2 ? 1 : h, ones & 4 ? 1 : w,
                                  ones & 8 ? 1 : c, dtype, 0);
      /* ratios inside what QNNPACK and XNNPACK accept */
      b.t.scale = a.t.scale * (0.5f + (float)rng_below(&rng, 100) / 100.0f);
      rand_tensor y = make_tensor(&rng, n, h, w, c, dtype, 0);
      y.t.scale = a.t.scale * (1.0f + (float)rng_below(&rng, 100) / 50.0f);
      uint8_t* want = clone(&y);
      const int relu = (int)rng_below(&rng, 2);
      const int32_t qmax = dtype == QEQ_DTYPE_QINT8 ? 127 : 255;
      if (relu && y.t.zero_point == qmax) y.t.zero_point--; /* both libraries refuse qmax */
      const int swap = (int)rng_below(&rng, 2);
      const qeq_q8_tensor* first = swap ? &b.t : &a.t;
      const qeq_q8_tensor* second = swap ? &a.t : &b.t;
      const uint8_t* first_data = swap ? b.data : a.data;
      const uint8_t* second_data = swap ? a.data : b.data;
      qeq_status st;
      /* b may have y's sizes after all (its size-1 axes were 1 in y too): no broadcast, so
       * QNNPACK's rule, which the spelled-out route gives */
      const int broadcasts = b.t.n != n || b.t.h != h || b.t.w != w || b.t.c != c;
      if (dtype == QEQ_DTYPE_QUINT8 && broadcasts) {
        st = (relu ? qeq_q8_add_relu : qeq_q8_add)(first, first_data, second, second_data, &y.t,
                                                   want);
      } else {
        /* b spelled out to y's sizes by index arithmetic */
        rand_tensor full = make_tensor(&rng, n, h, w, c, dtype, 0);
        full.t.scale = b.t.scale, full.t.zero_point = b.t.zero_point;
        for (size_t p = 0; p < n * h * w; p++) {
          const size_t pn = p / (h * w), ph = p / w % h, pw = p % w;
          const size_t bp = ((b.t.n == 1 ? 0 : pn) * b.t.h + (b.t.h == 1 ? 0 : ph)) * b.t.w +
                            (b.t.w == 1 ? 0 : pw);
          for (size_t k = 0; k < c; k++)
            full.data[p * c + k] = b.data[bp * b.t.c + (b.t.c == 1 ? 0 : k)];
        }
        const qeq_q8_tensor* f1 = swap ? &full.t : &a.t;
        const qeq_q8_tensor* f2 = swap ? &a.t : &full.t;
        st = (relu ? qeq_q8_add_relu_ex : qeq_q8_add_ex)(f1, swap ? full.data : a.data, f2,
                                                         swap ? a.data : full.data, &y.t, want,
                                                         QEQ_QOPS_ENGINE_QNNPACK);
        free(full.data);
      }
      CHECK(st == QEQ_OK, "reference route: %s", qeq_last_error());
      st = (relu ? qeq_q8_add_relu_ex : qeq_q8_add_ex)(first, first_data, second, second_data, &y.t,
                                                       y.data, QEQ_QOPS_ENGINE_QNNPACK);
      CHECK(st == QEQ_OK, "%s", qeq_last_error());
      compare_outputs(qeq_isa_name(isas[t]), &y, want);
      free(a.data), free(b.data), free(y.data), free(want);
    }
  }
  qeq_clear_isa_cap();
}

static void test_in_place(void** state) {
  (void)state;
  test_rng rng;
  rng_init(&rng, test_seed() + 77);
  rand_tensor a = make_tensor(&rng, 2, 5, 3, 37, QEQ_DTYPE_QUINT8, 1);
  rand_tensor b = make_tensor(&rng, 2, 5, 3, 37, QEQ_DTYPE_QUINT8, 0);
  uint8_t* ref = clone(&a);
  ref_q8_add(&a.t, a.data, &b.t, b.data, 1, &a.t, ref);
  CHECK(qeq_q8_add_relu(&a.t, a.data, &b.t, b.data, &a.t, a.data) == QEQ_OK, "%s",
        qeq_last_error());
  compare_outputs("add_relu in place", &a, ref);
  CHECK(qeq_q8_add(&b.t, b.data, &b.t, b.data, &b.t, b.data) == QEQ_OK, "add(x, x) into x: %s",
        qeq_last_error());
  memcpy(ref, a.data, a.bytes);
  ref_q8_clamp(&a.t, a.data, 0.0f, 6.0f, &a.t, ref);
  CHECK(qeq_q8_relu6(&a.t, a.data, &a.t, a.data) == QEQ_OK, "%s", qeq_last_error());
  compare_outputs("relu6 in place", &a, ref);
  free(a.data), free(b.data), free(ref);
}

/* ---- bad input: a status, a message naming the function and argument, nothing written ---- */

static void expect_refusal(const char* what, qeq_status st, qeq_status want, const char* fn,
                           const char* arg, const uint8_t* y, size_t bytes) {
  CHECK(st == want, "%s: status %d, want %d (%s)", what, (int)st, (int)want, qeq_last_error());
  CHECK(strstr(qeq_last_error(), fn) != NULL, "%s: message \"%s\" lacks %s", what, qeq_last_error(),
        fn);
  CHECK(strstr(qeq_last_error(), arg) != NULL, "%s: message \"%s\" lacks %s", what,
        qeq_last_error(), arg);
  for (size_t i = 0; i < bytes; i++)
    CHECK(y[i] == 0xEE, "%s: byte %zu written on failure", what, i);
}

static void test_bad_input(void** state) {
  (void)state;
  uint8_t x[4 * 4 * 3], x2[4 * 4 * 3], y[4 * 4 * 3 + 8];
  memset(x, 7, sizeof x), memset(x2, 9, sizeof x2), memset(y, 0xEE, sizeof y);
  const qeq_q8_tensor t = qeq_q8_tensor_make(1, 4, 4, 3, QEQ_DTYPE_QUINT8, 0.5f, 3);
  qeq_q8_tensor bad = t;
  const size_t yb = sizeof y;
  static const char add[] = "qeq_q8_add";
  expect_refusal("a NULL", qeq_q8_add(NULL, x, &t, x2, &t, y), QEQ_ERROR_INVALID_ARGUMENT, add, "a",
                 y, yb);
  expect_refusal("b_data NULL", qeq_q8_add(&t, x, &t, NULL, &t, y), QEQ_ERROR_INVALID_ARGUMENT, add,
                 "b_data", y, yb);
  bad.dtype = QEQ_DTYPE_QINT32;
  expect_refusal("dtype", qeq_q8_add(&t, x, &bad, x2, &t, y), QEQ_ERROR_INVALID_ARGUMENT, add,
                 "b->dtype", y, yb);
  bad = t, bad.scale = NAN;
  expect_refusal("scale NaN", qeq_q8_add(&t, x, &t, x2, &bad, y), QEQ_ERROR_INVALID_ARGUMENT, add,
                 "y->scale", y, yb);
  bad = t, bad.scale = 0.0f;
  expect_refusal("scale 0", qeq_q8_add(&bad, x, &t, x2, &t, y), QEQ_ERROR_INVALID_ARGUMENT, add,
                 "a->scale", y, yb);
  bad = t, bad.scale = 1e38f;
  expect_refusal("scale huge", qeq_q8_add(&bad, x, &t, x2, &t, y), QEQ_ERROR_INVALID_ARGUMENT, add,
                 "a->scale", y, yb);
  bad = t, bad.zero_point = 256;
  expect_refusal("zero point", qeq_q8_add(&t, x, &bad, x2, &t, y), QEQ_ERROR_INVALID_ARGUMENT, add,
                 "b->zero_point", y, yb);
  bad = t, bad.pixel_stride_bytes = 2;
  expect_refusal("stride", qeq_q8_add(&t, x, &t, x2, &bad, y), QEQ_ERROR_INVALID_ARGUMENT, add,
                 "y->pixel_stride_bytes", y, yb);
  bad = t, bad.w = 3;
  expect_refusal("shape", qeq_q8_add(&t, x, &bad, x2, &t, y), QEQ_ERROR_SHAPE_MISMATCH, add, "b->w",
                 y, yb);
  bad = t, bad.h = 1; /* a broadcast b is fine, a broadcast y is not */
  expect_refusal("broadcast y", qeq_q8_add(&t, x, &t, x2, &bad, y), QEQ_ERROR_SHAPE_MISMATCH, add,
                 "a->h", y, yb);
  bad = t, bad.c = 1, bad.w = 1;
  qeq_q8_tensor wide = t;
  wide.n = 2; /* y->n 2 is neither a's nor b's */
  expect_refusal("broadcast sizes", qeq_q8_add(&t, x, &bad, x2, &wide, y), QEQ_ERROR_SHAPE_MISMATCH,
                 add, "y->n", y, yb);
  bad = t, bad.dtype = QEQ_DTYPE_QINT8;
  expect_refusal("dtype mix", qeq_q8_add(&t, x, &t, x2, &bad, y), QEQ_ERROR_SHAPE_MISMATCH, add,
                 "y->dtype", y, yb);
  bad = t, bad.n = SIZE_MAX / 2;
  expect_refusal("overflow", qeq_q8_add(&bad, x, &bad, x2, &bad, y), QEQ_ERROR_SIZE_OVERFLOW, add,
                 "a", y, yb);
  expect_refusal("partial overlap", qeq_q8_add(&t, y + 1, &t, x2, &t, y),
                 QEQ_ERROR_INVALID_ARGUMENT, add, "overlaps", y, 0);

  static const char cat[] = "qeq_q8_cat";
  const qeq_q8_tensor halves[2] = {qeq_q8_tensor_make(1, 2, 4, 3, QEQ_DTYPE_QUINT8, 0.5f, 3),
                                   qeq_q8_tensor_make(1, 2, 4, 3, QEQ_DTYPE_QUINT8, 0.25f, 1)};
  const void* data[2] = {x, x2};
  expect_refusal("count 0", qeq_q8_cat(0, halves, data, QEQ_CAT_BATCH, &t, y),
                 QEQ_ERROR_INVALID_ARGUMENT, cat, "count", y, yb);
  expect_refusal("axis", qeq_q8_cat(2, halves, data, (qeq_cat_axis)5, &t, y),
                 QEQ_ERROR_INVALID_ARGUMENT, cat, "axis", y, yb);
  expect_refusal("cat h", qeq_q8_cat(2, halves, data, QEQ_CAT_BATCH, &t, y),
                 QEQ_ERROR_SHAPE_MISMATCH, cat, "inputs[0]->h", y, yb);
  expect_refusal("cat width", qeq_q8_cat(2, halves, data, QEQ_CAT_WIDTH, &t, y),
                 QEQ_ERROR_SHAPE_MISMATCH, cat, "inputs[0]->h", y, yb);
  const qeq_q8_tensor tall = qeq_q8_tensor_make(1, 5, 4, 3, QEQ_DTYPE_QUINT8, 0.5f, 3);
  expect_refusal("cat height sum", qeq_q8_cat(2, halves, data, QEQ_CAT_HEIGHT, &tall, y),
                 QEQ_ERROR_SHAPE_MISMATCH, cat, "y->h is 5", y, yb);
  const qeq_q8_tensor batch2 = qeq_q8_tensor_make(3, 2, 4, 3, QEQ_DTYPE_QUINT8, 0.5f, 3);
  expect_refusal("cat sum", qeq_q8_cat(2, halves, data, QEQ_CAT_BATCH, &batch2, y),
                 QEQ_ERROR_SHAPE_MISMATCH, cat, "n", y, yb);
  const void* data_null[2] = {x, NULL};
  const qeq_q8_tensor batch = qeq_q8_tensor_make(2, 2, 4, 3, QEQ_DTYPE_QUINT8, 0.5f, 3);
  expect_refusal("cat data", qeq_q8_cat(2, halves, data_null, QEQ_CAT_BATCH, &batch, y),
                 QEQ_ERROR_INVALID_ARGUMENT, cat, "inputs[1]_data", y, yb);
  const void* data_alias[2] = {x, y + 4};
  expect_refusal("cat overlap", qeq_q8_cat(2, halves, data_alias, QEQ_CAT_BATCH, &batch, y),
                 QEQ_ERROR_INVALID_ARGUMENT, cat, "inputs[1]_data", y, 0);

  static const char maxp[] = "qeq_q8_max_pool2d", avgp[] = "qeq_q8_avg_pool2d";
  qeq_pool2d_params p = qeq_pool2d_params_make(2, 2);
  const qeq_q8_tensor pooled = qeq_q8_tensor_make(1, 2, 2, 3, QEQ_DTYPE_QUINT8, 0.5f, 3);
  expect_refusal("params NULL", qeq_q8_max_pool2d(&t, x, NULL, &pooled, y),
                 QEQ_ERROR_INVALID_ARGUMENT, maxp, "params", y, yb);
  p.kernel_h = 0;
  expect_refusal("kernel 0", qeq_q8_max_pool2d(&t, x, &p, &pooled, y), QEQ_ERROR_INVALID_ARGUMENT,
                 maxp, "kernel_h", y, yb);
  p = qeq_pool2d_params_make(2, 2), p.padding_w = 2;
  expect_refusal("padding", qeq_q8_max_pool2d(&t, x, &p, &pooled, y), QEQ_ERROR_INVALID_ARGUMENT,
                 maxp, "padding_w", y, yb);
  p = qeq_pool2d_params_make(5, 2);
  expect_refusal("window too big", qeq_q8_max_pool2d(&t, x, &p, &pooled, y),
                 QEQ_ERROR_INVALID_ARGUMENT, maxp, "output h", y, yb);
  p = qeq_pool2d_params_make(2, 2);
  bad = pooled, bad.h = 3;
  expect_refusal("output size", qeq_q8_max_pool2d(&t, x, &p, &bad, y), QEQ_ERROR_SHAPE_MISMATCH,
                 maxp, "y is 3 x 2", y, yb);
  bad = pooled, bad.zero_point = 4;
  expect_refusal("qparams kept", qeq_q8_max_pool2d(&t, x, &p, &bad, y), QEQ_ERROR_SHAPE_MISMATCH,
                 maxp, "zero_point", y, yb);
  p.dilation_h = 2;
  expect_refusal("avg dilation", qeq_q8_avg_pool2d(&t, x, &p, &pooled, y),
                 QEQ_ERROR_INVALID_ARGUMENT, avgp, "dilation", y, yb);
  p = qeq_pool2d_params_make(2, 2), p.divisor_override = -1;
  expect_refusal("divisor", qeq_q8_avg_pool2d(&t, x, &p, &pooled, y), QEQ_ERROR_INVALID_ARGUMENT,
                 avgp, "divisor_override", y, yb);
  p = qeq_pool2d_params_make(2, 2), p.ceil_mode = 2;
  expect_refusal("ceil", qeq_q8_avg_pool2d(&t, x, &p, &pooled, y), QEQ_ERROR_INVALID_ARGUMENT, avgp,
                 "ceil_mode", y, yb);
  p = qeq_pool2d_params_make((size_t)1 << 40, 2);
  expect_refusal("huge kernel", qeq_q8_max_pool2d(&t, x, &p, &pooled, y), QEQ_ERROR_SIZE_OVERFLOW,
                 maxp, "2^31", y, yb);
  p = qeq_pool2d_params_make(2, 2);
  expect_refusal("pool overlap", qeq_q8_max_pool2d(&t, y, &p, &pooled, y + 2),
                 QEQ_ERROR_INVALID_ARGUMENT, maxp, "overlaps", y, 0);
  bad = pooled, bad.h = 0;
  expect_refusal("adaptive 0", qeq_q8_adaptive_avg_pool2d(&t, x, &bad, y),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_q8_adaptive_avg_pool2d", "y->h", y, yb);
  size_t oh = 99, ow = 99;
  CHECK(qeq_pool2d_output_size(&p, 4, 4, NULL, &ow) == QEQ_ERROR_INVALID_ARGUMENT, "out_h NULL");
  CHECK(qeq_pool2d_output_size(&p, 1, 4, &oh, &ow) == QEQ_ERROR_INVALID_ARGUMENT && oh == 99,
        "1 row, 2x2 window");

  static const char ht[] = "qeq_q8_hardtanh";
  expect_refusal("hardtanh order", qeq_q8_hardtanh(&t, x, 1.0f, -1.0f, &t, y),
                 QEQ_ERROR_INVALID_ARGUMENT, ht, "min_val", y, yb);
  expect_refusal("hardtanh inf", qeq_q8_hardtanh(&t, x, -INFINITY, 1.0f, &t, y),
                 QEQ_ERROR_INVALID_ARGUMENT, ht, "min_val", y, yb);
  bad = t, bad.scale = 0.25f;
  expect_refusal("relu qparams", qeq_q8_relu(&t, x, &bad, y), QEQ_ERROR_SHAPE_MISMATCH,
                 "qeq_q8_relu", "scale", y, yb);
  expect_refusal("relu overlap", qeq_q8_relu6(&t, y + 1, &t, y), QEQ_ERROR_INVALID_ARGUMENT,
                 "qeq_q8_relu6", "overlaps", y, 0);
}

/* A scale whose reciprocal is inf (1e-40 is subnormal) is refused by every op, as
 * qeq_quantize_f32 and qeq_gemm_create refuse it: requantizing to it gave values nobody asked
 * for (add gave 0 where 18 is exact). Nothing is written. */
static void test_subnormal_scale(void** state) {
  (void)state;
  uint8_t x[2 * 2 * 3], y[2 * 2 * 3];
  memset(x, 20, sizeof x), memset(y, 0xEE, sizeof y);
  const qeq_q8_tensor t = qeq_q8_tensor_make(1, 2, 2, 3, QEQ_DTYPE_QUINT8, 1.0f, 2);
  qeq_q8_tensor tiny = t;
  tiny.scale = 1e-40f;
  expect_refusal("add to a subnormal scale", qeq_q8_add(&t, x, &t, x, &tiny, y),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_q8_add", "y->scale", y, sizeof y);
  expect_refusal("add from a subnormal scale", qeq_q8_add(&tiny, x, &t, x, &t, y),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_q8_add", "a->scale", y, sizeof y);
  const qeq_q8_tensor halves[2] = {t, tiny};
  const void* data[2] = {x, x};
  const qeq_q8_tensor both = qeq_q8_tensor_make(1, 2, 2, 6, QEQ_DTYPE_QUINT8, 1.0f, 2);
  uint8_t y6[2 * 2 * 6];
  memset(y6, 0xEE, sizeof y6);
  expect_refusal("cat", qeq_q8_cat(2, halves, data, QEQ_CAT_CHANNELS, &both, y6),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_q8_cat", "inputs[1]->scale", y6, sizeof y6);
  const qeq_pool2d_params p = qeq_pool2d_params_make(2, 2);
  qeq_q8_tensor pooled = qeq_q8_tensor_make(1, 1, 1, 3, QEQ_DTYPE_QUINT8, 1e-40f, 2);
  expect_refusal("max pool", qeq_q8_max_pool2d(&tiny, x, &p, &pooled, y),
                 QEQ_ERROR_INVALID_ARGUMENT, "qeq_q8_max_pool2d", "x->scale", y, sizeof y);
  expect_refusal("relu", qeq_q8_relu(&tiny, x, &tiny, y), QEQ_ERROR_INVALID_ARGUMENT, "qeq_q8_relu",
                 "x->scale", y, sizeof y);
  /* the smallest scales with a finite reciprocal still work */
  tiny.scale = 3e-39f;
  CHECK(qeq_q8_relu(&tiny, x, &tiny, y) == QEQ_OK, "%s", qeq_last_error());
}

/* A pixel_stride_bytes whose span passes SIZE_MAX but not PTRDIFF_MAX: QEQ_ERROR_SIZE_OVERFLOW, not
 * a read at a_data + 2^63. */
static void test_pixel_stride_beyond_ptrdiff(void** state) {
  (void)state;
  uint8_t x[8] = {0}, y[8];
  memset(y, 0xEE, sizeof y);
  const qeq_q8_tensor dense = qeq_q8_tensor_make(1, 1, 2, 3, QEQ_DTYPE_QUINT8, 0.5f, 3);
  qeq_q8_tensor far = dense;
  far.pixel_stride_bytes = (size_t)1 << 63; /* (2 - 1) * 2^63 + 3 fits size_t */
  expect_refusal("add", qeq_q8_add(&far, x, &dense, x, &dense, y), QEQ_ERROR_SIZE_OVERFLOW,
                 "qeq_q8_add", "PTRDIFF_MAX", y, sizeof y);
  expect_refusal("relu", qeq_q8_relu(&dense, x, &far, y), QEQ_ERROR_SIZE_OVERFLOW, "qeq_q8_relu",
                 "y (n 1, h 1, w 2, pixel_stride_bytes 9223372036854775808)", y, sizeof y);
}

/* ---- the qnnpack engine ---- */

/* The qnnpack engine's add as docs/numerics.md states it, in int64 from the ratios, apart from
 * qeq's parameter code: shift k = 21 - e (QNNPACK, quint8) or 20 - e (XNNPACK, qint8), e the
 * exponent of the larger ratio, m = rne(r * 2^k), acc = m_a (a - z_a) + m_b (b - z_b), and
 * acc / 2^k rounded half away from zero (QNNPACK; for k > 31 the x86 build's shift of 31 with
 * the remainder mask 2^(k - 32) - 1) or half up (XNNPACK). */
static uint8_t qnnpack_add_reference(int32_t a, int32_t b, float sa, int32_t za, float sb,
                                     int32_t zb, float sy, int32_t zy, int relu, int is_signed) {
  const float ra = sa / sy, rb = sb / sy;
  int e = 0;
  (void)frexpf(ra > rb ? ra : rb, &e); /* r = f * 2^e, f in [0.5, 1) */
  const int k = (is_signed ? 20 : 21) - (e - 1);
  const int64_t ma = (int64_t)rint(ldexp((double)ra, k));
  const int64_t mb = (int64_t)rint(ldexp((double)rb, k));
  const int64_t acc = ma * (a - za) + mb * (b - zb);
  int64_t q;
  if (is_signed) {
    const int64_t v = acc + ((int64_t)1 << (k - 1));
    q = v >= 0 ? v >> k : -((-v + ((int64_t)1 << k) - 1) >> k); /* floor */
  } else if (k <= 31) {
    const int64_t mag = ((acc < 0 ? -acc : acc) + ((int64_t)1 << (k - 1))) >> k;
    q = acc < 0 ? -mag : mag;
  } else {
    const int64_t mask = ((int64_t)1 << (k - 32)) - 1;
    const int64_t floor31 =
        acc >= 0 ? acc / ((int64_t)1 << 31) : -((-acc + ((int64_t)1 << 31) - 1) >> 31);
    q = floor31 + ((((acc & 0xFFFFFFFF) & mask) - (acc < 0)) > (mask >> 1));
  }
  q += zy;
  const int64_t qmin = is_signed ? -128 : 0, lo = relu ? zy : qmin;
  return (uint8_t)(q < lo ? lo : q > qmin + 255 ? qmin + 255 : q);
}

/* Every (a, b) pair under random qparams (ratios over the library's whole accepted range),
 * both dtypes, every ISA cap, dense and strided, against the reference above. */
static void test_qnnpack_add_sweep(void** state) {
  (void)state;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  uint8_t *a = malloc(65536 * 2), *b = malloc(65536 * 2), *y = malloc(65536 * 2);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    test_rng rng;
    rng_init(&rng, test_seed() + 97u * t);
    size_t sets = 0;
    while (sets < test_iterations(40)) {
      const float sy =
          ldexpf(1.0f + (float)rng_below(&rng, 4096) / 4096.0f, (int)rng_below(&rng, 20) - 12);
      const float sa =
          sy * ldexpf(1.0f + (float)rng_below(&rng, 4096) / 4096.0f, (int)rng_below(&rng, 23) - 15);
      const float sb =
          sy * ldexpf(1.0f + (float)rng_below(&rng, 4096) / 4096.0f, (int)rng_below(&rng, 23) - 15);
      const int is_signed = (int)(sets % 2);
      const float ra = sa / sy, rb = sb / sy, low = is_signed ? 0x1p-10f : 0x1p-14f;
      if (!(ra >= low && ra < 0x1p+8f && rb >= low && rb < 0x1p+8f)) continue;
      const qeq_dtype dtype = is_signed ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
      const int32_t qmin = is_signed ? -128 : 0;
      const int32_t za = qmin + (int32_t)rng_below(&rng, 256);
      const int32_t zb = qmin + (int32_t)rng_below(&rng, 256);
      const int32_t zy = qmin + (int32_t)rng_below(&rng, 255); /* the top is refused with relu */
      const int relu = (int)rng_below(&rng, 2), strided = sets % 3 == 0;
      const size_t stride = strided ? 2 : 1; /* pixels of one channel, every other byte */
      const size_t c = strided ? 1 : 256, pixels = strided ? 65536 : 256;
      qeq_q8_tensor ta = qeq_q8_tensor_make(1, pixels, 1, c, dtype, sa, za);
      qeq_q8_tensor tb = qeq_q8_tensor_make(1, pixels, 1, c, dtype, sb, zb);
      qeq_q8_tensor ty = qeq_q8_tensor_make(1, pixels, 1, c, dtype, sy, zy);
      ta.pixel_stride_bytes = tb.pixel_stride_bytes = ty.pixel_stride_bytes = stride * c;
      for (size_t i = 0; i < 65536; i++)
        a[i * stride] = (uint8_t)(i >> 8), b[i * stride] = (uint8_t)i;
      memset(y, 0xEE, 65536 * 2);
      const qeq_status st = (relu ? qeq_q8_add_relu_ex : qeq_q8_add_ex)(&ta, a, &tb, b, &ty, y,
                                                                        QEQ_QOPS_ENGINE_QNNPACK);
      CHECK(st == QEQ_OK, "%s", qeq_last_error());
      size_t bad = 0;
      for (size_t i = 0; i < 65536; i++) {
        const int32_t va = is_signed ? (int8_t)a[i * stride] : a[i * stride];
        const int32_t vb = is_signed ? (int8_t)b[i * stride] : b[i * stride];
        const uint8_t want = qnnpack_add_reference(va, vb, sa, za, sb, zb, sy, zy, relu, is_signed);
        bad += y[i * stride] != want;
        if (strided) bad += y[i * stride + 1] != 0xEE;
      }
      CHECK(bad == 0,
            "%s: %zu of 65536 differ (sa %a za %d sb %a zb %d sy %a zy %d relu %d "
            "signed %d)",
            qeq_isa_name(isas[t]), bad, (double)sa, za, (double)sb, zb, (double)sy, zy, relu,
            is_signed);
      sets++;
    }
    printf("  qnnpack add under cap %-10s %zu parameter sets x 65536 pairs match\n",
           qeq_isa_name(isas[t]), sets);
  }
  qeq_clear_isa_cap();
  free(a), free(b), free(y);
}

/* QNNPACK's average pool as docs/numerics.md states it, on a dense NHWC quint8 tensor. */
static void qnnpack_avg_reference(const uint8_t* x, size_t n, size_t h, size_t w, size_t c, float s,
                                  int32_t z, const qeq_pool2d_params* p, size_t oh, size_t ow,
                                  uint8_t* y) {
  const size_t window = p->kernel_h * p->kernel_w;
  const float mult = s / (s * (float)window);
  for (size_t img = 0; img < n; img++)
    for (size_t i = 0; i < oh; i++)
      for (size_t j = 0; j < ow; j++)
        for (size_t ch = 0; ch < c; ch++) {
          int64_t acc = 0;
          for (size_t ki = 0; ki < p->kernel_h; ki++)
            for (size_t kj = 0; kj < p->kernel_w; kj++) {
              const int64_t hh = (int64_t)(i * p->stride_h + ki) - (int64_t)p->padding_h;
              const int64_t ww = (int64_t)(j * p->stride_w + kj) - (int64_t)p->padding_w;
              if (hh < 0 || ww < 0 || hh >= (int64_t)h || ww >= (int64_t)w) continue;
              acc += x[((img * h + (size_t)hh) * w + (size_t)ww) * c + ch] - z;
            }
          const float v = (float)acc * mult;
          const double q = rint((double)v) + z;
          y[((img * oh + i) * ow + j) * c + ch] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
        }
}

static void test_qnnpack_pools(void** state) {
  (void)state;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n_isas = detected_isas(isas);
  for (size_t t = 0; t < n_isas; t++) {
    CHECK(qeq_set_isa_cap(isas[t]) == QEQ_OK, "cap %s", qeq_isa_name(isas[t]));
    test_rng rng;
    rng_init(&rng, test_seed() + 131u * t);
    for (size_t it = 0; it < test_iterations(200); it++) {
      qeq_pool2d_params p = qeq_pool2d_params_make(1 + rng_below(&rng, 5), 1 + rng_below(&rng, 5));
      if (p.kernel_h * p.kernel_w == 1) p.kernel_w = 2;
      p.stride_h = 1 + rng_below(&rng, 3), p.stride_w = 1 + rng_below(&rng, 3);
      p.padding_h = rng_below(&rng, p.kernel_h / 2 + 1);
      p.padding_w = rng_below(&rng, p.kernel_w / 2 + 1);
      p.count_include_pad = (int)rng_below(&rng, 2); /* ignored */
      p.divisor_override = rng_below(&rng, 3) == 0 ? (int64_t)(1 + rng_below(&rng, 30)) : 0;
      const size_t n = 1 + rng_below(&rng, 2), c = rng_size_pick(&rng, 70);
      const size_t h = p.kernel_h + rng_below(&rng, 8), w = p.kernel_w + rng_below(&rng, 8);
      const float s =
          ldexpf(1.0f + (float)rng_below(&rng, 1000) / 1000.0f, (int)rng_below(&rng, 40) - 20);
      const int32_t z = (int32_t)rng_below(&rng, 256);
      const qeq_q8_tensor tx = qeq_q8_tensor_make(n, h, w, c, QEQ_DTYPE_QUINT8, s, z);
      size_t oh = 0, ow = 0;
      CHECK(qeq_pool2d_output_size(&p, h, w, &oh, &ow) == QEQ_OK, "%s", qeq_last_error());
      const qeq_q8_tensor ty = qeq_q8_tensor_make(n, oh, ow, c, QEQ_DTYPE_QUINT8, s, z);
      uint8_t* x = malloc(n * h * w * c);
      uint8_t* y = malloc(n * oh * ow * c + 1);
      uint8_t* want = malloc(n * oh * ow * c);
      for (size_t i = 0; i < n * h * w * c; i++) x[i] = (uint8_t)rng_next(&rng);
      memset(y, 0xEE, n * oh * ow * c + 1);
      qnnpack_avg_reference(x, n, h, w, c, s, z, &p, oh, ow, want);
      CHECK(qeq_q8_avg_pool2d_ex(&tx, x, &p, &ty, y, QEQ_QOPS_ENGINE_QNNPACK) == QEQ_OK, "%s",
            qeq_last_error());
      size_t bad = 0;
      for (size_t i = 0; i < n * oh * ow * c; i++) bad += y[i] != want[i];
      CHECK(bad == 0 && y[n * oh * ow * c] == 0xEE, "%s: avg pool %zu outputs differ",
            qeq_isa_name(isas[t]), bad);
      /* adaptive with dividing sizes is the same pool (kernel = stride = in / out) */
      if (p.padding_h == 0 && p.padding_w == 0 && p.stride_h == p.kernel_h &&
          p.stride_w == p.kernel_w && h % p.kernel_h == 0 && w % p.kernel_w == 0) {
        memset(y, 0xEE, n * oh * ow * c + 1);
        CHECK(qeq_q8_adaptive_avg_pool2d_ex(&tx, x, &ty, y, QEQ_QOPS_ENGINE_QNNPACK) == QEQ_OK,
              "%s", qeq_last_error());
        CHECK(memcmp(y, want, n * oh * ow * c) == 0, "adaptive %zux%zu -> %zux%zu", h, w, oh, ow);
      }
      /* ceil_mode, and qint8, run the onednn code */
      p.ceil_mode = 1;
      size_t ch = 0, cw = 0;
      if (qeq_pool2d_output_size(&p, h, w, &ch, &cw) == QEQ_OK) {
        const qeq_q8_tensor tc = qeq_q8_tensor_make(n, ch, cw, c, QEQ_DTYPE_QUINT8, s, z);
        uint8_t* y1 = malloc(n * ch * cw * c);
        uint8_t* y2 = malloc(n * ch * cw * c);
        CHECK(qeq_q8_avg_pool2d_ex(&tx, x, &p, &tc, y1, QEQ_QOPS_ENGINE_QNNPACK) == QEQ_OK, "%s",
              qeq_last_error());
        CHECK(qeq_q8_avg_pool2d(&tx, x, &p, &tc, y2) == QEQ_OK, "%s", qeq_last_error());
        CHECK(memcmp(y1, y2, n * ch * cw * c) == 0, "ceil_mode under qnnpack is not onednn's");
        free(y1), free(y2);
      }
      free(x), free(y), free(want);
    }
  }
  qeq_clear_isa_cap();
  /* adaptive: a size that does not divide, the identity and qint8 run the onednn code */
  uint8_t x[2 * 7 * 6 * 5], y1[2 * 7 * 6 * 5], y2[2 * 7 * 6 * 5];
  for (size_t i = 0; i < sizeof x; i++) x[i] = (uint8_t)(i * 37 + 11);
  static const size_t outs[][2] = {{3, 4}, {7, 6}, {2, 5}};
  for (int dt = 0; dt < 2; dt++) {
    const qeq_dtype dtype = dt ? QEQ_DTYPE_QINT8 : QEQ_DTYPE_QUINT8;
    const qeq_q8_tensor tx = qeq_q8_tensor_make(2, 7, 6, 5, dtype, 0.37f, dt ? -3 : 99);
    for (size_t o = 0; o < 3; o++) {
      const qeq_q8_tensor ty =
          qeq_q8_tensor_make(2, outs[o][0], outs[o][1], 5, dtype, 0.37f, dt ? -3 : 99);
      CHECK(qeq_q8_adaptive_avg_pool2d_ex(&tx, x, &ty, y1, QEQ_QOPS_ENGINE_QNNPACK) == QEQ_OK, "%s",
            qeq_last_error());
      CHECK(qeq_q8_adaptive_avg_pool2d(&tx, x, &ty, y2) == QEQ_OK, "%s", qeq_last_error());
      CHECK(memcmp(y1, y2, 2 * outs[o][0] * outs[o][1] * 5) == 0, "adaptive to %zux%zu", outs[o][0],
            outs[o][1]);
    }
  }
}

static void test_qnnpack_refusals(void** state) {
  (void)state;
  uint8_t x[4 * 4 * 3], y[4 * 4 * 3];
  memset(x, 7, sizeof x), memset(y, 0xEE, sizeof y);
  const qeq_qops_engine q = QEQ_QOPS_ENGINE_QNNPACK;
  const qeq_q8_tensor t = qeq_q8_tensor_make(1, 4, 4, 3, QEQ_DTYPE_QUINT8, 1.0f, 3);
  static const char add[] = "qeq_q8_add_ex", relu[] = "qeq_q8_add_relu_ex";
  qeq_q8_tensor out = t;
  out.scale = 256.0f; /* ratio 2^-8: accepted */
  CHECK(qeq_q8_add_ex(&t, x, &t, x, &out, y, q) == QEQ_OK, "%s", qeq_last_error());
  memset(y, 0xEE, sizeof y);
  out.scale = 0x1p+14f; /* ratio 2^-14: accepted */
  CHECK(qeq_q8_add_ex(&t, x, &t, x, &out, y, q) == QEQ_OK, "%s", qeq_last_error());
  memset(y, 0xEE, sizeof y);
  out.scale = 0x1.000002p+14f; /* ratio just below 2^-14 */
  expect_refusal("ratio below 2^-14", qeq_q8_add_ex(&t, x, &t, x, &out, y, q),
                 QEQ_ERROR_UNSUPPORTED, add, "[2^-14, 2^8)", y, sizeof y);
  out.scale = 0x1p-8f; /* ratio 2^8 */
  expect_refusal("ratio 2^8", qeq_q8_add_relu_ex(&t, x, &t, x, &out, y, q), QEQ_ERROR_UNSUPPORTED,
                 relu, "[2^-14, 2^8)", y, sizeof y);
  qeq_q8_tensor b = t;
  b.scale = 300.0f; /* b's ratio alone out of range */
  expect_refusal("b's ratio", qeq_q8_add_ex(&t, x, &b, x, &t, y, q), QEQ_ERROR_UNSUPPORTED, add,
                 "b / y", y, sizeof y);
  out = t;
  out.zero_point = 255;
  expect_refusal("add_relu to zero point 255", qeq_q8_add_relu_ex(&t, x, &t, x, &out, y, q),
                 QEQ_ERROR_UNSUPPORTED, relu, "255", y, sizeof y);
  CHECK(qeq_q8_add_ex(&t, x, &t, x, &out, y, q) == QEQ_OK, "add to zero point 255: %s",
        qeq_last_error());
  memset(y, 0xEE, sizeof y);
  qeq_q8_tensor s8 = t; /* qint8: XNNPACK's limits, [2^-10, 2^8) and the zero point 127 */
  s8.dtype = QEQ_DTYPE_QINT8;
  qeq_q8_tensor s8_out = s8;
  s8_out.scale = 0x1p+10f;
  CHECK(qeq_q8_add_ex(&s8, x, &s8, x, &s8_out, y, q) == QEQ_OK, "%s", qeq_last_error());
  memset(y, 0xEE, sizeof y);
  s8_out.scale = 0x1.000002p+10f;
  expect_refusal("qint8 ratio below 2^-10", qeq_q8_add_ex(&s8, x, &s8, x, &s8_out, y, q),
                 QEQ_ERROR_UNSUPPORTED, add, "XNNPACK's add refuses", y, sizeof y);
  s8_out = s8;
  s8_out.zero_point = 127;
  expect_refusal("qint8 add_relu to 127", qeq_q8_add_relu_ex(&s8, x, &s8, x, &s8_out, y, q),
                 QEQ_ERROR_UNSUPPORTED, relu, "127", y, sizeof y);
  expect_refusal("engine", qeq_q8_add_ex(&t, x, &t, x, &t, y, (qeq_qops_engine)2),
                 QEQ_ERROR_INVALID_ARGUMENT, add, "engine 2", y, sizeof y);
  expect_refusal("engine -1", qeq_q8_add_relu_ex(&t, x, &t, x, &t, y, (qeq_qops_engine)-1),
                 QEQ_ERROR_INVALID_ARGUMENT, relu, "engine -1", y, sizeof y);
  /* the onednn engine keeps its behaviour: no ratio limit, qint8 served */
  out = t;
  out.scale = 0x1p-9f;
  CHECK(qeq_q8_add_ex(&t, x, &t, x, &out, y, QEQ_QOPS_ENGINE_ONEDNN) == QEQ_OK, "%s",
        qeq_last_error());
  CHECK(qeq_q8_add_ex(&s8, x, &s8, x, &s8, y, QEQ_QOPS_ENGINE_ONEDNN) == QEQ_OK, "%s",
        qeq_last_error());
  memset(y, 0xEE, sizeof y);
  /* pools */
  static const char avgp[] = "qeq_q8_avg_pool2d_ex", adap[] = "qeq_q8_adaptive_avg_pool2d_ex";
  qeq_pool2d_params one = qeq_pool2d_params_make(1, 1);
  expect_refusal("1 x 1 pool", qeq_q8_avg_pool2d_ex(&t, x, &one, &t, y, q), QEQ_ERROR_UNSUPPORTED,
                 avgp, "1 x 1", y, sizeof y);
  CHECK(qeq_q8_avg_pool2d_ex(&s8, x, &one, &s8, y, q) == QEQ_OK, "qint8 1 x 1: %s",
        qeq_last_error());
  memset(y, 0xEE, sizeof y);
  expect_refusal("pool engine", qeq_q8_avg_pool2d_ex(&t, x, &one, &t, y, (qeq_qops_engine)5),
                 QEQ_ERROR_INVALID_ARGUMENT, avgp, "engine 5", y, sizeof y);
  expect_refusal("adaptive engine", qeq_q8_adaptive_avg_pool2d_ex(&t, x, &t, y, (qeq_qops_engine)5),
                 QEQ_ERROR_INVALID_ARGUMENT, adap, "engine 5", y, sizeof y);
  /* the usual checks come first, under the new names */
  expect_refusal("NULL under qnnpack", qeq_q8_add_ex(NULL, x, &t, x, &t, y, q),
                 QEQ_ERROR_INVALID_ARGUMENT, add, "a", y, sizeof y);
}

int main(void) {
  printf("test_qops: seed %llu (QEQ_TEST_SEED), scale QEQ_TEST_SCALE\n",
         (unsigned long long)test_seed());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_random_against_reference),
      cmocka_unit_test(test_in_place),
      cmocka_unit_test(test_broadcast_add_qnnpack),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_subnormal_scale),
      cmocka_unit_test(test_pixel_stride_beyond_ptrdiff),
      cmocka_unit_test(test_qnnpack_add_sweep),
      cmocka_unit_test(test_qnnpack_pools),
      cmocka_unit_test(test_qnnpack_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
