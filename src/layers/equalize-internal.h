/* Internal: qeq_equalize's pair plan and its fused chain sweep (equalize-chain.c), which
 * equalize.c calls. */
#ifndef QEQ_SRC_LAYERS_EQUALIZE_INTERNAL_H
#define QEQ_SRC_LAYERS_EQUALIZE_INTERNAL_H

#include <stddef.h>

#include <qeq/equalize.h>

#include "src/layers/layer.h"

/* Everything one pair needs, checked before anything is written. */
typedef struct pair_plan {
  qeq_layer* first;
  qeq_layer* second;
  qeq_channel_set produced; /* first's output channels */
  qeq_channel_set consumed; /* second's input channels */
  size_t channels;
  size_t work_floats; /* workspace for both channel sets */
} pair_plan;

/* Whether the fused chain sweep (equalize-chain.c) applies: every pair's layers have groups 1
 * and are not transposed, no weight is shared between positions, and each second layer's
 * input channels take the element-wise path of the min/max kernels. */
int qeq_equalize_chain_fusable(const pair_plan* plans, size_t pair_count, size_t distinct_count,
                               size_t layer_count);

/* The sweeps of qeq_equalize on pairs for which qeq_equalize_chain_fusable holds, with the
 * same results; allocates its scratch first (QEQ_ERROR_OUT_OF_MEMORY before any write). */
/* Test hook: what a fused chain sweep did, so that tests can check every path ran. A sweep
 * takes rough sums of squares, and then either its lower bounds settle convergence or the
 * exact sums are taken again from the weights; a sweep guessed to be the last may not be. */
typedef enum qeq_chain_sweep_event {
  QEQ_CHAIN_SWEEP_ROUGH,
  QEQ_CHAIN_SWEEP_SETTLED_BY_BOUNDS,
  QEQ_CHAIN_SWEEP_RETAKEN,
  QEQ_CHAIN_SWEEP_WRONGLY_GUESSED_LAST,
} qeq_chain_sweep_event;
typedef void qeq_chain_sweep_hook(qeq_chain_sweep_event event);
/* Installs `hook` for the calling thread's sweeps (NULL: none, the default). */
void qeq_equalize_test_set_chain_hook(qeq_chain_sweep_hook* hook);

qeq_status qeq_equalize_chain_sweeps(const char* fn, const pair_plan* plans, size_t pair_count,
                                     const size_t* first_index, const size_t* second_index,
                                     double* change, size_t distinct_count, float threshold,
                                     size_t max_sweeps, qeq_equalize_report* result);

#endif /* QEQ_SRC_LAYERS_EQUALIZE_INTERNAL_H */
