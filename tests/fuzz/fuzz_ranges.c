/* Fuzzes shapes and ranges: qeq_shape_init, qeq_shape_numel and the four range calls. */
#include <string.h>

#include "tests/fuzz/fuzz.h"

typedef struct args {
  int which, axis;
  qeq_shape shape;
  size_t ndim, dims[QEQ_MAX_DIMS + 1];
  const float* x;
  float *a, *b;
  size_t* numel;
  qeq_shape* out_shape;
} args;

static const char* const names[] = {"qeq_channel_minmax_f32", "qeq_channel_range_f32",
                                    "qeq_channel_absmax_f32", "qeq_tensor_minmax_f32",
                                    "qeq_shape_init",         "qeq_shape_numel"};

static qeq_status call(void* p) {
  args* a = p;
  switch (a->which) {
    case 0: return qeq_channel_minmax_f32(&a->shape, a->x, a->axis, a->a, a->b);
    case 1: return qeq_channel_range_f32(&a->shape, a->x, a->axis, a->a);
    case 2: return qeq_channel_absmax_f32(&a->shape, a->x, a->axis, a->a);
    case 3: return qeq_tensor_minmax_f32(&a->shape, a->x, a->a, a->b);
    case 4: return qeq_shape_init(a->out_shape, a->ndim, a->dims);
    default: return qeq_shape_numel(&a->shape, a->numel);
  }
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->which = (int)fuzz_below(f, 6);
  const size_t numel = fuzz_shape(f, &a->shape);
  a->axis = fuzz_axis(f, a->shape.ndim);
  if (a->which == 4 || a->which == 5) {
    /* Raw dims, including counts whose product overflows size_t. */
    a->ndim = fuzz_below(f, QEQ_MAX_DIMS + 2);
    for (size_t d = 0; d <= QEQ_MAX_DIMS; d++) {
      const uint8_t tag = fuzz_byte(f);
      a->dims[d] = tag >= 250 ? (size_t)-1 / (tag - 248) : tag;
      if (a->which == 5 && d < QEQ_MAX_DIMS) a->shape.dims[d] = a->dims[d];
    }
    if (a->which == 5) a->shape.ndim = a->ndim;
    a->out_shape = fuzz_buffer(f, FUZZ_SIZE, sizeof(qeq_shape) / sizeof(size_t));
    a->numel = fuzz_buffer(f, FUZZ_SIZE, 1);
  } else {
    const size_t channels = a->which == 3 ? 1 : fuzz_axis_dim(&a->shape, a->axis);
    a->x = fuzz_buffer(f, FUZZ_F32, numel);
    a->a = fuzz_buffer(f, FUZZ_F32, channels);
    a->b = fuzz_buffer(f, FUZZ_F32, channels);
  }
  fuzz_track(f, &a->shape, sizeof a->shape);
  return names[a->which];
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
