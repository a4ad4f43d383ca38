/* Internal: cache-line-aligned scratch buffers for the API layer (kernels never allocate). */
#ifndef QEQ_SRC_BASE_WORKSPACE_H
#define QEQ_SRC_BASE_WORKSPACE_H

#include <stddef.h>

/* QEQ_CACHE_LINE_FLOATS floats = one 64-byte cache line. */
#define QEQ_CACHE_LINE_FLOATS 16

/* n floats starting on a 64-byte boundary, or NULL (also when the size overflows). */
float* qeq_aligned_floats(size_t n);
void qeq_aligned_free(float* p);

/* qeq_aligned_floats(n) for n > 0, else NULL with *ok kept 1; on failure *ok = 0. */
float* qeq_workspace_acquire(size_t n, int* ok);

/* `floats` floats of scratch (malloc) plus a kernel workspace of `work_floats` into *work:
 * both or neither (NULL), so callers acquire everything before their first write. Released by
 * qeq_scratch_release. */
float* qeq_scratch_acquire(size_t floats, size_t work_floats, float** work);
void qeq_scratch_release(float* scratch, float* work);

#endif /* QEQ_SRC_BASE_WORKSPACE_H */
