/* Internal: checking qeq_q8_tensor descriptors and preparing the kernels' qparams, shared by
 * the quantized ops (add, cat, pools, clamps). */
#ifndef QEQ_SRC_OPS_QOPS_TENSOR_H
#define QEQ_SRC_OPS_QOPS_TENSOR_H

#include <qeq/qops.h>

#include "kernels/ukernels.h"

/* A checked descriptor: pixel count, pixel stride (elements), bytes spanned, dtype range. */
typedef struct qeq_q8_view {
  size_t pixels; /* n * h * w */
  size_t stride; /* pixel_stride_bytes, or c when it was 0 */
  size_t bytes;  /* from the first byte to one past the last used byte; 0 when empty */
  int is_signed;
  int32_t qmin, qmax;
} qeq_q8_view;

/* Checks t (non-NULL, dtype 8-bit, a valid scale (qeq_scale_is_valid) small enough that
 * scale * 255 stays finite, zero point in range, pixel stride >= c, n * h * w pixels whose span
 * fits QEQ_MAX_BYTES) and data (non-NULL). Messages start with `fn` and name `name`. */
qeq_status qeq_q8_tensor_check(const char* fn, const char* name, const qeq_q8_tensor* t,
                               const void* data, qeq_q8_view* view);

/* QEQ_ERROR_SHAPE_MISMATCH unless y has x's dtype, scale and zero point (the ops that keep the
 * input's qparams, as PyTorch does). */
qeq_status qeq_q8_check_same_qparams(const char* fn, const qeq_q8_tensor* x,
                                     const qeq_q8_tensor* y);

/* QEQ_ERROR_SHAPE_MISMATCH unless a and b agree on the sizes flagged (n, h, w, c). */
qeq_status qeq_q8_check_sizes(const char* fn, const char* a_name, const qeq_q8_tensor* a,
                              const char* b_name, const qeq_q8_tensor* b, int n, int h, int w,
                              int c);

/* numpy-style broadcasting of a and b to y (mul, add): each of a's and b's sizes (n, h, w, c)
 * equals y's or is 1, and each of y's is a's or b's; else QEQ_ERROR_SHAPE_MISMATCH. */
qeq_status qeq_q8_check_broadcast(const char* fn, const qeq_q8_tensor* a, const qeq_q8_tensor* b,
                                  const qeq_q8_tensor* y);

/* Whether t has y's sizes and pixel stride (y may then be t, in place). */
static inline int qeq_q8_same_layout(const qeq_q8_tensor* t, const qeq_q8_view* tv,
                                     const qeq_q8_tensor* y, const qeq_q8_view* yv) {
  return t->n == y->n && t->h == y->h && t->w == y->w && t->c == y->c && tv->stride == yv->stride;
}

/* The checks of an elementwise op y = f(a, b) with broadcasting (add, mul): the three tensors,
 * their dtypes (qeq_q8_check_sizes), the broadcast, and the overlaps: y may be exactly a or b
 * (same start and layout; the kernels load before they store), and b may be a. Fills the
 * views. */
qeq_status qeq_q8_check_binary(const char* fn, const qeq_q8_tensor* a, const void* a_data,
                               const qeq_q8_tensor* b, const void* b_data, const qeq_q8_tensor* y,
                               const void* y_data, qeq_q8_view* av, qeq_q8_view* bv,
                               qeq_q8_view* yv);

/* The pixel of t that output pixel (n, h, w) reads under that broadcasting (size-1 axes
 * repeat). */
static inline size_t qeq_q8_broadcast_pixel(const qeq_q8_tensor* t, size_t n, size_t h, size_t w) {
  return ((t->n == 1 ? 0 : n) * t->h + (t->h == 1 ? 0 : h)) * t->w + (t->w == 1 ? 0 : w);
}

/* Requantization to t's qparams: inv_scale = 1.0f / scale, lo / hi = qmin / qmax - zero point. */
qeq_q8_quant_params qeq_q8_output_params(const qeq_q8_tensor* t, const qeq_q8_view* view);

/* PyTorch's quantize_val: clamp(zero_point + rne(v * (1.0f / scale)), qmin, qmax); a NaN
 * product gives the zero point (none arises from a checked scale and a finite v). */
int32_t qeq_q8_quantize_value(float v, const qeq_q8_tensor* t, const qeq_q8_view* view);

#endif /* QEQ_SRC_OPS_QOPS_TENSOR_H */
