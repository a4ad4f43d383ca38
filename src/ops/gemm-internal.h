/* Internal: the packed GEMM object and the driver shared by static and dynamic runs. */
#ifndef QEQ_SRC_OPS_GEMM_INTERNAL_H
#define QEQ_SRC_OPS_GEMM_INTERNAL_H

#include <qeq/gemm.h>

#include "dispatch/dispatch.h"
#include "kernels/ukernels.h"
#include "src/base/shape.h"

struct qeq_gemm {
  const qeq_variant* variant; /* the kernel the weights were packed for */
  size_t n, k;
  size_t panel_bytes;
  void* packed;
  int needs_row_sums; /* some weight zero point is not 0 */
  int input_is_signed;
  int dynamic, reduce_range;
  qeq_gemm_engine engine;
  /* Dynamic GEMMs under oneDNN's order: 1 / s_w and the bias per column (n each). */
  float* dynamic_inv_w_scale;
  float* dynamic_bias;
  size_t output_bytes;               /* per element */
  qeq_gemm_ukernel_params params;    /* params.path_counts points to path_counts */
  qeq_gemm_path_counts* path_counts; /* its own allocation: runs on a const gemm count */
};

/* Checks the config as qeq_gemm_create does (messages start with fn; k_name says what k is to
 * the caller) and packs `groups` GEMMs, group g holding columns [g * n / groups, (g + 1) * n /
 * groups) with their weight rows, qparams and bias; every group shares the input qparams and
 * the output format. groups must divide n; dynamic GEMMs have one group. On failure nothing
 * stays allocated (the caller must not use gemms[]). */
qeq_status qeq_gemm_create_groups(const char* fn, const char* k_name, const qeq_gemm_config* config,
                                  size_t groups, qeq_gemm** gemms);

/* qeq_gemm_create_groups packing for `variant` (of the GEMM family or one that shares its
 * packed layout and epilogue, as the depthwise convolution's does). */
qeq_status qeq_gemm_create_groups_for(const char* fn, const char* k_name,
                                      const qeq_gemm_config* config, size_t groups,
                                      const qeq_variant* variant, qeq_gemm** gemms);

/* qeq_gemm_run after its checks passed (also for callers that checked in their own terms):
 * flips qint8 input, computes row sums when needed, drives the kernel. Fails only when out of
 * memory, before writing. */
qeq_status qeq_gemm_run_prechecked(const char* fn, const qeq_gemm* gemm, size_t m,
                                   const void* input, size_t input_stride_bytes, void* output,
                                   size_t output_stride_bytes, struct pthreadpool* pool);

/* The checks both runs share: pointers, m, strides against the rows, the alignment of float
 * and int32 outputs, spans within QEQ_MAX_BYTES, overlap (the API's one rule, over the input,
 * the output and up to 2 `extra` buffers the caller also reads or writes), and the packed
 * kernel still allowed. */
qeq_status qeq_gemm_check_run(const char* fn, const qeq_gemm* gemm, size_t m, const void* input,
                              size_t input_row_bytes, size_t input_stride_bytes, const void* output,
                              size_t output_stride_bytes, const qeq_buffer* extra,
                              size_t extra_count);

/* QEQ_ERROR_INVALID_ARGUMENT unless output and output_stride_bytes (named `stride_name`) are
 * multiples of element_bytes (float and int32 outputs: 4; 1 always passes). */
qeq_status qeq_gemm_check_output_alignment(const char* fn, const char* stride_name,
                                           const void* output, size_t output_stride_bytes,
                                           size_t element_bytes);

/* Checks that the ISA cap still allows the packed kernel. */
qeq_status qeq_gemm_check_variant(const char* fn, const qeq_gemm* gemm);

/* Runs the packed kernel on m rows of uint8 activations (stride in bytes), with row sums
 * when the weights have zero points (row_sums: m entries or NULL), writing output rows. */
void qeq_gemm_drive(const qeq_gemm* gemm, size_t m, const uint8_t* a, size_t a_stride,
                    const int32_t* row_sums, void* c, size_t c_stride,
                    const qeq_gemm_ukernel_params* params, struct pthreadpool* pool);

/* row_sums[r] = Σ_k a[r * a_stride + k]. */
void qeq_gemm_row_sums(size_t m, size_t k, const uint8_t* a, size_t a_stride, int32_t* row_sums);

#endif /* QEQ_SRC_OPS_GEMM_INTERNAL_H */
