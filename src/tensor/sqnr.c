/* SQNR in double precision: sums of squares with compensated (Kahan) accumulation so long
 * tensors keep their accuracy. */
#include <math.h>

#include <qeq/sqnr.h>

#include "src/base/error.h"
#include "src/base/shape.h"

qeq_status qeq_sqnr_f32(size_t n, const float* ref, const float* x, double* sqnr_db) {
  static const char fn[] = "qeq_sqnr_f32";
  if (ref == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: ref is NULL", fn);
  if (x == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (sqnr_db == NULL) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: sqnr_db is NULL", fn);
  if (n == 0) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: n is 0", fn);
  const qeq_buffer buffers[] = {{"sqnr_db", sqnr_db, sizeof(double), 1, 0},
                                {"ref", ref, n * sizeof(float), 0, 0},
                                {"x", x, n * sizeof(float), 0, 0}};
  const qeq_status status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  double signal = 0.0, signal_c = 0.0, noise = 0.0, noise_c = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(ref[i])) {
      return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: ref[%zu] is not finite", fn, i);
    }
    if (!isfinite(x[i])) return qeq_fail(QEQ_ERROR_NON_FINITE, "%s: x[%zu] is not finite", fn, i);
    const double r = ref[i], d = (double)ref[i] - (double)x[i];
    const double ys = r * r - signal_c, ts = signal + ys;
    signal_c = (ts - signal) - ys;
    signal = ts;
    const double yn = d * d - noise_c, tn = noise + yn;
    noise_c = (tn - noise) - yn;
    noise = tn;
  }
  if (noise == 0.0) {
    *sqnr_db = INFINITY; /* exact match */
  } else if (signal == 0.0) {
    *sqnr_db = -INFINITY;
  } else {
    *sqnr_db = 10.0 * log10(signal / noise); /* = 20 log10 of the ratio of norms */
  }
  return QEQ_OK;
}
