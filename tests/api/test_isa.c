/* Dispatch: detection against an independent source (the compiler's CPU model on x86,
 * executing each ISA's instruction and catching SIGILL on aarch64), the QEQ_ISA environment cap,
 * API caps, the variant each family selects under every cap, the test hook, and cap changes racing
 * with kernel calls.
 *
 * QEQ_TEST_EXPECT_ENV says what QEQ_ISA should have done: unset (no QEQ_ISA), "applied",
 * "unknown" (not an ISA name) or "unsupported" (a level this CPU lacks).
 * QEQ_TEST_EXPECT_BEST, when set, is the ISA name detection must report as best (used by
 * the emulated aarch64 runs to prove which CPU model they ran on). */
#define _POSIX_C_SOURCE 200809L /* sigaction, sigsetjmp */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/cpu-features.h"
#include "tests/support/test-support.h"

static const qeq_isa preference[] = {QEQ_ISA_AVX512VNNI, QEQ_ISA_AVX512,  QEQ_ISA_AVXVNNI,
                                     QEQ_ISA_AVX2,       QEQ_ISA_NEONDOT, QEQ_ISA_NEON,
                                     QEQ_ISA_SCALAR};
enum { PREFERENCE_COUNT = sizeof preference / sizeof preference[0] };

/* ---- independent detection ---- */
#if defined(__x86_64__) || defined(__i386__)
static int independent_detect(qeq_isa isa) {
  __builtin_cpu_init();
  const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const int avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                     __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                     __builtin_cpu_supports("avx512vl");
  switch (isa) {
    case QEQ_ISA_SCALAR: return 1;
    case QEQ_ISA_AVX2: return avx2;
    case QEQ_ISA_AVX512: return avx512;
    case QEQ_ISA_AVX512VNNI: return avx512 && __builtin_cpu_supports("avx512vnni");
    case QEQ_ISA_AVXVNNI: return avx2 && __builtin_cpu_supports("avxvnni");
    default: return 0;
  }
}
#elif defined(__aarch64__)
/* Execute one instruction of the ISA and see whether it traps. /proc/cpuinfo is no
 * independent source here: under qemu-user it describes the host. The encodings are raw
 * (.inst) because this file is built without +dotprod. */
#include <setjmp.h>
#include <signal.h>

static sigjmp_buf probe_jump;
static void probe_sigill(int sig) {
  (void)sig;
  siglongjmp(probe_jump, 1);
}

static int executes(void (*probe)(void)) {
  struct sigaction trap = {0}, old;
  trap.sa_handler = probe_sigill;
  sigemptyset(&trap.sa_mask);
  sigaction(SIGILL, &trap, &old);
  int ok = 0;
  if (sigsetjmp(probe_jump, 1) == 0) {
    probe();
    ok = 1;
  }
  sigaction(SIGILL, &old, NULL);
  return ok;
}

static void probe_neon(void) {
  __asm__ volatile(".inst 0x4ea08400" ::: "v0"); /* add v0.4s, v0.4s, v0.4s */
}
static void probe_dotprod(void) {
  __asm__ volatile(".inst 0x4e809400" ::: "v0"); /* sdot v0.4s, v0.16b, v0.16b */
}

static int independent_detect(qeq_isa isa) {
  static int neon = -1, dotprod = -1;
  if (neon < 0) {
    neon = executes(probe_neon);
    dotprod = neon && executes(probe_dotprod);
  }
  switch (isa) {
    case QEQ_ISA_SCALAR: return 1;
    case QEQ_ISA_NEON: return neon;
    case QEQ_ISA_NEONDOT: return dotprod;
    default: return 0;
  }
}
#else
static int independent_detect(qeq_isa isa) {
  return isa == QEQ_ISA_SCALAR;
}
#endif

static qeq_isa expected_best(void) {
  for (size_t i = 0; i < PREFERENCE_COUNT; i++) {
    if (independent_detect(preference[i])) return preference[i];
  }
  return QEQ_ISA_SCALAR;
}

static const qeq_variant* best_registered(qeq_kernel_family family, uint32_t allowed) {
  size_t count;
  const qeq_variant* variants = qeq_registry_variants(&count);
  for (size_t p = 0; p < PREFERENCE_COUNT; p++) {
    const uint32_t need = qeq_isa_required_features(preference[p]);
    if ((need & ~allowed) != 0) continue;
    for (size_t i = 0; i < count; i++) {
      if (variants[i].family == family && variants[i].isa == preference[p]) return &variants[i];
    }
  }
  return NULL;
}

/* The variant a family should use under `cap`: the most preferred ISA that has a registered
 * variant of the family and whose features the cap includes; for qu8s8_igemm, the variant
 * with the ISA and tile of the GEMM so chosen (it reads the GEMM's packed weights), else
 * "none". */
