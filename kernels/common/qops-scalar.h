/* One element of the quantized ops, for scalar kernels and vector-kernel tails, so every path
 * applies the same steps (see kernels/ukernels.h). */
#ifndef QEQ_KERNELS_COMMON_QOPS_SCALAR_H
#define QEQ_KERNELS_COMMON_QOPS_SCALAR_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/common/quant-scalar.h"
#include "kernels/ukernels.h"

static inline int32_t qeq_q8_level(uint8_t q, int is_signed) {
  return is_signed ? (int32_t)(int8_t)q : (int32_t)q;
}

/* The add's dequantization, PyTorch's vectorised one: fma(q, s, f32(s * -z)), the product and
 * the premultiplied offset summed with one rounding (docs/numerics.md#quantized-operations). */
static inline float qeq_q8_scaled_neg_zero_point(float scale, int32_t zero_point) {
  return scale * (float)(-zero_point);
}

/* One element, with a_offset and b_offset = qeq_q8_scaled_neg_zero_point of each input, which
 * the caller computes once per call. */
static inline uint8_t qeq_q8_add_one(uint8_t a, uint8_t b, int is_signed,
                                     const qeq_q8_add_params* p, float a_offset, float b_offset) {
  const float da = fmaf((float)qeq_q8_level(a, is_signed), p->a_scale, a_offset);
  const float db = fmaf((float)qeq_q8_level(b, is_signed), p->b_scale, b_offset);
  return qeq_quantize_one(da + db, &p->out);
}

/* One element of the multiply (the q8_vmul contract). */
static inline uint8_t qeq_q8_mul_one(uint8_t a, uint8_t b, int is_signed,
                                     const qeq_q8_mul_params* p) {
  const int32_t product = (qeq_q8_level(a, is_signed) - p->a_zero_point) *
                          (qeq_q8_level(b, is_signed) - p->b_zero_point);
  return qeq_quantize_one((float)product, &p->out);
}

/* Whether the add can produce a NaN (which requantizes to the zero point): only through an
 * infinite or NaN term or multiplier. With both terms below FLT_MAX / 2 their sum is finite,
 * and finite * finite is never NaN, so vector kernels may skip the NaN fix-up. shift is the
 * offset the kernel adds to the zero points (128 for flipped int8 bytes, else 0). */
static inline int qeq_q8_add_may_nan(const qeq_q8_add_params* p, int32_t shift) {
  const double reach =
      256.0 + fabs((double)(p->a_zero_point + shift)) + fabs((double)(p->b_zero_point + shift));
  return !(fabs((double)p->a_scale) * reach < FLT_MAX / 2 &&
           fabs((double)p->b_scale) * reach < FLT_MAX / 2 &&
           fabs((double)p->out.inv_scale) <= FLT_MAX);
}

/* Calls body(is_signed, may_nan) with both flags as constants, so an always-inline vector
 * body compiles one path per combination (no flip for uint8, no NaN fix-up where none can
 * occur). */
#define QEQ_Q8_VADD_SPECIALIZE(is_signed, may_nan, body) \
  do {                                                   \
    if (is_signed) {                                     \
      if (may_nan) {                                     \
        body(1, 1);                                      \
      } else {                                           \
        body(1, 0);                                      \
      }                                                  \
    } else if (may_nan) {                                \
      body(0, 1);                                        \
    } else {                                             \
      body(0, 0);                                        \
    }                                                    \
  } while (0)

/* Max of channel j over the rows (the maxpool contract), as a stored byte. */
static inline uint8_t qeq_q8_max_column(size_t rows, const uint8_t* const* x, size_t j,
                                        int is_signed) {
  int32_t best = qeq_q8_level(x[0][j], is_signed);
  for (size_t r = 1; r < rows; r++) {
    const int32_t v = qeq_q8_level(x[r][j], is_signed);
    best = v > best ? v : best;
  }
  return (uint8_t)best;
}

/* Average of channel j over the rows (the avgpool contract), as a stored byte. */
static inline uint8_t qeq_q8_avg_column(size_t rows, const uint8_t* const* x, size_t j,
                                        int is_signed, const qeq_q8_avgpool_params* p) {
  int32_t acc = p->bias;
  for (size_t r = 0; r < rows; r++) acc += qeq_q8_level(x[r][j], is_signed);
  return qeq_quantize_one((float)acc, &p->out);
}

/* One element of the fixed-point add (the q8_vadd_fixed contract), for the scalar kernel and
 * the vector kernels' tails. */
static inline uint8_t qeq_q8_vadd_fixed_one(uint8_t a, uint8_t b, int is_signed,
                                            const qeq_q8_vadd_fixed_params* p) {
  const int32_t acc = p->bias + qeq_q8_level(a, is_signed) * p->a_multiplier +
                      qeq_q8_level(b, is_signed) * p->b_multiplier;
  const int32_t rem = (acc & p->remainder_mask) - (int32_t)(acc < 0);
  /* an arithmetic shift written without the implementation-defined >> of a negative value */
  const int32_t shifted = acc >= 0 ? acc >> p->right_shift : ~(~acc >> p->right_shift);
  int32_t q = shifted + (int32_t)(rem > p->remainder_threshold);
  q += p->y_zero_point;
  q = q < p->y_min ? p->y_min : q;
  q = q > p->y_max ? p->y_max : q;
  return (uint8_t)q;
}

#endif /* QEQ_KERNELS_COMMON_QOPS_SCALAR_H */
