/* Fuzzes quantize, dequantize, fake-quantize and requantize: dtypes, per-tensor and
 * per-channel counts, hostile scales, zero points and bounds, in place and overlapping. */
#include <string.h>

#include "tests/fuzz/fuzz.h"

typedef struct args {
  int which, axis;
  qeq_shape shape;
  qeq_dtype dtype;
  size_t count;
  const void* x;
  const float* scales;
  const int32_t* zero_points;
  int32_t zero_point, quant_min, quant_max;
  void* y;
} args;

static const char* const names[] = {"qeq_quantize_f32", "qeq_dequantize_f32",
                                    "qeq_fake_quantize_f32", "qeq_requantize_s32"};

static qeq_status call(void* p) {
  args* a = p;
  switch (a->which) {
    case 0:
      return qeq_quantize_f32(&a->shape, a->x, a->axis, a->dtype, a->count, a->scales,
                              a->zero_points, a->y);
    case 1:
      return qeq_dequantize_f32(&a->shape, a->x, a->axis, a->dtype, a->count, a->scales,
                                a->zero_points, a->y);
    case 2:
      return qeq_fake_quantize_f32(&a->shape, a->x, a->axis, a->count, a->scales, a->zero_points,
                                   a->quant_min, a->quant_max, a->y);
    default:
      return qeq_requantize_s32(&a->shape, a->x, a->axis, a->count, a->scales, a->zero_point,
                                a->quant_min, a->quant_max, a->dtype, a->y);
  }
}

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->which = (int)fuzz_below(f, 4);
  const size_t numel = fuzz_shape(f, &a->shape);
  a->axis = fuzz_axis(f, a->shape.ndim);
  a->dtype = (qeq_dtype)fuzz_below(f, 4);
  a->count = fuzz_count(f, &a->shape, a->axis);
  static const fuzz_kind in_kind[] = {FUZZ_F32, FUZZ_U8, FUZZ_F32, FUZZ_I32};
  static const fuzz_kind out_kind[] = {FUZZ_U8, FUZZ_F32, FUZZ_F32, FUZZ_U8};
  void* x = fuzz_buffer(f, in_kind[a->which], numel);
  a->x = x;
  a->scales = fuzz_buffer(f, FUZZ_SCALE, a->count);
  a->zero_points = fuzz_buffer(f, FUZZ_I32, a->count);
  a->zero_point = fuzz_i32(f), a->quant_min = fuzz_i32(f), a->quant_max = fuzz_i32(f);
  a->y = a->which == 2 && fuzz_byte(f) % 4 == 0 ? x : fuzz_buffer(f, out_kind[a->which], numel);
  fuzz_track(f, &a->shape, sizeof a->shape);
  return names[a->which];
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