static const char* expected_variant(qeq_kernel_family family, uint32_t allowed) {
  if (family != QEQ_FAMILY_QU8S8_IGEMM) {
    const qeq_variant* best = best_registered(family, allowed);
    return best ? best->name : NULL;
  }
  const qeq_variant* gemm = best_registered(QEQ_FAMILY_QU8S8_GEMM, allowed);
  size_t count;
  const qeq_variant* variants = qeq_registry_variants(&count);
  for (size_t i = 0; gemm != NULL && i < count; i++) {
    const qeq_variant* v = &variants[i];
    if (v->family == QEQ_FAMILY_QU8S8_IGEMM && v->isa == gemm->isa && v->mr == gemm->mr &&
        v->nr == gemm->nr && v->kr == gemm->kr) {
      return v->name;
    }
  }
  return "none";
}

static void expect_selection(uint32_t allowed, const char* context) {
  for (int f = 0; f < QEQ_FAMILY_COUNT; f++) {
    const char* want = expected_variant((qeq_kernel_family)f, allowed);
    const char* got = qeq_kernel_variant_name(qeq_kernel_family_name((size_t)f));
    CHECK(want != NULL && got != NULL && strcmp(want, got) == 0, "%s: family %s uses %s, want %s",
          context, qeq_kernel_family_name((size_t)f), got ? got : "(null)", want ? want : "(null)");
  }
}

/* Must run first: nothing has touched the cap yet. */
static void test_environment_cap(void** state) {
  (void)state;
  const char* expect = getenv("QEQ_TEST_EXPECT_ENV");
  const char* message = qeq_isa_env_message();
  printf("  QEQ_ISA=%s -> effective %s; message \"%s\"\n",
         getenv("QEQ_ISA") ? getenv("QEQ_ISA") : "(unset)", qeq_isa_name(qeq_isa_effective()),
         message);
  if (expect == NULL || expect[0] == '\0') {
    CHECK(message[0] == '\0', "no QEQ_ISA expected, but message \"%s\"", message);
    CHECK(qeq_isa_effective() == expected_best(), "effective %s without a cap",
          qeq_isa_name(qeq_isa_effective()));
    return;
  }
  const char* value = getenv("QEQ_ISA");
  CHECK(value != NULL, "QEQ_TEST_EXPECT_ENV=%s but QEQ_ISA is unset", expect);
  if (strcmp(expect, "applied") == 0) {
    qeq_isa isa;
    CHECK(qeq_isa_from_name(value, &isa) == QEQ_OK, "QEQ_ISA=%s is not a name", value);
    CHECK(message[0] == '\0', "applied cap but message \"%s\"", message);
    CHECK(qeq_isa_effective() == isa, "QEQ_ISA=%s gave effective %s", value,
          qeq_isa_name(qeq_isa_effective()));
    expect_selection(qeq_isa_required_features(isa), "QEQ_ISA");
    /* An API cap overrides the environment's, and clearing removes both. */
    CHECK(qeq_set_isa_cap(expected_best()) == QEQ_OK, "set cap: %s", qeq_last_error());
    CHECK(qeq_isa_effective() == expected_best(), "API cap did not override QEQ_ISA");
    qeq_clear_isa_cap();
    CHECK(qeq_isa_effective() == expected_best(), "clear did not remove the QEQ_ISA cap");
  } else {
    const char* reason = strcmp(expect, "unknown") == 0 ? "not an ISA name" : "does not support";
    CHECK(strstr(message, value) != NULL && strstr(message, reason) != NULL,
          "QEQ_ISA=%s: message \"%s\" should name it and say \"%s\"", value, message, reason);
    CHECK(qeq_isa_effective() == expected_best(), "an ignored QEQ_ISA changed the effective ISA");
    expect_selection(qeq_dispatch_detected_features(), "ignored QEQ_ISA");
  }
}

static void test_detection(void** state) {
  (void)state;
  printf("  detected:");
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    const qeq_isa isa = (qeq_isa)i;
    CHECK(qeq_isa_detected(isa) == independent_detect(isa), "%s: qeq says %d, independent %d",
          qeq_isa_name(isa), qeq_isa_detected(isa), independent_detect(isa));
    if (qeq_isa_detected(isa)) printf(" %s", qeq_isa_name(isa));
  }
  printf("; best %s\n", qeq_isa_name(qeq_isa_best_detected()));
  CHECK(qeq_isa_best_detected() == expected_best(), "best detected %s, want %s",
        qeq_isa_name(qeq_isa_best_detected()), qeq_isa_name(expected_best()));
  const char* want_best = getenv("QEQ_TEST_EXPECT_BEST");
  if (want_best != NULL && want_best[0] != '\0') {
    CHECK(strcmp(qeq_isa_name(qeq_isa_best_detected()), want_best) == 0,
          "QEQ_TEST_EXPECT_BEST=%s but best detected is %s", want_best,
          qeq_isa_name(qeq_isa_best_detected()));
  }
}

