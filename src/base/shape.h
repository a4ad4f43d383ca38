/* Internal: validating shapes and folding them to the canonical [outer, channels, inner];
 * shared argument checks. */
#ifndef QEQ_SRC_SHAPE_H
#define QEQ_SRC_SHAPE_H

#include <stdint.h>

#include <qeq/shape.h>

/* The most bytes a call may span or offset into one buffer: pointer arithmetic and pointer
 * differences are defined only up to PTRDIFF_MAX, not SIZE_MAX. */
#define QEQ_MAX_BYTES ((size_t)PTRDIFF_MAX)

/* *bytes = (rows - 1) * stride + row_bytes (0 for no rows): the bytes `rows` rows of
 * row_bytes each, `stride` bytes apart, span from the first one's start. 1 if that and every
 * row's offset fit in QEQ_MAX_BYTES, else 0 (*bytes untouched). */
int qeq_span_fits(size_t rows, size_t row_bytes, size_t stride, size_t* bytes);

typedef struct qeq_axis_view {
  size_t outer;    /* product of the dims before the axis */
  size_t channels; /* the axis' own size */
  size_t inner;    /* product of the dims after the axis (contiguous run length) */
  size_t numel;
} qeq_axis_view;

/* Checks shape (non-NULL, 1..8 dims, numel and byte count fit size_t) and axis (negative
 * counts from the end) and fills *view. Messages start with `fn`. */
qeq_status qeq_axis_view_make(const char* fn, const qeq_shape* shape, int axis,
                              qeq_axis_view* view);

/* Shape checks alone; *numel gets the element count. */
qeq_status qeq_shape_check(const char* fn, const qeq_shape* shape, size_t* numel);

/* QEQ_OK if v[0..n) are all finite; QEQ_ERROR_INVALID_ARGUMENT if v is NULL, else
 * QEQ_ERROR_NON_FINITE naming `name[index]`. Messages start with `fn`. */
qeq_status qeq_check_finite(const char* fn, const char* name, const float* v, size_t n);
/* Index of the first NaN or Inf among v[0..n), or n if there is none. */
size_t qeq_first_non_finite(const float* v, size_t n);

/* 1 if [a, a + a_bytes) and [b, b + b_bytes) share a byte. */
int qeq_ranges_overlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes);

/* One buffer a call reads or writes, for qeq_check_overlaps. */
typedef struct qeq_buffer {
  const char* name;
  const void* data; /* NULL: absent (optional argument), ignored */
  size_t bytes;
  int written;
  int in_place_of; /* 1 + index of the buffer this output may equal exactly (y == x), or 0 */
} qeq_buffer;

/* The one overlap rule of the API: a written buffer may share no byte with any other buffer,
 * except that it may be exactly its `in_place_of` partner; inputs may overlap each other.
 * QEQ_ERROR_INVALID_ARGUMENT names both buffers. */
qeq_status qeq_check_overlaps(const char* fn, const qeq_buffer* buffers, size_t count);

/* The one rule for a quantization scale, at every entry point that takes one: positive, finite
 * and with a finite float32 reciprocal (the kernels multiply by 1.0f / scale, which is inf for
 * scales below about 2^-128, all subnormal). */
int qeq_scale_is_valid(float scale);
/* QEQ_ERROR_INVALID_ARGUMENT naming `name` (as the caller spells it, e.g.
 * "config->quant.input_scale") unless qeq_scale_is_valid(scale). Messages start with `fn`. */
qeq_status qeq_check_scale(const char* fn, const char* name, float scale);
/* qeq_check_scale on scales[0..count), naming `name[i]`; QEQ_ERROR_INVALID_ARGUMENT if scales
 * is NULL. */
qeq_status qeq_check_scales(const char* fn, const char* name, const float* scales, size_t count);

/* qeq_shape_init with messages naming `fn`. */
qeq_status qeq_shape_init_for(const char* fn, qeq_shape* shape, size_t ndim, const size_t* dims);

#endif /* QEQ_SRC_SHAPE_H */
