/* Internal: cache-line-aligned scratch buffers for the API layer (kernels never allocate). */
#ifndef QEQ_SRC_WORKSPACE_H
#define QEQ_SRC_WORKSPACE_H

#include <stddef.h>

/* QEQ_CACHE_LINE_FLOATS floats = one 64-byte cache line. */
#define QEQ_CACHE_LINE_FLOATS 16

/* n floats starting on a 64-byte boundary, or NULL (also when the size overflows). */
float* qeq_aligned_floats(size_t n);
void qeq_aligned_free(float* p);

#endif /* QEQ_SRC_WORKSPACE_H */
