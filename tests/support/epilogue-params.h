/* Random epilogue constants for the GEMM-family kernel tests (qu8s8_gemm, qu8s8_igemm). */
#ifndef QEQ_TESTS_SUPPORT_EPILOGUE_PARAMS_H
#define QEQ_TESTS_SUPPORT_EPILOGUE_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/ukernels.h"
#include "tests/support/test-support.h"

/* A requantization multiplier for sums of `terms` products: a power of two (so many results
 * land exactly half-way and ties must round to even everywhere), scaled off it 1 time in 3. */
float random_requant_multiplier(test_rng* rng, size_t terms);

/* The output side of the epilogue: half the cases add the zero point in float before rounding
 * (onednn), half after it; random clamps inside [0, 255] (F32 stores: random_f32_bounds); a
 * random F32 activation scale. */
void random_epilogue_params(test_rng* rng, int32_t a_zero_point, int32_t store,
                            qeq_gemm_ukernel_params* params);

/* The F32 store's clamp: out_lo -inf, 0 or in (-128, 0], out_hi inf or in [0, 128) (values
 * the tests' float outputs reach), each independently. */
void random_f32_bounds(test_rng* rng, qeq_gemm_ukernel_params* params);

/* The F32 store's clamp written out: v < out_lo ? out_lo : v, then v > out_hi ? out_hi : v. */
float epilogue_f32_clamp(float v, const qeq_gemm_ukernel_params* params);

#endif /* QEQ_TESTS_SUPPORT_EPILOGUE_PARAMS_H */
