// Benchmarks of the quantized ops (add, pools) on a ResNet-size NHWC tensor, with streaming
// baselines over a buffer of the same size measured in the same run.
#ifndef QEQ_BENCH_QOPS_BENCHMARKS_H
#define QEQ_BENCH_QOPS_BENCHMARKS_H

#include <vector>

#include "kernels/equalize-benchmarks.h"
#include "qeq/qeq.h"

// Registers the baselines and, for every ISA cap, each op; rows for the summary table. The
// rows' mib is the bytes each call reads and writes, the GB/s figure's numerator.
std::vector<LayerBenchmarkRow> register_qops_benchmarks(const std::vector<qeq_isa>& isas);

#endif  // QEQ_BENCH_QOPS_BENCHMARKS_H
