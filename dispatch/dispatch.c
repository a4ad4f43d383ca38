/* Dispatch tables: detect once, select each family's variant from its registry, apply caps.
 *
 * Selection state lives in atomics so readers never lock: a kernel call loads one pointer.
 * Writers (first use, cap changes, the test hook) serialise on a mutex. */
#include "dispatch/dispatch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/cpu-features.h"
#include "src/base/error.h"

#define QEQ_UKERNEL(family, isa)                                                         \
  QEQ_IF_BUILT(isa,                                                                      \
               {QEQ_FAMILY_ID(family), QEQ_ISA_ID(isa), QEQ_UKERNEL_STRING(family, isa), \
                (qeq_generic_fn)QEQ_UKERNEL_NAME(family, isa), 0, 0, 0}, )
#define QEQ_GEMM_UKERNEL(family, tile, isa, mr, nr, kr)                                    \
  QEQ_IF_BUILT(                                                                            \
      isa,                                                                                 \
      {QEQ_FAMILY_ID(family), QEQ_ISA_ID(isa), QEQ_UKERNEL_TILE_STRING(family, tile, isa), \
       (qeq_generic_fn)QEQ_UKERNEL_TILE_NAME(family, tile, isa), mr, nr, kr}, )
#define QEQ_FAMILY QEQ_IGNORE
static const qeq_variant registry[] = {
#include "kernels/families.inc"
};
#undef QEQ_FAMILY
#undef QEQ_UKERNEL
#undef QEQ_GEMM_UKERNEL
enum { REGISTRY_SIZE = sizeof(registry) / sizeof(registry[0]) };

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t select_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint32_t detected_features; /* written once under init_once */
static char env_message[320];      /* written once under init_once */
static _Atomic int cap_isa = -1;   /* -1: no cap */
static _Atomic int test_override_active;
static _Atomic(const qeq_variant*) selected[QEQ_FAMILY_COUNT];
static _Atomic(const qeq_int8_config*) selected_int8;
static _Atomic uint32_t selection_features; /* the feature set the selection was made for */

/* The int8 configurations by variant name, resolved against the registry at first use. */
typedef struct int8_config_names {
  qeq_isa isa;
  const char *gemm, *igemm, *dwconv;
} int8_config_names;
#define QEQ_WITH_IGEMM(tile, isa) QEQ_UKERNEL_TILE_STRING(qu8s8_igemm, tile, isa)
#define QEQ_NO_IGEMM(tile, isa) NULL
#define QEQ_INT8_CONFIG(isa, tile, igemm, dwconv_isa, dwconv_tile)                                 \
  QEQ_IF_BUILT(isa,                                                                                \
               {QEQ_ISA_ID(isa), QEQ_UKERNEL_TILE_STRING(qu8s8_gemm, tile, isa), igemm(tile, isa), \
                QEQ_UKERNEL_TILE_STRING(qu8s8_dwconv, dwconv_tile, dwconv_isa)}, )
static const int8_config_names int8_config_list[] = {
#include "kernels/int8-configs.inc"
};
#undef QEQ_INT8_CONFIG
#undef QEQ_WITH_IGEMM
#undef QEQ_NO_IGEMM
enum { INT8_CONFIG_LIST_SIZE = sizeof(int8_config_list) / sizeof(int8_config_list[0]) };
static qeq_int8_config int8_configs[INT8_CONFIG_LIST_SIZE]; /* written once under init_once */
static size_t int8_config_count;                            /* those whose variants all resolved */

static const char* const isa_names[QEQ_ISA_COUNT] = {"scalar",  "avx2", "avx512", "avx512vnni",
                                                     "avxvnni", "neon", "neondot"};

static const char* const family_names[QEQ_FAMILY_COUNT] = {
#define QEQ_FAMILY(name, NAME, signature) [QEQ_FAMILY_##NAME] = #name,
#define QEQ_UKERNEL QEQ_IGNORE
#define QEQ_GEMM_UKERNEL QEQ_IGNORE
#include "kernels/families.inc"
#undef QEQ_FAMILY
#undef QEQ_UKERNEL
#undef QEQ_GEMM_UKERNEL
};

