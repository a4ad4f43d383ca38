/* Internal: strategy thresholds, chosen with qeq_bench on Zen 5 (see README). */
#ifndef QEQ_SRC_TUNING_H
#define QEQ_SRC_TUNING_H

/* Runs at least this long are reduced/scaled run by run; shorter ones row-wise. */
#ifndef QEQ_RUN_KERNEL_MIN_INNER
#define QEQ_RUN_KERNEL_MIN_INNER 32
#endif
/* Row-wise kernels work on blocks of this many elements of a row, so that their
 * accumulators (or expanded scales) stay in L1/L2. */
#ifndef QEQ_ROW_BLOCK_ELEMENTS
#define QEQ_ROW_BLOCK_ELEMENTS 32768
#endif

#endif /* QEQ_SRC_TUNING_H */
