/* The harnesses' decoder and checks; see fuzz.h. */
#include "tests/fuzz/fuzz.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fuzz_fail(const char* format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "fuzz: broken promise: ");
  vfprintf(stderr, format, args);
  fprintf(stderr, "\n");
  va_end(args);
  abort();
}

static void* checked_malloc(size_t size) {
  void* p = malloc(size ? size : 1);
  if (!p) fuzz_fail("harness out of memory");
  return p;
}

void fuzz_init(fuzz* f, const uint8_t* data, size_t size) {
  memset(f, 0, sizeof *f);
  f->data = data, f->size = size;
  /* The first byte picks the level of the first call among those the CPU has. */
  qeq_isa levels[QEQ_ISA_COUNT];
  size_t n = 0;
  for (int isa = 0; isa < QEQ_ISA_COUNT; isa++)
    if (qeq_isa_detected((qeq_isa)isa)) levels[n++] = (qeq_isa)isa;
  f->cap = levels[fuzz_below(f, n)];
}

void fuzz_free(fuzz* f) {
  for (size_t i = 0; i < f->count; i++) {
    if (f->regions[i].owned) free(f->regions[i].ptr);
    free(f->regions[i].before), free(f->regions[i].after);
  }
  f->count = 0;
}

uint8_t fuzz_byte(fuzz* f) {
  if (!f->size) return 0;
  f->size--;
  return *f->data++;
}

size_t fuzz_below(fuzz* f, size_t n) {
  if (n <= 1) return 0;
  size_t v = fuzz_byte(f);
  if (n > 256) v = v << 8 | fuzz_byte(f);
  return v % n;
}

static uint32_t fuzz_u32(fuzz* f) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = v << 8 | fuzz_byte(f);
  return v;
}

