/* Internal: strategy thresholds, chosen with qeq_bench on Zen 5 (what they decide:
 * docs/design.md#canonical-views-and-strategies; measured runs: bench/results/). */
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

/* qeq_equalize's fused chain sweep works on blocks of about this many weight elements (64 KiB),
 * so that a block is still in L1/L2 when its row statistics, scaling and column statistics
 * read it again. */
#ifndef QEQ_FUSED_BLOCK_ELEMENTS
#define QEQ_FUSED_BLOCK_ELEMENTS 16384
#endif

#endif /* QEQ_SRC_TUNING_H */
