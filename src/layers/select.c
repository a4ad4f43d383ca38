/* Selective equalization: which layers to equalize, by SQNR
 * (docs/numerics.md#sqnr-and-selective-equalization). */
#include <math.h>

#include <qeq/sqnr.h>

#include "src/base/error.h"
#include "src/base/shape.h"

qeq_status qeq_select_lowest_sqnr(size_t count, const double* sqnr, ptrdiff_t n, size_t* chosen,
                                  size_t* chosen_count) {
  static const char fn[] = "qeq_select_lowest_sqnr";
  if ((count > 0 && (sqnr == NULL || chosen == NULL)) || chosen_count == NULL) {
    return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: an argument is NULL", fn);
  }
  const qeq_buffer buffers[] = {{"chosen", chosen, count * sizeof(size_t), 1, 0},
                                {"chosen_count", chosen_count, sizeof(size_t), 1, 0},
                                {"sqnr", sqnr, count * sizeof(double), 0, 0}};
  const qeq_status status = qeq_check_overlaps(fn, buffers, sizeof buffers / sizeof buffers[0]);
  if (status != QEQ_OK) return status;
  for (size_t i = 0; i < count; i++) {
    if (isnan(sqnr[i])) return qeq_fail(QEQ_ERROR_INVALID_ARGUMENT, "%s: sqnr[%zu] is NaN", fn, i);
  }
  /* Insertion sort of indices: stable, and layer counts are small. */
  for (size_t i = 0; i < count; i++) {
    size_t j = i;
    while (j > 0 && sqnr[chosen[j - 1]] > sqnr[i]) {
      chosen[j] = chosen[j - 1];
      j--;
    }
    chosen[j] = i;
  }
  size_t take;
  if (n >= 0) {
    take = (size_t)n < count ? (size_t)n : count;
  } else {
    /* n >= PTRDIFF_MIN: -(n + 1) never overflows. */
    const size_t drop = (size_t)(-(n + 1)) + 1;
    take = drop < count ? count - drop : 0;
  }
  *chosen_count = take;
  return QEQ_OK;
}
