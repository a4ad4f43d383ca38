/* One element of f32 -> 8-bit quantization, for scalar kernels and vector-kernel tails, so
 * every path applies the same steps (see qeq_f32_q8_rquant_ukernel_fn). */
#ifndef QEQ_KERNELS_COMMON_QUANT_SCALAR_H
#define QEQ_KERNELS_COMMON_QUANT_SCALAR_H

#include <math.h>
#include <stdint.h>

#include "kernels/ukernels.h"

static inline uint8_t qeq_quantize_one(float x, const qeq_q8_quant_params* p) {
  float v = x * p->inv_scale;
  if (v != v) v = 0.0f; /* NaN quantizes to the zero point */
  v = v < p->lo ? p->lo : v;
  v = v > p->hi ? p->hi : v;
  /* |v| <= 510 here, so the conversion is exact; the low byte is the stored pattern */
  return (uint8_t)(p->zero_point + (int32_t)nearbyintf(v));
}

#endif /* QEQ_KERNELS_COMMON_QUANT_SCALAR_H */
