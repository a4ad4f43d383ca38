/* Internal: strategy thresholds, chosen with qeq_bench on Zen 5 (see README). */
#ifndef QEQ_SRC_TUNING_H
#define QEQ_SRC_TUNING_H

/* Runs at least this long are reduced/scaled run by run; shorter ones row-wise. */
#define QEQ_RUN_KERNEL_MIN_INNER 32
/* Row-wise kernels work on blocks of this many elements of a row, so that their
 * accumulators (or expanded scales) stay in L1/L2. */
#define QEQ_ROW_BLOCK_ELEMENTS 4096

#endif /* QEQ_SRC_TUNING_H */
