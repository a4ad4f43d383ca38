/* Per-channel scaling along any axis on top of the scaling kernels.
 *
 * Long runs go to f32_rscale (one broadcast scale per run). Short runs go to f32_vscale,
 * which multiplies rows by a vector: for inner == 1 that vector is `scales` itself; for
 * inner > 1 a block of it is expanded (each scale repeated `inner` times) into a workspace. */
#include <math.h>
#include <stdlib.h>

#include <qeq/scale.h>

#include "dispatch/dispatch.h"
#include "src/base/error.h"
#include "src/base/shape.h"
#include "src/base/tuning.h"
#include "src/base/workspace.h"
#include "src/tensor/scale.h"

static qeq_status check_scale_args(const char* fn, const qeq_axis_view* v, const float* x,
                                   const float* scales, const float* y) {
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (scales == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: scales is NULL", fn);
  if (y == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: y is NULL", fn);
  const size_t bytes = v->numel * sizeof(float);
  const qeq_buffer buffers[] = {{"y", y, bytes, 1, 2},
                                {"x", x, bytes, 0, 0},
                                {"scales", scales, v->channels * sizeof(float), 0, 0}};
  qeq_status status = qeq_check_overlaps(fn, buffers, 3);
  if (status != QEQ_OK) return status;
  for (size_t c = 0; c < v->channels; c++) {
    if (!isfinite(scales[c])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: scales[%zu] is not finite", fn, c);
    }
  }
  return QEQ_OK;
}

static size_t block_channels_of(const qeq_axis_view* v) {
  return QEQ_ROW_BLOCK_ELEMENTS / v->inner > 0 ? QEQ_ROW_BLOCK_ELEMENTS / v->inner : 1;
}

size_t qeq_scale_workspace_floats(const qeq_axis_view* v) {
  if (v->inner >= QEQ_RUN_KERNEL_MIN_INNER || v->inner == 1) return 0;
  return block_channels_of(v) * v->inner;
}

void qeq_scale_view(const qeq_axis_view* v, const float* x, const float* scales, float* y,
                    float* work) {
  if (v->inner >= QEQ_RUN_KERNEL_MIN_INNER) {
    QEQ_DISPATCH(f32_rscale)(v->outer, v->channels, v->inner, x, scales, y);
    return;
  }
  qeq_f32_vscale_ukernel_fn* vscale = QEQ_DISPATCH(f32_vscale);
  const size_t row = v->channels * v->inner;
  if (v->inner == 1) {
    for (size_t c0 = 0; c0 < v->channels; c0 += QEQ_ROW_BLOCK_ELEMENTS) {
      const size_t width =
          v->channels - c0 < QEQ_ROW_BLOCK_ELEMENTS ? v->channels - c0 : QEQ_ROW_BLOCK_ELEMENTS;
      vscale(v->outer, width, row, x + c0, scales + c0, y + c0);
    }
    return;
  }
  const size_t block_channels = block_channels_of(v);
  float* expanded = work;
  for (size_t c0 = 0; c0 < v->channels; c0 += block_channels) {
    const size_t nc = v->channels - c0 < block_channels ? v->channels - c0 : block_channels;
    for (size_t c = 0; c < nc; c++) {
      for (size_t i = 0; i < v->inner; i++) expanded[c * v->inner + i] = scales[c0 + c];
    }
    vscale(v->outer, nc * v->inner, row, x + c0 * v->inner, expanded, y + c0 * v->inner);
  }
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
  const size_t floats = qeq_scale_workspace_floats(&v);
  int ok = 1;
  float* work = qeq_workspace_acquire(floats, &ok);
  if (!ok) {
    return qeq_fail(QEQ_ERROR_OUT_OF_MEMORY, "%s: cannot allocate a %zu-byte workspace", fn,
                    floats * sizeof(float));
  }
  qeq_scale_view(&v, x, scales, y, work);
  qeq_aligned_free(work);
  return QEQ_OK;
}
