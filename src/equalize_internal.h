/* Internal: what qeq_equalize's general sweep and its fused chain sweep (equalize_chain.c)
 * share. */
#ifndef QEQ_SRC_EQUALIZE_INTERNAL_H
#define QEQ_SRC_EQUALIZE_INTERNAL_H

#include <stddef.h>

#include <qeq/equalize.h>

#include "src/layer.h"

/* PyTorch adds this to the second layer's ranges, in float32. */
#define QEQ_CLE_RANGE_EPS 1e-9f

/* Everything one pair needs, checked before anything is written. */
typedef struct pair_plan {
  qeq_layer* first;
  qeq_layer* second;
  qeq_channel_set produced; /* first's output channels */
  qeq_channel_set consumed; /* second's input channels */
  size_t channels;
  size_t work_floats; /* workspace for both channel sets */
} pair_plan;

/* The scales of channels c0 .. c1 - 1 from both sides' min/max (PyTorch's formula, and
 * qeq's rule for channels it leaves alone); QEQ_ERROR_NON_FINITE on NaN or Inf. */
qeq_status qeq_cle_channel_scales(const char* fn, const float* min1, const float* max1,
                                  const float* min2, const float* max2, const float* bias,
                                  size_t c0, size_t c1, float* scales, float* inv_scales);

/* ||W * diag(f) - W|| over a channel set, from the channels' sums of squares. */
double qeq_cle_scaled_change(const double* sum_squares, const float* factors, size_t channels);

/* Whether the fused chain sweep (equalize_chain.c) applies: every pair's layers have groups 1
 * and are not transposed, no weight is shared between positions, and each second layer's
 * input channels take the element-wise path of the min/max kernels. */
int qeq_equalize_chain_fusable(const pair_plan* plans, size_t pair_count, size_t distinct_count,
                               size_t layer_count);

/* The sweeps of qeq_equalize on pairs for which qeq_equalize_chain_fusable holds, with the
 * same results; allocates its scratch first (QEQ_ERROR_OUT_OF_MEMORY before any write). */
/* How the fused chain sweeps of this thread went (for tests): sweeps that took rough sums of
 * squares, and of those, the ones whose lower bounds settled convergence and the ones whose
 * exact sums were taken again from the weights; sweeps guessed to be the last that were not. */
typedef struct qeq_chain_sweep_counts {
  size_t rough, settled_by_bounds, retaken, wrongly_guessed_last;
} qeq_chain_sweep_counts;
extern _Thread_local qeq_chain_sweep_counts qeq_chain_sweep_counts_of_thread;

qeq_status qeq_equalize_chain_sweeps(const char* fn, const pair_plan* plans, size_t pair_count,
                                     const size_t* first_index, const size_t* second_index,
                                     double* change, size_t distinct_count, float threshold,
                                     size_t max_sweeps, qeq_equalize_report* result);

#endif /* QEQ_SRC_EQUALIZE_INTERNAL_H */
