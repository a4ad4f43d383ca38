/* The GEMM epilogue of kernels/ukernels.h, one element at a time: zero-point correction of
 * the raw dot product and the fused store. Shared by the scalar variant and by the tails of
 * vectorised variants that have no masked stores. */
#ifndef QEQ_KERNELS_COMMON_GEMM_EPILOGUE_SCALAR_H
#define QEQ_KERNELS_COMMON_GEMM_EPILOGUE_SCALAR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/ukernels.h"

static inline int32_t qeq_gemm_header_i32(const void* panel, size_t nr, int array, size_t j) {
  int32_t v;
  memcpy(&v, (const uint8_t*)panel + ((size_t)array * nr + j) * sizeof(int32_t), sizeof v);
  return v;
}

static inline float qeq_gemm_header_f32(const void* panel, size_t nr, int array, size_t j) {
  float v;
  memcpy(&v, (const uint8_t*)panel + ((size_t)array * nr + j) * sizeof(float), sizeof v);
  return v;
}

/* acc = dot + acc_init - za * w_sum - zw * row_sum, wrapping in 32 bits. */
static inline int32_t qeq_gemm_correct_scalar(const void* panel, size_t nr, size_t j, uint32_t dot,
                                              int32_t row_sum, int has_row_sums,
                                              const qeq_gemm_ukernel_params* params) {
  uint32_t acc = dot + (uint32_t)qeq_gemm_header_i32(panel, nr, QEQ_GEMM_HEADER_ACC_INIT, j);
  acc -= (uint32_t)params->a_zero_point *
         (uint32_t)qeq_gemm_header_i32(panel, nr, QEQ_GEMM_HEADER_W_SUM, j);
  if (has_row_sums) {
    acc -= (uint32_t)qeq_gemm_header_i32(panel, nr, QEQ_GEMM_HEADER_W_ZERO_POINT, j) *
           (uint32_t)row_sum;
  }
  return (int32_t)acc;
}

/* The output clamp as comparisons: NaN and -0.0 pass (max(-0.0, 0) is -0.0, as torch.relu). */
static inline float qeq_gemm_clamp_f32(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

/* Stores column `col` of the row starting at c_row in the format params->store asks for. */
static inline void qeq_gemm_store_scalar(const void* panel, size_t nr, size_t j, int32_t acc,
                                         const qeq_gemm_ukernel_params* params, uint8_t* c_row,
                                         size_t col) {
  const float multiplier = qeq_gemm_header_f32(panel, nr, QEQ_GEMM_HEADER_MULTIPLIER, j);
  const float bias_f = qeq_gemm_header_f32(panel, nr, QEQ_GEMM_HEADER_BIAS_F, j);
  if (params->store == QEQ_GEMM_STORE_S32) {
    memcpy(c_row + col * sizeof(int32_t), &acc, sizeof acc);
  } else if (params->store == QEQ_GEMM_STORE_F32) {
    const float scale = params->a_scale * multiplier;
    const float product = (float)acc * scale;
    const float v = qeq_gemm_clamp_f32(product + bias_f, params->out_lo, params->out_hi);
    memcpy(c_row + col * sizeof(float), &v, sizeof v);
  } else {
    const int32_t bias_q = qeq_gemm_header_i32(panel, nr, QEQ_GEMM_HEADER_BIAS_Q, j);
    const int32_t with_bias = (int32_t)((uint32_t)acc + (uint32_t)bias_q);
    const float sum = (float)with_bias + bias_f;
    const float scaled = sum * multiplier;
    const float v = qeq_gemm_clamp_f32(scaled + params->out_offset, params->out_lo, params->out_hi);
    c_row[col] = (uint8_t)(int32_t)(nearbyintf(v) + (float)params->out_zero_point);
  }
}

#endif /* QEQ_KERNELS_COMMON_GEMM_EPILOGUE_SCALAR_H */
