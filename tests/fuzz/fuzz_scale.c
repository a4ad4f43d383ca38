/* Fuzzes qeq_scale_channels_f32: in place, out of place, and overlaps it must refuse. */
#include <string.h>

#include "tests/fuzz/fuzz.h"

typedef struct args {
  qeq_shape shape;
  int axis;
  const float *x, *scales;
  float* y;
} args;

static qeq_status call(void* p) {
  args* a = p;
  return qeq_scale_channels_f32(&a->shape, a->x, a->axis, a->scales, a->y);
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  const size_t numel = fuzz_shape(f, &a->shape);
  a->axis = fuzz_axis(f, a->shape.ndim);
  float* x = fuzz_buffer(f, FUZZ_F32, numel);
  a->x = x;
  a->scales =
      fuzz_buffer(f, fuzz_byte(f) % 2 ? FUZZ_SCALE : FUZZ_F32, fuzz_axis_dim(&a->shape, a->axis));
  a->y = fuzz_byte(f) % 4 == 0 ? x : fuzz_buffer(f, FUZZ_F32, numel);
  fuzz_track(f, &a->shape, sizeof a->shape);
  return "qeq_scale_channels_f32";
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
