/* Cache-line-aligned scratch: a 64-byte vector that straddles two lines costs two accesses. */
#include "src/base/workspace.h"

#include <stdint.h>
#include <stdlib.h>

float* qeq_aligned_floats(size_t n) {
  const size_t line = QEQ_CACHE_LINE_FLOATS * sizeof(float);
  if (n == 0) n = 1;
  if (n > (SIZE_MAX - line) / sizeof(float)) return NULL;
  /* aligned_alloc wants a multiple of the alignment */
  const size_t bytes = (n * sizeof(float) + line - 1) / line * line;
  return aligned_alloc(line, bytes);
}

void qeq_aligned_free(float* p) {
  free(p);
}

float* qeq_workspace_acquire(size_t n, int* ok) {
  if (n == 0) return NULL;
  float* p = qeq_aligned_floats(n);
  if (p == NULL) *ok = 0;
  return p;
}

float* qeq_scratch_acquire(size_t floats, size_t work_floats, float** work) {
  float* scratch = malloc((floats ? floats : 1) * sizeof(float));
  int ok = scratch != NULL;
  *work = qeq_workspace_acquire(work_floats, &ok);
  if (ok) return scratch;
  qeq_scratch_release(scratch, *work);
  *work = NULL;
  return NULL;
}

void qeq_scratch_release(float* scratch, float* work) {
  free(scratch);
  qeq_aligned_free(work);
}