uint32_t qeq_isa_required_features(qeq_isa isa) {
  switch (isa) {
    case QEQ_ISA_SCALAR: return 0;
    case QEQ_ISA_AVX2: return QEQ_FEATURE_AVX2;
    case QEQ_ISA_AVX512: return QEQ_FEATURE_AVX2 | QEQ_FEATURE_AVX512;
    case QEQ_ISA_AVX512VNNI: return QEQ_FEATURE_AVX2 | QEQ_FEATURE_AVX512 | QEQ_FEATURE_AVX512VNNI;
    case QEQ_ISA_AVXVNNI: return QEQ_FEATURE_AVX2 | QEQ_FEATURE_AVXVNNI;
    case QEQ_ISA_NEON: return QEQ_FEATURE_NEON;
    case QEQ_ISA_NEONDOT: return QEQ_FEATURE_NEON | QEQ_FEATURE_NEONDOT;
    default: return UINT32_MAX;
  }
}

static int isa_valid(qeq_isa isa) {
  return (int)isa >= 0 && isa < QEQ_ISA_COUNT;
}

static int features_have(uint32_t features, qeq_isa isa) {
  const uint32_t need = qeq_isa_required_features(isa);
  return (need & ~features) == 0;
}

static const qeq_variant* find_variant(const char* name) {
  for (size_t i = 0; name != NULL && i < REGISTRY_SIZE; i++) {
    if (strcmp(registry[i].name, name) == 0) return &registry[i];
  }
  return NULL;
}

/* A configuration naming a variant the registry lacks is left out (the dispatch test fails
 * on it); the scalar one always resolves. */
static void resolve_int8_configs(void) {
  for (size_t i = 0; i < INT8_CONFIG_LIST_SIZE; i++) {
    const int8_config_names* names = &int8_config_list[i];
    const qeq_int8_config config = {names->isa, find_variant(names->gemm),
                                    find_variant(names->igemm), find_variant(names->dwconv)};
    if (config.gemm == NULL || config.dwconv == NULL ||
        (names->igemm != NULL && config.igemm == NULL)) {
      continue;
    }
    int8_configs[int8_config_count++] = config;
  }
}

/* Callers hold select_mutex (or run inside init_once). */
static void select_all(uint32_t allowed) {
  for (int f = 0; f < QEQ_FAMILY_COUNT; f++) {
    if (f == QEQ_FAMILY_QU8S8_GEMM || f == QEQ_FAMILY_QU8S8_IGEMM || f == QEQ_FAMILY_QU8S8_DWCONV) {
      continue; /* from the int8 configuration below */
    }
    const qeq_variant* choice = NULL;
    for (size_t i = 0; i < REGISTRY_SIZE && choice == NULL; i++) {
      if ((int)registry[i].family == f && features_have(allowed, registry[i].isa)) {
        choice = &registry[i];
      }
    }
    atomic_store(&selected[f], choice); /* every family has a scalar variant */
  }
  const qeq_int8_config* int8 = &int8_configs[int8_config_count - 1];
  for (size_t i = 0; i < int8_config_count; i++) {
    if (features_have(allowed, int8_configs[i].isa)) {
      int8 = &int8_configs[i];
      break;
    }
  }
  atomic_store(&selected[QEQ_FAMILY_QU8S8_GEMM], int8->gemm);
  atomic_store(&selected[QEQ_FAMILY_QU8S8_DWCONV], int8->dwconv);
  atomic_store(&selected[QEQ_FAMILY_QU8S8_IGEMM], int8->igemm);
  atomic_store(&selected_int8, int8);
  atomic_store(&selection_features, allowed);
}

static uint32_t allowed_features(void) {
  const int cap = atomic_load(&cap_isa);
  if (cap < 0) return detected_features;
  return detected_features & qeq_isa_required_features((qeq_isa)cap);
}

/* A caller's string made safe to echo: at most QEQ_ECHO_MAX bytes, each byte outside
 * printable ASCII (newlines, invalid UTF-8, ...) as \xNN, and a note when cut short. */
