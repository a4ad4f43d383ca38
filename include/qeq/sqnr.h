/* qeq: signal-to-quantization-noise ratio, as PyTorch's compute_sqnr. */
#ifndef QEQ_SQNR_H
#define QEQ_SQNR_H

#include <qeq/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* *sqnr_db = 20 * log10(||ref|| / ||ref - x||) over n elements (Frobenius norms), computed
 * in double (PyTorch uses float32 norms, so expect agreement to about 1e-5 dB, not bits).
 * An exact match (ref == x everywhere) gives +inf explicitly, also when both are all zero;
 * ref all zero and x not gives -inf. Errors: NULL pointers, n == 0, NaN or infinity in
 * either input (QEQ_ERROR_NON_FINITE, naming the index). */
QEQ_API qeq_status qeq_sqnr_f32(size_t n, const float* ref, const float* x, double* sqnr_db);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_SQNR_H */
