/* One element of f32 -> 8-bit quantization and of fake quantization, for scalar kernels and
 * vector-kernel tails, so every path applies the same steps (see kernels/ukernels.h). */
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

static inline float qeq_fake_quantize_one(float x, const qeq_fq_params* p) {
  float v = x * p->inv_scale;
  if (v != v) v = 0.0f;
  v = v < p->lo ? p->lo : v;
  v = v > p->hi ? p->hi : v;
  /* PyTorch's integer level 0 has no sign: a rounded -0.0 becomes +0.0 by selection, not by
   * adding +0.0, which keeps -0.0 under FE_DOWNWARD */
  const float r = nearbyintf(v);
  return (r == 0.0f ? 0.0f : r) * p->scale;
}

static inline float qeq_dequantize_one(uint8_t q, int is_signed, const qeq_q8_dequant_params* p) {
  const int32_t level = is_signed ? (int32_t)(int8_t)q : (int32_t)q;
  return p->scale * (float)(level - p->zero_point);
}

#endif /* QEQ_KERNELS_COMMON_QUANT_SCALAR_H */
