/* Per-axis and whole-tensor min/max, range and absmax on top of the min/max kernels.
 *
 * Strategy by the length of the contiguous run each channel has per outer index (inner):
 * - long runs: f32_rminmax reduces each run in registers and folds it into the channel;
 * - short runs (inner == 1, or 3x3 kernels along axis 1): f32_vminmax accumulates whole rows
 *   element-wise across `outer` into a cache-resident block of accumulators, vectorised
 *   across channels; for inner > 1 each block is then folded per channel by f32_rminmax. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qeq/ranges.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/tuning.h"
#include "src/base/workspace.h"
#include "src/tensor/ranges.h"

static float canonical_nan(void) {
  const uint32_t bits = 0x7fc00000u;
  float value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

/* NaN rule: a NaN in a channel makes min and max NaN (kernels guarantee only min). */
static void finalize_minmax(size_t channels, float* min, float* max) {
  const float nan = canonical_nan();
  for (size_t c = 0; c < channels; c++) {
    if (isnan(min[c])) {
      min[c] = nan;
      max[c] = nan;
    }
  }
}

/* Short runs: whole row blocks are accumulated element-wise across `outer` in a 64-byte
 * aligned workspace (accumulators that straddle cache lines halve AVX-512 throughput). Each
 * accumulator starts on its own cache line, one line further than the previous one ends so
 * that the two never sit a multiple of 4 KiB apart (L1 set conflicts). */
static size_t block_channels_of(const qeq_axis_view* v) {
  return QEQ_ROW_BLOCK_ELEMENTS / v->inner > 0 ? QEQ_ROW_BLOCK_ELEMENTS / v->inner : 1;
}

static size_t acc_stride_of(const qeq_axis_view* v) {
  const size_t row = v->channels * v->inner;
  const size_t block_width = block_channels_of(v) * v->inner;
  const size_t width_limit = row < block_width ? row : block_width;
  return (width_limit + QEQ_CACHE_LINE_FLOATS - 1) / QEQ_CACHE_LINE_FLOATS * QEQ_CACHE_LINE_FLOATS +
         QEQ_CACHE_LINE_FLOATS;
}

/* Workspace: acc_min and acc_max (acc_stride floats each), the sums of squares (acc_stride
 * doubles, used only when asked for), then the fold's discarded half. */
size_t qeq_minmax_workspace_floats(const qeq_axis_view* v) {
  if (v->inner >= QEQ_RUN_KERNEL_MIN_INNER) return 0;
  return 4 * acc_stride_of(v) + block_channels_of(v);
}

void qeq_minmax_view(const qeq_axis_view* v, const float* x, float* min, float* max, float* work) {
  qeq_minmax_squares_view(v, x, min, max, NULL, work);
}

/* The row path's accumulators in `work`. */
typedef struct row_accumulators {
  float* min;
  float* max;
  double* squares; /* NULL: no sums of squares */
  float* discard;
} row_accumulators;

/* shift (0..15) moves the accumulators that many elements into their cache-line padding, so
 * that they sit at the same offset within a line as the rows they accumulate: the AVX-512
 * kernel aligns its row loads, and then its accumulator accesses are aligned too. */
static row_accumulators row_accumulators_of(const qeq_axis_view* v, float* work, int squares,
                                            size_t shift) {
  const size_t acc_stride = acc_stride_of(v);
  const row_accumulators acc = {work + shift, work + acc_stride + shift,
                                squares ? (double*)(void*)(work + 2 * acc_stride) + shift : NULL,
                                work + 4 * acc_stride};
  return acc;
}

static size_t line_offset(const float* p) {
  return ((uintptr_t)p % (QEQ_CACHE_LINE_FLOATS * sizeof(float))) / sizeof(float);
}

static void row_accumulators_reset(const row_accumulators* acc, size_t width) {
  for (size_t j = 0; j < width; j++) {
    acc->min[j] = INFINITY;
    acc->max[j] = -INFINITY;
  }
  for (size_t j = 0; acc->squares != NULL && j < width; j++) acc->squares[j] = 0.0;
}