#define QEQ_ECHO_MAX 32
static void echo_string(const char* in, char* out, size_t out_size) {
  size_t n = 0, i = 0;
  for (; in[i] != '\0' && i < QEQ_ECHO_MAX; i++) {
    const unsigned char c = (unsigned char)in[i];
    const int printable = c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
    n += printable ? (size_t)snprintf(out + n, out_size - n, "%c", c)
                   : (size_t)snprintf(out + n, out_size - n, "\\x%02x", c);
  }
  if (in[i] != '\0') {
    snprintf(out + n, out_size - n, "...\" (truncated from %zu bytes)", strlen(in));
  } else {
    snprintf(out + n, out_size - n, "\"");
  }
}

static void read_env_cap(void) {
  const char* value = getenv("QEQ_ISA");
  if (value == NULL || value[0] == '\0') return;
  qeq_isa isa;
  int known = 0;
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    if (strcmp(value, isa_names[i]) == 0) {
      isa = (qeq_isa)i;
      known = 1;
    }
  }
  if (!known) {
    char echo[4 * QEQ_ECHO_MAX + 48];
    echo_string(value, echo, sizeof echo);
    snprintf(env_message, sizeof env_message,
             "QEQ_ISA=\"%s ignored: not an ISA name (scalar, avx2, avx512, avx512vnni, "
             "avxvnni, neon, neondot)",
             echo);
  } else if (!features_have(detected_features, isa)) {
    snprintf(env_message, sizeof env_message, "QEQ_ISA=%s ignored: this CPU does not support %s",
             isa_names[isa], isa_names[isa]);
  } else {
    atomic_store(&cap_isa, (int)isa);
  }
}

static void init_dispatch(void) {
  detected_features = qeq_cpu_detect_features();
  resolve_int8_configs();
  read_env_cap();
  select_all(allowed_features());
}

static void ensure_init(void) {
  pthread_once(&init_once, init_dispatch);
}

const qeq_variant* qeq_dispatch_select(qeq_kernel_family family) {
  ensure_init();
  return atomic_load_explicit(&selected[family], memory_order_acquire);
}

const qeq_int8_config* qeq_dispatch_int8(void) {
  ensure_init();
  return atomic_load_explicit(&selected_int8, memory_order_acquire);
}

const qeq_int8_config* qeq_int8_configs(size_t* count) {
  ensure_init();
  *count = int8_config_count;
  return int8_configs;
}

const qeq_variant* qeq_registry_variants(size_t* count) {
  *count = REGISTRY_SIZE;
  return registry;
}

int qeq_dispatch_isa_allowed(qeq_isa isa) {
  ensure_init();
  return isa_valid(isa) && features_have(atomic_load(&selection_features), isa);
}

uint32_t qeq_dispatch_detected_features(void) {
  ensure_init();
  return detected_features;
}

qeq_status qeq_dispatch_test_set_features(uint32_t features) {
  ensure_init();
  if ((features & ~detected_features) != 0) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED, "test features 0x%x exceed detected 0x%x",
                    (unsigned)features, (unsigned)detected_features);
  }
  pthread_mutex_lock(&select_mutex);
  atomic_store(&test_override_active, 1);
  select_all(features);
  pthread_mutex_unlock(&select_mutex);
  return QEQ_OK;
}

void qeq_dispatch_test_restore(void) {
  ensure_init();
  pthread_mutex_lock(&select_mutex);
  atomic_store(&test_override_active, 0);
  select_all(allowed_features());
  pthread_mutex_unlock(&select_mutex);
}

/* ---- public API ---- */

const char* qeq_isa_name(qeq_isa isa) {
  return isa_valid(isa) ? isa_names[isa] : NULL;
}

