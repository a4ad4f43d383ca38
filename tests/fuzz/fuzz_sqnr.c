/* Fuzzes qeq_sqnr_f32 and qeq_select_lowest_sqnr, overlapping outputs included. */
#include <string.h>

#include "tests/fuzz/fuzz.h"

typedef struct args {
  int which;
  size_t n;
  const float *ref, *x;
  const double* sqnr;
  double* db;
  ptrdiff_t take;
  size_t *chosen, *chosen_count;
} args;

static qeq_status call(void* p) {
  args* a = p;
  if (a->which == 0) return qeq_sqnr_f32(a->n, a->ref, a->x, a->db);
  return qeq_select_lowest_sqnr(a->n, a->sqnr, a->take, a->chosen, a->chosen_count);
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->which = (int)fuzz_below(f, 2);
  a->n = fuzz_below(f, 64);
  if (a->which == 0) {
    a->ref = fuzz_buffer(f, FUZZ_F32, a->n);
    a->x = fuzz_byte(f) % 8 == 0 ? a->ref : fuzz_buffer(f, FUZZ_F32, a->n);
    a->db = fuzz_buffer(f, FUZZ_F64, 1);
  } else {
    a->sqnr = fuzz_buffer(f, FUZZ_F64, a->n);
    a->take = (ptrdiff_t)fuzz_below(f, 2 * a->n + 3) - (ptrdiff_t)a->n - 1;
    a->chosen = fuzz_buffer(f, FUZZ_SIZE, a->n);
    a->chosen_count = fuzz_buffer(f, FUZZ_SIZE, 1);
  }
  return a->which ? "qeq_select_lowest_sqnr" : "qeq_sqnr_f32";
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
