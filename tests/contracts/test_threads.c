/* Thread safety, for the ThreadSanitizer build (QEQ_TSAN): every kernel family through the
 * public API from several threads while another thread flips the ISA cap, with results that
 * must stay bit-identical to ones computed before; per-thread last-error messages; and, with
 * the argument "init", many threads making the process's first qeq call at once.
 * Plain C without cmocka, so the only instrumented code is qeq's and this file's. */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */
#include <pthread.h>
#include <pthreadpool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qeq/qeq.h>

#define OUTER 3
#define CH 19
#define INNER 23
#define NUMEL (OUTER * CH * INNER)
#define IN 13 /* CLE: first is Linear [CH, IN], second Linear [IN, CH] */
#define EA 40 /* equalize: Linear [EA, IN] -> [EB, EA] -> [IN, EB], the middle rows long */
#define EB 24 /* enough (>= 32) for the fused chain passes */
#define GM 5  /* GEMM rows */
#define GN 21 /* GEMM output channels */
#define GK 37 /* GEMM input channels */
#define WORKERS 4
#define INIT_THREADS 8

/* Inputs, shared read-only by every thread. */
static qeq_shape shape;
static float x[NUMEL], scales[CH], qscales[CH], w1[CH * IN], b1[CH], w2[IN * CH];
static float e0[EA * IN], e1[EB * EA], e2[IN * EB], eb0[EA], eb1[EB];
static int32_t zps[CH], acc[NUMEL];
static uint8_t gx[GM * GK];
static float gxf[GM * GK];
static qeq_gemm *gemm_best, *gemm_scalar, *gemm_dynamic;
static pthreadpool_t pool;
static size_t rounds = 100; /* per worker; argv[2] overrides */

/* Everything one round computes. */
typedef struct results {
  float min[CH], max[CH], range[CH], absmax[CH], tmin, tmax;
  float scaled[NUMEL], deq[NUMEL], fq[NUMEL];
  int8_t q[NUMEL];
  uint8_t rq[NUMEL];
  float w1[CH * IN], b1[CH], w2[IN * CH], cle_scales[CH];
  float e0[EA * IN], e1[EB * EA], e2[IN * EB], eb0[EA], eb1[EB];
  double equalize_change;
  uint8_t gemm[3][GM * GN]; /* best kernel without and with the pool, scalar kernel */
  float dyn[GM * GN], dyn_scale;
  int32_t dyn_zp;
} results;

static atomic_int failures;
static atomic_int refusals; /* GEMM runs refused under a flipped cap: shows the flips land */

static void fail(const char* what, qeq_status st) {
  fprintf(stderr, "test_threads: %s: %s (%s)\n", what, qeq_status_string(st), qeq_last_error());
  atomic_fetch_add(&failures, 1);
}

