/* Per-channel scaling along any axis on top of the scaling kernels.
 *
 * Long runs go to f32_rscale (one broadcast scale per run). Short runs go to f32_vscale,
 * which multiplies rows by a vector: for inner == 1 that vector is `scales` itself; for
 * inner > 1 a block of it is expanded (each scale repeated `inner` times) into a workspace. */
#include <math.h>
#include <stdlib.h>

#include <qeq/scale.h>

#include "dispatch/dispatch.h"
#include "src/error.h"
#include "src/shape.h"
#include "src/tuning.h"
#include "src/workspace.h"

static qeq_status check_scale_args(const char* fn, const qeq_axis_view* v, const float* x,
                                   const float* scales, const float* y) {
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (scales == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: scales is NULL", fn);
  if (y == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  const size_t bytes = v->numel * sizeof(float);
  if (y != x && qeq_ranges_overlap(y, bytes, x, bytes)) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT,
                    "%s: y partially overlaps x (only y == x is allowed)", fn);
  }
  if (qeq_ranges_overlap(y, bytes, scales, v->channels * sizeof(float))) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y overlaps scales", fn);
  }
  for (size_t c = 0; c < v->channels; c++) {
    if (!isfinite(scales[c])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: scales[%zu] is not finite", fn, c);
    }
  }
  return QEQ_OK;
}

qeq_status qeq_scale_channels_f32(const qeq_shape* shape, const float* x, int axis,
                                  const float* scales, float* y) {
  static const char fn[] = "qeq_scale_channels_f32";
  qeq_axis_view v;
  qeq_status status = qeq_axis_view_make(fn, shape, axis, &v);
  if (status != QEQ_OK) return status;
  if (v.numel == 0) {
    /* Nothing to scale, but the pointers must still be real. */
    if (x == NULL || scales == NULL || y == NULL) {
      return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      x == NULL        ? "x"
                      : scales == NULL ? "scales"
                                       : "y");
    }
    return QEQ_OK;
  }
  status = check_scale_args(fn, &v, x, scales, y);
  if (status != QEQ_OK) return status;

  if (v.inner >= QEQ_RUN_KERNEL_MIN_INNER) {
    QEQ_DISPATCH(f32_rscale, F32_RSCALE)(v.outer, v.channels, v.inner, x, scales, y);
    return QEQ_OK;
  }
  qeq_f32_vscale_ukernel_fn* vscale = QEQ_DISPATCH(f32_vscale, F32_VSCALE);
  const size_t row = v.channels * v.inner;
  if (v.inner == 1) {
    for (size_t c0 = 0; c0 < v.channels; c0 += QEQ_ROW_BLOCK_ELEMENTS) {
      const size_t width =
          v.channels - c0 < QEQ_ROW_BLOCK_ELEMENTS ? v.channels - c0 : QEQ_ROW_BLOCK_ELEMENTS;
      vscale(v.outer, width, row, x + c0, scales + c0, y + c0);
    }
    return QEQ_OK;
  }
  const size_t block_channels =
      QEQ_ROW_BLOCK_ELEMENTS / v.inner > 0 ? QEQ_ROW_BLOCK_ELEMENTS / v.inner : 1;
  float* expanded = qeq_aligned_floats(block_channels * v.inner);
  if (expanded == NULL) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate a %zu-byte workspace", fn,
                    block_channels * v.inner * sizeof(float));
  }
  for (size_t c0 = 0; c0 < v.channels; c0 += block_channels) {
    const size_t nc = v.channels - c0 < block_channels ? v.channels - c0 : block_channels;
    for (size_t c = 0; c < nc; c++) {
      for (size_t i = 0; i < v.inner; i++) expanded[c * v.inner + i] = scales[c0 + c];
    }
    vscale(v.outer, nc * v.inner, row, x + c0 * v.inner, expanded, y + c0 * v.inner);
  }
  qeq_aligned_free(expanded);
  return QEQ_OK;
}