static void test_names(void** state) {
  (void)state;
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    const char* name = qeq_isa_name((qeq_isa)i);
    CHECK(name != NULL, "isa %d has no name", i);
    qeq_isa back;
    CHECK(qeq_isa_from_name(name, &back) == QEQ_OK && back == (qeq_isa)i, "%s round trip", name);
  }
  for (int f = 0; f < QEQ_FAMILY_COUNT; f++) {
    const char* family = qeq_kernel_family_name((size_t)f);
    const char* variant = qeq_kernel_variant_name(qeq_kernel_family_name((size_t)f));
    CHECK(family != NULL && variant != NULL, "family %d unnamed", f);
    if (f == QEQ_FAMILY_QU8S8_IGEMM && strcmp(variant, "none") == 0) continue;
    /* Variant names are qeq_<family>_ukernel_[<tile>]_<isa> (the tile for GEMM families). */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "qeq_%s_ukernel_", family);
    CHECK(strncmp(variant, prefix, strlen(prefix)) == 0, "variant %s of %s", variant, family);
    const char* isa_part = strstr(variant + strlen(prefix) - 1, "__");
    CHECK(isa_part != NULL, "variant %s has no __<isa>", variant);
    qeq_isa isa;
    CHECK(qeq_isa_from_name(isa_part + 2, &isa) == QEQ_OK, "variant %s isa", variant);
  }
  CHECK(qeq_version() == QEQ_VERSION, "linked version %d, header %d", qeq_version(), QEQ_VERSION);
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", QEQ_VERSION_MAJOR, QEQ_VERSION_MINOR, QEQ_VERSION_PATCH);
  CHECK(strcmp(qeq_version_string(), want) == 0, "version string %s", qeq_version_string());
}

static void test_every_cap(void** state) {
  (void)state;
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n = detected_isas(isas);
  for (size_t i = 0; i < n; i++) {
    CHECK(qeq_set_isa_cap(isas[i]) == QEQ_OK, "cap %s: %s", qeq_isa_name(isas[i]),
          qeq_last_error());
    CHECK(qeq_isa_effective() == isas[i], "cap %s: effective %s", qeq_isa_name(isas[i]),
          qeq_isa_name(qeq_isa_effective()));
    expect_selection(qeq_isa_required_features(isas[i]), qeq_isa_name(isas[i]));
    printf("  cap %-10s ->", qeq_isa_name(isas[i]));
    for (int f = 0; f < QEQ_FAMILY_COUNT; f++) {
      printf(" %s", qeq_kernel_variant_name(qeq_kernel_family_name((size_t)f)));
    }
    printf("\n");
  }
  qeq_clear_isa_cap();
  CHECK(qeq_isa_effective() == expected_best(), "clear: effective %s",
        qeq_isa_name(qeq_isa_effective()));
  expect_selection(qeq_dispatch_detected_features(), "no cap");
}

static void test_hook(void** state) {
  (void)state;
  const uint32_t detected = qeq_dispatch_detected_features();
  /* Every subset of the detected features selects as the rule says. */
  for (uint32_t subset = 0; subset <= detected; subset++) {
    if ((subset & ~detected) != 0) continue;
    CHECK(qeq_dispatch_test_set_features(subset) == QEQ_OK, "hook 0x%x: %s", (unsigned)subset,
          qeq_last_error());
    char context[32];
    snprintf(context, sizeof context, "features 0x%x", (unsigned)subset);
    expect_selection(subset, context);
  }
  qeq_dispatch_test_restore();
  expect_selection(detected, "restored");
  /* A feature the CPU lacks is refused. */
  const uint32_t missing = ~detected & (QEQ_FEATURE_NEON | QEQ_FEATURE_AVX2);
  CHECK(qeq_dispatch_test_set_features(detected | missing) == QEQ_ERROR_UNSUPPORTED,
        "hook accepted undetected features");
  expect_selection(detected, "after refused hook");
}

/* kernels/int8-configs.inc as this build compiled it: every named variant is registered, the
 * indirect GEMM shares the GEMM's ISA and tile, the configurations run best first, and the
 * selected one agrees with the families' selections. */
