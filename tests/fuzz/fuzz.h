/* Shared machinery of the libFuzzer harnesses: decoding fuzz bytes into arguments, buffers
 * that may be NULL or overlap, and the checks every public call promises (a documented
 * status, a message naming the function, nothing written on failure, the scalar path's
 * bits on success). A broken promise aborts, which libFuzzer reports as a crash. */
#ifndef QEQ_TESTS_FUZZ_H
#define QEQ_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <qeq/qeq.h>

#define FUZZ_MAX_BUFFERS 24
#define FUZZ_MAX_NUMEL 4096 /* keeps each input fast */

/* Element types of fuzz_buffer; FUZZ_SCALE is float32 filled by fuzz_scale. */
typedef enum fuzz_kind { FUZZ_F32, FUZZ_SCALE, FUZZ_I32, FUZZ_U8, FUZZ_F64, FUZZ_SIZE } fuzz_kind;

typedef struct fuzz_region {
  void* ptr;
  size_t size;
  unsigned char *before, *after;
  int owned; /* allocated by fuzz_buffer (freed at the end) */
} fuzz_region;

typedef struct fuzz {
  const uint8_t* data;
  size_t size;
  qeq_isa cap; /* the first call runs under this detected level */
  fuzz_region regions[FUZZ_MAX_BUFFERS];
  size_t count;
} fuzz;

/* The harness entry point libFuzzer (or tests/fuzz/replay.c) calls. */
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

void fuzz_init(fuzz* f, const uint8_t* data, size_t size);
void fuzz_free(fuzz* f);

/* ---- decoding; exhausted input reads as zeros ---- */
uint8_t fuzz_byte(fuzz* f);
size_t fuzz_below(fuzz* f, size_t n); /* in [0, n); 0 when n is 0 */
float fuzz_f32(fuzz* f);              /* NaN, +-Inf, denormals, -0.0, small and huge values */
float fuzz_scale(fuzz* f);            /* mostly a sane positive scale, sometimes hostile */
int32_t fuzz_i32(fuzz* f);            /* dtype bounds, INT32 extremes, small values */
/* A shape of 1 to 4 dims (sometimes 0 or QEQ_MAX_DIMS + 1, sometimes a zero dim) of at most
 * FUZZ_MAX_NUMEL elements; returns its element count (0 for an invalid ndim). */
size_t fuzz_shape(fuzz* f, qeq_shape* shape);
int fuzz_axis(fuzz* f, size_t ndim); /* mostly valid, sometimes out of range either side */
/* dims[axis] (negative from the end) of a valid shape and axis, else 1: the output count a
 * call would write if it accepted them. */
size_t fuzz_axis_dim(const qeq_shape* shape, int axis);
/* A per-tensor or per-channel count: mostly 1 or dims[axis], sometimes neither. */
size_t fuzz_count(fuzz* f, const qeq_shape* shape, int axis);

/* count elements of `kind`: NULL (1 in 16), a view into an earlier buffer where it fits
 * (overlap, 1 in 8), else a new exact-size allocation filled from the fuzz bytes (floats:
 * one buffer in four hostile throughout, the others plain finite values). */
void* fuzz_buffer(fuzz* f, fuzz_kind kind, size_t count);
/* Memory the harness owns (descriptors, handles' outputs) that the checks also cover. */
void fuzz_track(fuzz* f, void* ptr, size_t size);

/* ---- checks ---- */
void fuzz_fail(const char* format, ...);
/* st is a documented status; on failure the message starts with "fn:" and says more. */
void fuzz_check_status(qeq_status st, const char* fn);
/* Calls call(args) under f->cap with every region snapshotted: on failure nothing may have
 * changed; on success the call is repeated from the same state under the scalar cap and
 * must succeed with the same bits. Returns the first call's status. */
qeq_status fuzz_run(fuzz* f, const char* fn, qeq_status (*call)(void*), void* args);

/* A harness's whole entry point: args (args_size bytes) zeroed, decode fills it from the
 * bytes and returns the public function's name, then fuzz_run(call). Returns 0. */
int fuzz_one(const uint8_t* data, size_t size, void* args, size_t args_size,
             const char* (*decode)(fuzz* f, void* args), qeq_status (*call)(void*));

#endif /* QEQ_TESTS_FUZZ_H */
