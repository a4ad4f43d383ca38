/* qeq: signal-to-quantization-noise ratio, as PyTorch's compute_sqnr. */
#ifndef QEQ_SQNR_H
#define QEQ_SQNR_H

#include <stddef.h>

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

/* Selective equalization's choice (PyTorch's get_equalization_qconfig_dict): the layers
 * sorted by ascending SQNR, ties keeping their order (a stable sort), then the first n as
 * Python's slice [:n] takes them: n >= count gives all, 0 none, and a negative n all but the
 * last |n|. chosen (count entries) receives layer indices, *chosen_count how many. Per-layer
 * SQNRs come from qeq_sqnr_f32 on each layer's float and quantized outputs.
 * Errors: NULL pointers, a NaN SQNR (it has no order; +-inf are fine), chosen or
 * chosen_count overlapping sqnr or each other. Nothing is written on failure. */
QEQ_API qeq_status qeq_select_lowest_sqnr(size_t count, const double* sqnr, ptrdiff_t n,
                                          size_t* chosen, size_t* chosen_count);

#ifdef __cplusplus
}
#endif

#endif /* QEQ_SQNR_H */