static float from_bits(uint32_t u) {
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

float fuzz_f32(fuzz* f) {
  const uint8_t tag = fuzz_byte(f);
  switch (tag % 16) {
    case 0: return from_bits(0x7f800000u | (fuzz_u32(f) & 0x807fffffu) | 1u); /* NaN */
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return from_bits(fuzz_u32(f) & 0x807fffffu); /* denormal or +-0 */
    case 4: return -0.0f;
    case 5: return (tag & 16 ? -1.0f : 1.0f) * FLT_MAX;
    case 6: return from_bits(fuzz_u32(f)); /* any bits */
    default: return ldexpf((float)(int8_t)fuzz_byte(f), (int)(tag >> 4) - 8);
  }
}

float fuzz_scale(fuzz* f) {
  const uint8_t tag = fuzz_byte(f);
  if (tag < 16) return fuzz_f32(f);
  return ldexpf(1.0f + (float)(tag & 15) / 16.0f, (int)(tag >> 4) - 10);
}

int32_t fuzz_i32(fuzz* f) {
  static const int32_t edges[] = {0, 1, -1, 127, -128, 255, 256, INT32_MAX, INT32_MIN, 1 << 24};
  const uint8_t tag = fuzz_byte(f);
  if (tag < 64) return edges[tag % (sizeof edges / sizeof edges[0])];
  if (tag < 128) return (int32_t)fuzz_u32(f);
  return (int32_t)(int8_t)fuzz_byte(f) * (tag & 1 ? 1 : 3);
}

size_t fuzz_shape(fuzz* f, qeq_shape* shape) {
  const uint8_t tag = fuzz_byte(f);
  memset(shape, 0, sizeof *shape);
  shape->ndim = tag % 32 == 0 ? 0 : tag % 32 == 1 ? QEQ_MAX_DIMS + 1 : 1 + tag % 4;
  if (shape->ndim == 0 || shape->ndim > QEQ_MAX_DIMS) return 0;
  size_t numel = 1;
  for (size_t d = 0; d < shape->ndim; d++) {
    size_t dim = fuzz_below(f, 12);
    if (dim == 0 && fuzz_byte(f) % 4) dim = 1; /* zero dims now and then */
    if (dim && numel * dim > FUZZ_MAX_NUMEL) dim = 1;
    shape->dims[d] = dim;
    numel *= dim;
  }
  return numel;
}

size_t fuzz_axis_dim(const qeq_shape* shape, int axis) {
  if (shape->ndim == 0 || shape->ndim > QEQ_MAX_DIMS) return 1;
  const long a = axis < 0 ? (long)axis + (long)shape->ndim : (long)axis;
  return a >= 0 && a < (long)shape->ndim ? shape->dims[a] : 1;
}

size_t fuzz_count(fuzz* f, const qeq_shape* shape, int axis) {
  const uint8_t tag = fuzz_byte(f);
  if (tag % 8 == 0) return fuzz_below(f, 16);
  return tag % 2 ? 1 : fuzz_axis_dim(shape, axis);
}

int fuzz_axis(fuzz* f, size_t ndim) {
  const uint8_t tag = fuzz_byte(f);
  if (tag >= 240) return tag % 2 ? 1 << 30 : -(1 << 30);
  return (int)(tag % (2 * ndim + 3)) - (int)ndim - 1; /* [-ndim - 1, ndim + 1] */
}

static size_t kind_size(fuzz_kind kind) {
  switch (kind) {
    case FUZZ_U8: return 1;
    case FUZZ_F64:
    case FUZZ_SIZE: return 8;
    default: return 4;
  }
}

/* A finite value from one byte, so most calls get past their finiteness checks. */
static float tame(fuzz* f) {
  const uint8_t b = fuzz_byte(f);
  return ldexpf((float)(int8_t)b, (b & 3) - 4);
}

static void fill(fuzz* f, fuzz_kind kind, void* p, size_t count) {
  const int hostile = fuzz_byte(f) % 4 == 0;
  for (size_t i = 0; i < count; i++) {
    switch (kind) {
      case FUZZ_F32: ((float*)p)[i] = hostile ? fuzz_f32(f) : tame(f); break;
      case FUZZ_SCALE: ((float*)p)[i] = fuzz_scale(f); break;
      case FUZZ_I32: ((int32_t*)p)[i] = fuzz_i32(f); break;
      case FUZZ_U8: ((uint8_t*)p)[i] = fuzz_byte(f); break;
      case FUZZ_F64: ((double*)p)[i] = (double)(hostile ? fuzz_f32(f) : tame(f)); break;
      case FUZZ_SIZE: ((size_t*)p)[i] = fuzz_below(f, 1u << 16); break;
    }
  }
}

void fuzz_track(fuzz* f, void* ptr, size_t size) {
  if (f->count == FUZZ_MAX_BUFFERS) fuzz_fail("harness tracks too many regions");
  f->regions[f->count++] = (fuzz_region){ptr, size, NULL, NULL, 0};
}

void* fuzz_buffer(fuzz* f, fuzz_kind kind, size_t count) {
  const size_t elem = kind_size(kind), bytes = count * elem;
  const uint8_t tag = fuzz_byte(f);
  if (tag % 16 == 0) return NULL;
  if (tag % 8 == 1 && f->count) {
    /* A view inside an earlier buffer, aligned for the element type. */
    const fuzz_region* r = &f->regions[fuzz_below(f, f->count)];
    if (r->owned && r->size >= bytes) {
      const size_t room = (r->size - bytes) / elem;
      return (unsigned char*)r->ptr + fuzz_below(f, room + 1) * elem;
    }
  }
  if (f->count == FUZZ_MAX_BUFFERS) return NULL;
  void* p = checked_malloc(bytes);
  fill(f, kind, p, count);
  fuzz_track(f, p, bytes);
  f->regions[f->count - 1].owned = 1;
  return p;
}

void fuzz_check_status(qeq_status st, const char* fn) {
  if (st < QEQ_OK || st > QEQ_ERROR_SIZE_OVERFLOW) fuzz_fail("%s: undocumented status %d", fn, st);
  if (st == QEQ_OK) return;
  const char* message = qeq_last_error();
  const size_t len = strlen(fn);
  if (strncmp(message, fn, len) != 0 || message[len] != ':' || strlen(message) < len + 3)
    fuzz_fail("%s: status %s with message \"%s\"", fn, qeq_status_string(st), message);
}

static void snapshot(fuzz* f, int after) {
  for (size_t i = 0; i < f->count; i++) {
    fuzz_region* r = &f->regions[i];
    unsigned char** slot = after ? &r->after : &r->before;
    if (!*slot) *slot = checked_malloc(r->size);
    memcpy(*slot, r->ptr, r->size);
  }
}

/* The first region that differs from its snapshot, or -1. */
static long changed(const fuzz* f, int after) {
  for (size_t i = 0; i < f->count; i++) {
    const fuzz_region* r = &f->regions[i];
    if (memcmp(r->ptr, after ? r->after : r->before, r->size) != 0) return (long)i;
  }
  return -1;
}

qeq_status fuzz_run(fuzz* f, const char* fn, qeq_status (*call)(void*), void* args) {
  snapshot(f, 0);
  if (qeq_set_isa_cap(f->cap) != QEQ_OK) fuzz_fail("cap %s refused", qeq_isa_name(f->cap));
  const qeq_status st = call(args);
  qeq_clear_isa_cap();
  fuzz_check_status(st, fn);
  if (st != QEQ_OK) {
    const long i = changed(f, 0);
    if (i >= 0) fuzz_fail("%s failed (%s) but wrote region %ld", fn, qeq_last_error(), i);
    return st;
  }
  /* Again from the same state on the scalar path: the same status and the same bits. */
  snapshot(f, 1);
  for (size_t i = 0; i < f->count; i++)
    memcpy(f->regions[i].ptr, f->regions[i].before, f->regions[i].size);
  qeq_set_isa_cap(QEQ_ISA_SCALAR);
  const qeq_status scalar = call(args);
  qeq_clear_isa_cap();
  if (scalar != QEQ_OK)
    fuzz_fail("%s: ok under %s, %s on scalar", fn, qeq_isa_name(f->cap), qeq_last_error());
  const long i = changed(f, 1);
  if (i >= 0)
    fuzz_fail("%s: region %ld differs between %s and scalar", fn, i, qeq_isa_name(f->cap));
  return st;
}

int fuzz_one(const uint8_t* data, size_t size, void* args, size_t args_size,
             const char* (*decode)(fuzz* f, void* args), qeq_status (*call)(void*)) {
  fuzz f;
  fuzz_init(&f, data, size);
  memset(args, 0, args_size);
  const char* fn = decode(&f, args);
  fuzz_run(&f, fn, call, args);
  fuzz_free(&f);
  return 0;
}