#define MUST(call)                       \
  do {                                   \
    const qeq_status st_ = (call);       \
    if (st_ != QEQ_OK) fail(#call, st_); \
  } while (0)

/* A GEMM packed for a kernel the current cap forbids refuses to run (documented); any other
 * failure is a defect. Returns 1 if it ran. A NULL GEMM (not made yet) does not run. */
static int gemm_ran(const qeq_gemm* g, qeq_status st, const char* what) {
  if (!g) return 0;
  if (st == QEQ_OK) return 1;
  if (st != QEQ_ERROR_UNSUPPORTED) fail(what, st);
  atomic_fetch_add(&refusals, 1);
  return 0;
}

/* One round of every family but the GEMM (qeq_equalize's chain runs the fused ones). */
static void run_elementwise(results* r) {
  MUST(qeq_channel_minmax_f32(&shape, x, 1, r->min, r->max));
  MUST(qeq_channel_range_f32(&shape, x, -2, r->range));
  MUST(qeq_channel_absmax_f32(&shape, x, 1, r->absmax));
  MUST(qeq_tensor_minmax_f32(&shape, x, &r->tmin, &r->tmax));
  MUST(qeq_scale_channels_f32(&shape, x, 1, scales, r->scaled));
  MUST(qeq_quantize_f32(&shape, x, 1, QEQ_DTYPE_QINT8, CH, qscales, zps, r->q));
  MUST(qeq_dequantize_f32(&shape, r->q, 1, QEQ_DTYPE_QINT8, CH, qscales, zps, r->deq));
  MUST(qeq_fake_quantize_f32(&shape, x, 1, CH, qscales, zps, -128, 127, r->fq));
  MUST(qeq_requantize_s32(&shape, acc, 1, CH, qscales, 3, 0, 255, QEQ_DTYPE_QUINT8, r->rq));
  memcpy(r->w1, w1, sizeof w1), memcpy(r->b1, b1, sizeof b1), memcpy(r->w2, w2, sizeof w2);
  qeq_layer a, b;
  MUST(qeq_layer_init(&a, QEQ_LAYER_LINEAR, 2, (size_t[]){CH, IN}, r->w1, r->b1, 1,
                      QEQ_ACTIVATION_RELU));
  MUST(qeq_layer_init(&b, QEQ_LAYER_LINEAR, 2, (size_t[]){IN, CH}, r->w2, NULL, 1,
                      QEQ_ACTIVATION_NONE));
  MUST(qeq_cross_layer_equalize(&a, &b, r->cle_scales));
  memcpy(r->e0, e0, sizeof e0), memcpy(r->e1, e1, sizeof e1), memcpy(r->e2, e2, sizeof e2);
  memcpy(r->eb0, eb0, sizeof eb0), memcpy(r->eb1, eb1, sizeof eb1);
  qeq_layer l0, l1, l2;
  MUST(qeq_layer_init(&l0, QEQ_LAYER_LINEAR, 2, (size_t[]){EA, IN}, r->e0, r->eb0, 1,
                      QEQ_ACTIVATION_RELU));
  MUST(qeq_layer_init(&l1, QEQ_LAYER_LINEAR, 2, (size_t[]){EB, EA}, r->e1, r->eb1, 1,
                      QEQ_ACTIVATION_RELU));
  MUST(qeq_layer_init(&l2, QEQ_LAYER_LINEAR, 2, (size_t[]){IN, EB}, r->e2, NULL, 1,
                      QEQ_ACTIVATION_NONE));
  qeq_layer* chain[3] = {&l0, &l1, &l2};
  const size_t group = 3;
  qeq_equalize_report report;
  MUST(qeq_equalize(chain, &group, 1, 0.0f, 2, &report));
  r->equalize_change = report.final_change;
}

/* gemm_ok[i] says whether GEMM output i was produced. */
static void run_gemm(results* r, int gemm_ok[4]) {
  gemm_ok[0] =
      gemm_ran(gemm_best, qeq_gemm_run(gemm_best, GM, gx, GK, r->gemm[0], GN, NULL), "gemm");
  gemm_ok[1] =
      gemm_ran(gemm_best, qeq_gemm_run(gemm_best, GM, gx, GK, r->gemm[1], GN, pool), "gemm pool");
  gemm_ok[2] =
      gemm_ran(gemm_scalar, qeq_gemm_run(gemm_scalar, GM, gx, GK, r->gemm[2], GN, pool), "scalar");
  gemm_ok[3] = gemm_ran(gemm_dynamic,
                        qeq_gemm_run_dynamic(gemm_dynamic, GM, gxf, GK * sizeof(float), r->dyn,
                                             GN * sizeof(float), pool, &r->dyn_scale, &r->dyn_zp),
                        "gemm dynamic");
}

static void run_all(results* r, int gemm_ok[4]) {
  run_elementwise(r);
  run_gemm(r, gemm_ok);
}

/* Compares everything but the GEMM outputs that did not run. */
static void compare(const results* want, const results* got, const int gemm_ok[4]) {
  const size_t gemm_at = offsetof(results, gemm), dyn_at = offsetof(results, dyn);
  if (memcmp(want, got, gemm_at) != 0) fail("element-wise or CLE results differ", QEQ_OK);
  for (int i = 0; i < 3; i++)
    if (gemm_ok[i] && memcmp(want->gemm[i], got->gemm[i], sizeof got->gemm[i]) != 0)
      fail("GEMM result differs", QEQ_OK);
  if (gemm_ok[3] &&
      memcmp((const char*)want + dyn_at, (const char*)got + dyn_at, sizeof *got - dyn_at) != 0)
    fail("dynamic GEMM result differs", QEQ_OK);
}

static void make_inputs(void) {
  /* Filled by hand: in "init" mode no qeq call may come before the threads'. */
  shape = (qeq_shape){3, {OUTER, CH, INNER}};
  uint32_t s = 12345;
  for (size_t i = 0; i < NUMEL; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 40.0f;
    acc[i] = (int32_t)(s >> 12) - (1 << 19);
  }
  for (size_t c = 0; c < CH; c++) {
    scales[c] = 0.5f + 0.125f * (float)c;
    qscales[c] = 0.05f + 0.01f * (float)c;
    zps[c] = (int32_t)c - 9;
    b1[c] = 0.25f * (float)c - 2.0f;
  }
  for (size_t i = 0; i < CH * IN; i++) {
    w1[i] = x[i] * (0.1f + (float)(i % CH) * 0.2f);
    w2[i] = x[NUMEL - 1 - i] * 0.05f;
  }
  for (size_t i = 0; i < EA * IN; i++) e0[i] = x[i] * (0.05f + (float)(i / IN % 7) * 0.3f);
  for (size_t i = 0; i < EB * EA; i++) e1[i] = x[NUMEL - 1 - i] * 0.02f;
  for (size_t i = 0; i < IN * EB; i++) e2[i] = x[i + 7] * (0.1f + (float)(i % EB) * 0.1f);
  for (size_t c = 0; c < EA; c++) eb0[c] = 0.01f * (float)c;
  for (size_t c = 0; c < EB; c++) eb1[c] = -0.02f * (float)c;
  for (size_t i = 0; i < GM * GK; i++) gx[i] = (uint8_t)(x[i] * 6.0f + 128.0f), gxf[i] = x[i];
}

static qeq_gemm* make_gemm(int dynamic) {
  static int8_t w[GN * GK];
  static float ws[GN], bias[GN];
  for (size_t i = 0; i < GN * GK; i++) w[i] = (int8_t)(acc[i] >> 12);
  for (size_t n = 0; n < GN; n++) ws[n] = 0.01f + 0.001f * (float)n, bias[n] = x[n];
  qeq_gemm_config c = qeq_gemm_config_default();
  c.n = GN, c.k = GK, c.weights = w, c.quant.weight_qparam_count = GN, c.quant.weight_scales = ws;
  c.quant.bias = bias, c.quant.input_scale = 0.1f, c.quant.input_zero_point = 128;
  c.quant.output_scale = 0.5f, c.quant.output_zero_point = 100, c.quant.clamp = QEQ_GEMM_CLAMP_RELU;
  if (dynamic) c.dynamic = 1, c.quant.output = QEQ_GEMM_OUTPUT_FLOAT;
  qeq_gemm* g = NULL;
  MUST(qeq_gemm_create(&c, &g));
  return g;
}

/* ---- kernels racing with cap flips ---- */
static results reference;
static atomic_int stop;

/* A failing call on this thread must leave this thread's message, untouched by others and by
 * this thread's successful calls. */
static void* work(void* arg) {
  const int id = (int)(intptr_t)arg;
  results* r = calloc(1, sizeof *r); /* zeroed padding: compared with memcmp */
  if (!r) return fail("malloc", QEQ_ERROR_OUT_OF_MEMORY), NULL;
  char want[32];
  snprintf(want, sizeof want, "axis %d", 10 + id);
  for (size_t round = 0; round < rounds; round++) {
    if (qeq_channel_range_f32(&shape, x, 10 + id, r->range) != QEQ_ERROR_INVALID_ARGUMENT)
      fail("bad axis accepted", QEQ_OK);
    run_elementwise(r);
    if (!strstr(qeq_last_error(), want) || !strstr(qeq_last_error(), "qeq_channel_range_f32"))
      fail("the thread's own message was lost", QEQ_OK);
    int ok[4];
    run_gemm(r, ok); /* may fail (refused under the cap), replacing the message */
    compare(&reference, r, ok);
  }
  free(r);
  return NULL;
}

static void* flip(void* arg) {
  (void)arg;
  for (int round = 0; !atomic_load(&stop); round++) {
    const qeq_isa isa = (qeq_isa)(round % QEQ_ISA_COUNT);
    if (qeq_isa_detected(isa)) MUST(qeq_set_isa_cap(isa));
    if (round % 5 == 0) qeq_clear_isa_cap();
  }
  return NULL;
}

/* The reference comes from the scalar path; the best kernels must agree with it first. */
static void make_reference(void) {
  int ok[4];
  gemm_best = make_gemm(0), gemm_dynamic = make_gemm(1);
  MUST(qeq_set_isa_cap(QEQ_ISA_SCALAR));
  gemm_scalar = make_gemm(0);
  run_all(&reference, ok);
  qeq_clear_isa_cap();
  if (!ok[2]) fail("scalar GEMM refused under the scalar cap", QEQ_OK);
  static results best;
  run_all(&best, ok);
  if (!ok[0] || !ok[1] || !ok[3]) fail("GEMM refused without a cap", QEQ_OK);
  memcpy(reference.gemm[0], reference.gemm[2], sizeof reference.gemm[0]);
  memcpy(reference.gemm[1], reference.gemm[2], sizeof reference.gemm[0]);
  /* The dynamic GEMM was packed for the best kernel only: its first run is the reference. */
  const size_t dyn_at = offsetof(results, dyn);
  memcpy((char*)&reference + dyn_at, (const char*)&best + dyn_at, sizeof best - dyn_at);
  compare(&reference, &best, ok);
}

static int race_main(void) {
  make_inputs();
  qeq_clear_isa_cap();
  make_reference();
  if (atomic_load(&failures)) return 1;
  pool = pthreadpool_create(2);
  pthread_t threads[WORKERS], flipper;
  pthread_create(&flipper, NULL, flip, NULL);
  for (int t = 0; t < WORKERS; t++) pthread_create(&threads[t], NULL, work, (void*)(intptr_t)t);
  for (int t = 0; t < WORKERS; t++) pthread_join(threads[t], NULL);
  atomic_store(&stop, 1);
  pthread_join(flipper, NULL);
  qeq_clear_isa_cap();
  pthreadpool_destroy(pool);
  qeq_gemm_destroy(gemm_best), qeq_gemm_destroy(gemm_scalar), qeq_gemm_destroy(gemm_dynamic);
  printf(
      "test_threads: %zu rounds on each of %d threads while the cap flipped (%d GEMM runs "
      "refused under it): %d failures\n",
      rounds, WORKERS, atomic_load(&refusals), atomic_load(&failures));
  return atomic_load(&failures) != 0;
}

/* ---- the first qeq call of the process, made by many threads at once ---- */
static pthread_barrier_t start_line;
static results first[INIT_THREADS];

static void* first_call(void* arg) {
  const int id = (int)(intptr_t)arg;
  pthread_barrier_wait(&start_line);
  /* Different entry points, all of which trigger the one-time dispatch set-up. */
  switch (id % 3) {
    case 0: (void)qeq_isa_effective(); break;
    case 1: (void)qeq_kernel_variant_name("f32_rminmax"); break;
    default: break;
  }
  int ok[4];
  run_all(&first[id], ok); /* compared once the reference exists */
  return NULL;
}

static int init_main(void) {
  make_inputs();
  pthread_barrier_init(&start_line, NULL, INIT_THREADS);
  pthread_t threads[INIT_THREADS];
  for (int t = 0; t < INIT_THREADS; t++)
    pthread_create(&threads[t], NULL, first_call, (void*)(intptr_t)t);
  for (int t = 0; t < INIT_THREADS; t++) pthread_join(threads[t], NULL);
  pthread_barrier_destroy(&start_line);
  /* Now the reference, on this thread; the first calls ran before any GEMM existed. */
  make_reference();
  const int no_gemm[4] = {0, 0, 0, 0};
  for (int t = 0; t < INIT_THREADS; t++) compare(&reference, &first[t], no_gemm);
  qeq_gemm_destroy(gemm_best), qeq_gemm_destroy(gemm_scalar), qeq_gemm_destroy(gemm_dynamic);
  printf("test_threads init: %d threads made the first qeq call at once: %d failures\n",
         INIT_THREADS, atomic_load(&failures));
  return atomic_load(&failures) != 0;
}

int main(int argc, char** argv) {
  if (argc > 2) rounds = (size_t)strtoul(argv[2], NULL, 10);
  if (argc > 1 && strcmp(argv[1], "init") == 0) return init_main();
  return race_main();
}