static void test_int8_configs(void** state) {
  (void)state;
  size_t listed = 0;
#define QEQ_INT8_CONFIG(isa, ...) QEQ_IF_BUILT(isa, listed++;)
#include "kernels/int8-configs.inc"
#undef QEQ_INT8_CONFIG
  size_t count;
  const qeq_int8_config* configs = qeq_int8_configs(&count);
  CHECK(count == listed, "%zu of the %zu int8 configurations built resolve to registered variants",
        count, listed);
  for (size_t i = 0; i < count; i++) {
    const qeq_int8_config* c = &configs[i];
    CHECK(c->gemm->family == QEQ_FAMILY_QU8S8_GEMM && c->gemm->isa == c->isa, "config %s: gemm %s",
          qeq_isa_name(c->isa), c->gemm->name);
    CHECK(c->dwconv->family == QEQ_FAMILY_QU8S8_DWCONV &&
              (qeq_isa_required_features(c->dwconv->isa) & ~qeq_isa_required_features(c->isa)) == 0,
          "config %s: dwconv %s needs more than the ISA", qeq_isa_name(c->isa), c->dwconv->name);
    if (c->igemm != NULL) {
      CHECK(c->igemm->family == QEQ_FAMILY_QU8S8_IGEMM && c->igemm->isa == c->isa &&
                c->igemm->mr == c->gemm->mr && c->igemm->nr == c->gemm->nr &&
                c->igemm->kr == c->gemm->kr,
            "config %s: igemm %s does not share the tile of %s", qeq_isa_name(c->isa),
            c->igemm->name, c->gemm->name);
    }
    size_t rank = 0, prev_rank = 0;
    for (size_t p = 0; p < PREFERENCE_COUNT; p++) {
      if (preference[p] == c->isa) rank = p;
      if (i > 0 && preference[p] == configs[i - 1].isa) prev_rank = p;
    }
    CHECK(i == 0 || prev_rank < rank, "config %s is listed out of preference order",
          qeq_isa_name(c->isa));
    printf("  int8 %-10s gemm %s, igemm %s, dwconv %s\n", qeq_isa_name(c->isa), c->gemm->name,
           c->igemm ? c->igemm->name : "none (convolutions gather)", c->dwconv->name);
  }
  CHECK(count > 0 && configs[count - 1].isa == QEQ_ISA_SCALAR, "no scalar int8 configuration last");
  const qeq_int8_config* now = qeq_dispatch_int8();
  CHECK(now->gemm == qeq_dispatch_select(QEQ_FAMILY_QU8S8_GEMM) &&
            now->igemm == qeq_dispatch_select(QEQ_FAMILY_QU8S8_IGEMM) &&
            now->dwconv == qeq_dispatch_select(QEQ_FAMILY_QU8S8_DWCONV),
        "the selected int8 configuration and the families' selections differ");
}

/* Kernel calls racing with cap changes: every result must be right (all ISAs agree). */
#define RACE_CHANNELS 37
#define RACE_INNER 41
#define RACE_OUTER 5
typedef struct race {
  qeq_shape shape;
  float x[RACE_OUTER * RACE_CHANNELS * RACE_INNER];
  float want[RACE_CHANNELS];
  _Atomic int stop;
  _Atomic int bad;
} race;

static void* race_reader(void* arg) {
  race* r = arg;
  float got[RACE_CHANNELS];
  for (int iter = 0; iter < 2000 && !atomic_load(&r->stop); iter++) {
    const int axis = 1;
    if (qeq_channel_range_f32(&r->shape, r->x, axis, got) != QEQ_OK ||
        memcmp(got, r->want, sizeof got) != 0) {
      atomic_store(&r->bad, 1);
    }
  }
  return NULL;
}

static void test_cap_changes_race_with_calls(void** state) {
  (void)state;
  static race r;
  const size_t dims[3] = {RACE_OUTER, RACE_CHANNELS, RACE_INNER};
  assert_int_equal(qeq_shape_init(&r.shape, 3, dims), QEQ_OK);
  test_rng rng;
  rng_init(&rng, test_seed());
  fill_values(&rng, r.x, sizeof r.x / sizeof r.x[0]);
  assert_int_equal(qeq_channel_range_f32(&r.shape, r.x, 1, r.want), QEQ_OK);
  atomic_store(&r.stop, 0);
  atomic_store(&r.bad, 0);
  pthread_t threads[2];
  for (int t = 0; t < 2; t++)
    assert_int_equal(pthread_create(&threads[t], NULL, race_reader, &r), 0);
  qeq_isa isas[QEQ_ISA_COUNT];
  const size_t n = detected_isas(isas);
  for (int round = 0; round < 300; round++) {
    (void)qeq_set_isa_cap(isas[(size_t)round % n]);
    if (round % 7 == 0) qeq_clear_isa_cap();
  }
  atomic_store(&r.stop, 1);
  for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
  qeq_clear_isa_cap();
  CHECK(!atomic_load(&r.bad), "a kernel call during cap changes gave a wrong result");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_environment_cap),
      cmocka_unit_test(test_detection),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_every_cap),
      cmocka_unit_test(test_hook),
      cmocka_unit_test(test_int8_configs),
      cmocka_unit_test(test_cap_changes_race_with_calls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
