/* Internal: strategy thresholds, tuned with qeq_bench (what they decide:
 * docs/design.md#canonical-views-and-strategies; measured runs: bench/results/; the machine
 * they were tuned on: CHANGELOG.md, "Measurements behind decisions"). */
#ifndef QEQ_SRC_TUNING_H
#define QEQ_SRC_TUNING_H

#include <stddef.h>

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

/* Outputs of at least this many bytes are written with non-temporal stores (the quantize,
 * fake-quantize and requantize kernels' `stream` argument): below it the output is likely to
 * be read again soon and is better left in cache. */
#ifndef QEQ_STREAM_STORE_MIN_BYTES
#define QEQ_STREAM_STORE_MIN_BYTES ((size_t)8 << 20)
#endif

/* Whether an output of `bytes` bytes should stream: QEQ_STREAM_STORE_MIN_BYTES, or what the
 * test hook set. */
int qeq_tuning_stream_stores(size_t bytes);
/* Test hook: the threshold for qeq_tuning_stream_stores (0: always, SIZE_MAX: never); returns
 * the previous one. */
size_t qeq_tuning_test_set_stream_min_bytes(size_t min_bytes);

#endif /* QEQ_SRC_TUNING_H */
