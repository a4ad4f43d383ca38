/* Internal: packing int8 weights into the panel layout of a GEMM variant
 * (kernels/ukernels.h). Shared by the GEMM API and the kernel tests. */
#ifndef QEQ_SRC_OPS_GEMM_PACK_H
#define QEQ_SRC_OPS_GEMM_PACK_H

#include <stddef.h>
#include <stdint.h>

#include <qeq/isa.h>

/* Per output column values the epilogue needs, n entries each (NULL: all 0). */
typedef struct qeq_gemm_columns {
  const int32_t* w_zero_points;
  const int32_t* bias_q;
  const float* bias_f;
  const float* multipliers; /* required */
} qeq_gemm_columns;

/* What the variant subtracts from every activation before its dot product (the neondot
 * kernels turn uint8 into int8 with a ^ 0x80 = a - 128); packing adds it back through
 * acc_init. */
int32_t qeq_gemm_activation_offset(qeq_isa isa);

/* Bytes of the packed weights for n columns, or 0 if that overflows size_t. */
size_t qeq_gemm_packed_bytes(size_t n, size_t k, size_t nr, size_t kr);

/* Writes qeq_gemm_packed_bytes(n, k, nr, kr) bytes at packed: w row j at w + j * w_stride. */
void qeq_gemm_pack(size_t n, size_t k, const int8_t* w, size_t w_stride, size_t nr, size_t kr,
                   int32_t activation_offset, const qeq_gemm_columns* columns, void* packed);

#endif /* QEQ_SRC_OPS_GEMM_PACK_H */
