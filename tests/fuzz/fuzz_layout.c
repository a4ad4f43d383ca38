/* Fuzzes the 8-bit layout functions (qeq/nhwc.h): NCHW <-> NHWC and the channel shuffle, with
 * fuzzed sizes (sometimes 0, sometimes overflowing size_t or PTRDIFF_MAX bytes) on buffers that
 * may be NULL, short or overlapping; every call must refuse cleanly or give the scalar path's
 * bits. */
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

enum { OPS = 3 };

typedef struct args {
  int op;
  size_t sizes[4];
  const void* x;
  void* y;
} args;

static qeq_status call(void* p) {
  args* a = p;
  const size_t* s = a->sizes;
  switch (a->op) {
    case 0: return qeq_nchw_to_nhwc_x8(s[0], s[1], s[2], s[3], a->x, a->y);
    case 1: return qeq_nhwc_to_nchw_x8(s[0], s[1], s[2], s[3], a->x, a->y);
    default: return qeq_x8_channel_shuffle(s[0], s[1], s[2], a->x, a->y);
  }
}

static const char* const names[OPS] = {"qeq_nchw_to_nhwc_x8", "qeq_nhwc_to_nchw_x8",
                                       "qeq_x8_channel_shuffle"};

static const char* decode(fuzz* f, void* p) {
  args* a = p;
  a->op = (int)fuzz_below(f, OPS);
  const size_t used = a->op == 2 ? 3 : 4;
  static const size_t limits[4] = {3, 33, 9, 9}; /* at most 2 * 32 * 8 * 8 = FUZZ_MAX_NUMEL */
  int huge[4] = {0, 0, 0, 0}, hostile = 0;
  for (size_t i = 0; i < 4; i++) {
    const uint8_t tag = fuzz_byte(f);
    a->sizes[i] = fuzz_below(f, limits[i]);
    if (i < used && tag % 32 == 0) {
      a->sizes[i] = tag & 32 ? SIZE_MAX / 2 : (size_t)PTRDIFF_MAX / 3 + 1;
      huge[i] = hostile = 1;
    }
  }
  if (a->op == 2) a->sizes[3] = 1; /* three sizes: pixels, groups, channels_per_group */
  size_t bytes = 1;
  for (size_t i = 0; i < used; i++) {
    /* With a huge size, every other nonzero one is at least 3: the product overflows (or a
     * zero size is refused first), so the call never writes past the small buffers. */
    if (hostile && !huge[i] && a->sizes[i] != 0 && a->sizes[i] < 3) a->sizes[i] = 3;
    if (!hostile) bytes *= a->sizes[i];
  }
  if (hostile) bytes = 64;
  a->x = fuzz_buffer(f, FUZZ_U8, bytes);
  const int alias = fuzz_byte(f) % 8 == 0 && a->x != NULL;
  a->y = alias ? (void*)a->x : fuzz_buffer(f, FUZZ_U8, bytes);
  return names[a->op];
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  args a;
  return fuzz_one(data, size, &a, sizeof a, decode, call);
}