qeq_status qeq_isa_from_name(const char* name, qeq_isa* isa) {
  static const char fn[] = "qeq_isa_from_name";
  if (name == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: name is NULL", fn);
  if (isa == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: isa is NULL", fn);
  for (int i = 0; i < QEQ_ISA_COUNT; i++) {
    if (strcmp(name, isa_names[i]) == 0) {
      *isa = (qeq_isa)i;
      return QEQ_OK;
    }
  }
  char echo[4 * QEQ_ECHO_MAX + 48];
  echo_string(name, echo, sizeof echo);
  return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: name \"%s is not an ISA name", fn, echo);
}

int qeq_isa_detected(qeq_isa isa) {
  ensure_init();
  return isa_valid(isa) && features_have(detected_features, isa);
}

static qeq_isa best_isa_within(uint32_t features) {
  static const qeq_isa preference[] = {QEQ_ISA_AVX512VNNI, QEQ_ISA_AVX512,  QEQ_ISA_AVXVNNI,
                                       QEQ_ISA_AVX2,       QEQ_ISA_NEONDOT, QEQ_ISA_NEON};
  for (size_t i = 0; i < sizeof preference / sizeof preference[0]; i++) {
    if (features_have(features, preference[i])) return preference[i];
  }
  return QEQ_ISA_SCALAR;
}

qeq_isa qeq_isa_best_detected(void) {
  ensure_init();
  return best_isa_within(detected_features);
}

qeq_status qeq_set_isa_cap(qeq_isa isa) {
  ensure_init();
  if (!isa_valid(isa)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "qeq_set_isa_cap: isa %d is not a qeq_isa value",
                    (int)isa);
  }
  if (!features_have(detected_features, isa)) {
    return qeq_fail(QEQ_ERROR_UNSUPPORTED,
                    "qeq_set_isa_cap: isa cap %s: this CPU does not support it", isa_names[isa]);
  }
  pthread_mutex_lock(&select_mutex);
  atomic_store(&cap_isa, (int)isa);
  if (!atomic_load(&test_override_active)) select_all(allowed_features());
  pthread_mutex_unlock(&select_mutex);
  return QEQ_OK;
}

void qeq_clear_isa_cap(void) {
  ensure_init();
  pthread_mutex_lock(&select_mutex);
  atomic_store(&cap_isa, -1);
  if (!atomic_load(&test_override_active)) select_all(allowed_features());
  pthread_mutex_unlock(&select_mutex);
}

qeq_isa qeq_isa_effective(void) {
  ensure_init();
  const int cap = atomic_load(&cap_isa);
  return cap >= 0 ? (qeq_isa)cap : best_isa_within(detected_features);
}

const char* qeq_isa_env_message(void) {
  ensure_init();
  return env_message;
}

size_t qeq_kernel_family_count(void) {
  return QEQ_FAMILY_COUNT;
}

const char* qeq_kernel_family_name(size_t index) {
  return index < QEQ_FAMILY_COUNT ? family_names[index] : NULL;
}

const char* qeq_kernel_variant_paths(const char* family) {
  if (family == NULL) return NULL;
  for (int f = 0; f < QEQ_FAMILY_COUNT; f++) {
    if (strcmp(family, family_names[f]) == 0) {
      const qeq_variant* variant = qeq_dispatch_select((qeq_kernel_family)f);
      if (variant == NULL) return "none";
      /* The AVX2 and AVX-512 (no VNNI) GEMM and indirect GEMM (qu8s8-gemm-avx2-c4.h,
       * qu8s8-gemm-avx512.h in kernels/qu8s8-gemm). */
      const int two_paths = (variant->isa == QEQ_ISA_AVX2 || variant->isa == QEQ_ISA_AVX512) &&
                            (f == QEQ_FAMILY_QU8S8_GEMM || f == QEQ_FAMILY_QU8S8_IGEMM);
      return two_paths ? "vpmaddubsw where x_max * pair_bound <= 32767, else vpmaddwd" : "one path";
    }
  }
  return NULL;
}

const char* qeq_kernel_variant_name(const char* family) {
  if (family == NULL) return NULL;
  for (int f = 0; f < QEQ_FAMILY_COUNT; f++) {
    if (strcmp(family, family_names[f]) == 0) {
      const qeq_variant* variant = qeq_dispatch_select((qeq_kernel_family)f);
      return variant != NULL ? variant->name : "none";
    }
  }
  return NULL;
}