/* Channels c0 .. c0 + nc - 1 from their `inner` accumulators each (a copy when inner == 1). */
static void row_accumulators_fold(const qeq_axis_view* v, const row_accumulators* acc, size_t c0,
                                  size_t nc, float* min, float* max, double* sum_squares) {
  if (v->inner == 1) {
    memcpy(min + c0, acc->min, nc * sizeof(float));
    memcpy(max + c0, acc->max, nc * sizeof(float));
  } else {
    /* min of the mins, max of the maxes */
    qeq_f32_rminmax_ukernel_fn* rminmax = QEQ_DISPATCH(f32_rminmax);
    rminmax(1, nc, v->inner, acc->min, min + c0, acc->discard, NULL);
    rminmax(1, nc, v->inner, acc->max, acc->discard, max + c0, NULL);
  }
  /* A channel's sum: its `inner` element sums added in order. */
  for (size_t c = 0; acc->squares != NULL && c < nc; c++) {
    double total = 0.0;
    for (size_t i = 0; i < v->inner; i++) total += acc->squares[c * v->inner + i];
    sum_squares[c0 + c] = total;
  }
}

void qeq_minmax_squares_view(const qeq_axis_view* v, const float* x, float* min, float* max,
                             double* sum_squares, float* work) {
  if (v->inner >= QEQ_RUN_KERNEL_MIN_INNER) {
    QEQ_DISPATCH(f32_rminmax)
    (v->outer, v->channels, v->inner, x, min, max, sum_squares);
    finalize_minmax(v->channels, min, max);
    return;
  }
  qeq_f32_vminmax_ukernel_fn* vminmax = QEQ_DISPATCH(f32_vminmax);
  const size_t row = v->channels * v->inner;
  const size_t block_channels = block_channels_of(v);
  for (size_t c0 = 0; c0 < v->channels; c0 += block_channels) {
    const size_t nc = v->channels - c0 < block_channels ? v->channels - c0 : block_channels;
    const size_t width = nc * v->inner;
    const row_accumulators acc =
        row_accumulators_of(v, work, sum_squares != NULL, line_offset(x + c0 * v->inner));
    row_accumulators_reset(&acc, width);
    vminmax(v->outer, width, row, x + c0 * v->inner, acc.min, acc.max, acc.squares);
    row_accumulators_fold(v, &acc, c0, nc, min, max, sum_squares);
  }
  finalize_minmax(v->channels, min, max);
}

int qeq_minmax_rows_streamable(const qeq_axis_view* v) {
  return v->inner < QEQ_RUN_KERNEL_MIN_INNER && v->channels <= block_channels_of(v);
}

void qeq_minmax_rows_begin(const qeq_axis_view* v, int squares, float* work) {
  const row_accumulators acc = row_accumulators_of(v, work, squares, 0);
  row_accumulators_reset(&acc, v->channels * v->inner);
}

void qeq_minmax_rows_add(const qeq_axis_view* v, int squares, const float* rows, size_t count,
                         float* work) {
  const row_accumulators acc = row_accumulators_of(v, work, squares, 0);
  const size_t width = v->channels * v->inner;
  QEQ_DISPATCH(f32_vminmax)(count, width, width, rows, acc.min, acc.max, acc.squares);
}

void qeq_minmax_rows_scale_add(const qeq_axis_view* v, int squares, float* rows,
                               const float* row_scales, const float* column_scales, size_t count,
                               int store, float* work) {
  const row_accumulators acc = row_accumulators_of(v, work, squares, 0);
  const size_t width = v->channels * v->inner;
  float* out = store ? rows : NULL;
  if (row_scales != NULL) {
    QEQ_DISPATCH(f32_rscale_vminmax)
    (count, width, rows, row_scales, out, acc.min, acc.max, acc.squares);
  } else {
    QEQ_DISPATCH(f32_vscale_vminmax)
    (count, width, rows, column_scales, out, acc.min, acc.max, acc.squares);
  }
}

void qeq_minmax_rows_end(const qeq_axis_view* v, float* min, float* max, double* sum_squares,
                         float* work) {
  const row_accumulators acc = row_accumulators_of(v, work, sum_squares != NULL, 0);
  row_accumulators_fold(v, &acc, 0, v->channels, min, max, sum_squares);
  finalize_minmax(v->channels, min, max);
}

/* Writes min/max of a validated view, acquiring the workspace before writing anything. */
static qeq_status minmax_view(const char* fn, const qeq_axis_view* v, const float* x, float* min,
                              float* max) {
  const size_t floats = qeq_minmax_workspace_floats(v);
  int ok = 1;
  float* work = qeq_workspace_acquire(floats, &ok);
  if (!ok) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate a %zu-byte workspace", fn,
                    floats * sizeof(float));
  }
  qeq_minmax_view(v, x, min, max, work);
  qeq_aligned_free(work);
  return QEQ_OK;
}

