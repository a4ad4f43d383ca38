/* Random epilogue constants shared by the GEMM-family kernel tests. */
#include "tests/support/epilogue-params.h"

#include <math.h>

float random_requant_multiplier(test_rng* rng, size_t terms) {
  const double spread = sqrt((double)terms) * 128.0 * 80.0 + 1.0;
  float multiplier = ldexpf(1.0f, -(int)ceil(log2(spread / 128.0)) - (int)rng_below(rng, 2));
  if (rng_below(rng, 3) == 0) multiplier *= 1.0f + (float)rng_below(rng, 1000) / 997.0f;
  return multiplier;
}

void random_epilogue_params(test_rng* rng, int32_t a_zero_point, int32_t store,
                            qeq_gemm_ukernel_params* params) {
  params->a_zero_point = a_zero_point;
  const int32_t zero_point = (int32_t)rng_below(rng, 256);
  const int in_float = rng_below(rng, 2) != 0;
  params->out_zero_point = in_float ? 0 : zero_point;
  params->out_offset = in_float ? (float)zero_point : 0.0f;
  params->out_lo = (float)(0 - params->out_zero_point + (int)rng_below(rng, 20));
  params->out_hi = (float)(255 - params->out_zero_point - (int)rng_below(rng, 20));
  params->a_scale = ldexpf(1.0f, -7) * (1.0f + (float)rng_below(rng, 100) / 101.0f);
  params->store = store;
  params->path_counts = NULL;
  if (store == QEQ_GEMM_STORE_F32) random_f32_bounds(rng, params);
}

void random_f32_bounds(test_rng* rng, qeq_gemm_ukernel_params* params) {
  const uint32_t lo_kind = (uint32_t)rng_below(rng, 3), hi_kind = (uint32_t)rng_below(rng, 2);
  params->out_lo = lo_kind == 0   ? -INFINITY
                   : lo_kind == 1 ? 0.0f
                                  : -(float)rng_below(rng, 512) / 4.0f;
  params->out_hi = hi_kind == 0 ? INFINITY : (float)rng_below(rng, 512) / 4.0f;
}

float epilogue_f32_clamp(float v, const qeq_gemm_ukernel_params* params) {
  v = v < params->out_lo ? params->out_lo : v;
  return v > params->out_hi ? params->out_hi : v;
}