static qeq_status check_reduction(const char* fn, const qeq_shape* shape, const float* x, int axis,
                                  qeq_axis_view* view) {
  qeq_status status = qeq_axis_view_make(fn, shape, axis, view);
  if (status != QEQ_OK) return status;
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (view->numel == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: shape has a zero-sized dimension (an empty slice has no min or max)", fn);
  }
  return QEQ_OK;
}

/* Outputs must be non-NULL and distinct from each other and from the input. */
static qeq_status check_outputs(const char* fn, const char* const names[2], float* const outs[2],
                                size_t count, const float* x, size_t numel) {
  qeq_buffer buffers[3] = {{"x", x, numel * sizeof(float), 0, 0}};
  size_t n = 1;
  for (; n < 3 && names[n - 1] != NULL; n++) {
    if (outs[n - 1] == NULL) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, names[n - 1]);
    }
    buffers[n] = (qeq_buffer){names[n - 1], outs[n - 1], count * sizeof(float), 1, 0};
  }
  return qeq_check_overlaps(fn, buffers, n);
}

qeq_status qeq_channel_minmax_f32(const qeq_shape* shape, const float* x, int axis, float* min_out,
                                  float* max_out) {
  static const char fn[] = "qeq_channel_minmax_f32";
  static const char* const names[2] = {"min_out", "max_out"};
  qeq_axis_view v;
  qeq_status status = check_reduction(fn, shape, x, axis, &v);
  if (status == QEQ_OK) {
    status = check_outputs(fn, names, (float* const[2]){min_out, max_out}, v.channels, x, v.numel);
  }
  if (status != QEQ_OK) return status;
  return minmax_view(fn, &v, x, min_out, max_out);
}

/* range and absmax need both min and max; compute them into a temporary pair. */
static qeq_status derived_stat(const char* fn, const qeq_shape* shape, const float* x, int axis,
                               float* out, int want_range) {
  qeq_axis_view v;
  qeq_status status = check_reduction(fn, shape, x, axis, &v);
  if (status == QEQ_OK) {
    const char* const names[2] = {want_range ? "range_out" : "absmax_out", NULL};
    status = check_outputs(fn, names, (float* const[2]){out, NULL}, v.channels, x, v.numel);
  }
  if (status != QEQ_OK) return status;
  float* pair = malloc(2 * v.channels * sizeof(float));
  if (pair == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", fn,
                    2 * v.channels * sizeof(float));
  }
  float* min = pair;
  float* max = pair + v.channels;
  status = minmax_view(fn, &v, x, min, max);
  if (status == QEQ_OK) {
    const float nan = canonical_nan();
    for (size_t c = 0; c < v.channels; c++) {
      const float value = want_range ? max[c] - min[c] : fmaxf(fabsf(min[c]), fabsf(max[c]));
      out[c] = isnan(value) || isnan(min[c]) ? nan : value;
    }
  }
  free(pair);
  return status;
}

qeq_status qeq_channel_range_f32(const qeq_shape* shape, const float* x, int axis,
                                 float* range_out) {
  return derived_stat("qeq_channel_range_f32", shape, x, axis, range_out, 1);
}

qeq_status qeq_channel_absmax_f32(const qeq_shape* shape, const float* x, int axis,
                                  float* absmax_out) {
  return derived_stat("qeq_channel_absmax_f32", shape, x, axis, absmax_out, 0);
}

qeq_status qeq_tensor_minmax_f32(const qeq_shape* shape, const float* x, float* min_out,
                                 float* max_out) {
  static const char fn[] = "qeq_tensor_minmax_f32";
  size_t numel;
  qeq_status status = qeq_shape_check(fn, shape, &numel);
  if (status != QEQ_OK) return status;
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (numel == 0) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: shape has a zero-sized dimension (an empty tensor has no min or max)", fn);
  }
  static const char* const names[2] = {"min_out", "max_out"};
  status = check_outputs(fn, names, (float* const[2]){min_out, max_out}, 1, x, numel);
  if (status != QEQ_OK) return status;
  const qeq_axis_view whole = {1, 1, numel, numel};
  float min, max;
  status = minmax_view(fn, &whole, x, &min, &max);
  if (status == QEQ_OK) {
    *min_out = min;
    *max_out = max;
  }
  return status;
}
