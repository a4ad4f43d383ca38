// The core's int8 multiply-add peak, measured: a chain of independent multiply-add
// instructions with nothing else in the loop, per instruction set (each loop compiled with
// its own target attribute). GEMM figures are read as fractions of these.
#ifndef QEQ_BENCH_VNNI_PEAK_H
#define QEQ_BENCH_VNNI_PEAK_H

#include <string>
#include <vector>

#include "qeq/qeq.h"

struct PeakLoop {
  const char* name;         // benchmark name prefix: "peak", or the sequence's own
  qeq_isa isa;              // the qeq ISA level whose GEMM this loop bounds
  const char* instruction;  // what the loop runs, e.g. "vpdpbusd zmm x16"
  double ops_per_block;     // 2 ops per multiply-add
  void (*run)(size_t blocks);
};

// The loops this CPU can run (qeq_isa_detected), best last; empty off x86-64.
std::vector<PeakLoop> peak_loops();

// The saturating sequences oneDNN's AVX2 path uses, which a fast path may run only where a
// bound proves the int16 step exact: vpmaddubsw, vpmaddwd by ones, vpaddd ("peak_maddubs");
// two vpmaddubsw summed by vpaddw first ("peak_maddubs2"). For AVX2 and AVX-512 (no VNNI).
std::vector<PeakLoop> maddubs_peak_loops();

// Registers "<name>/<isa>/<threads>t/-" for each loop, one thread and every thread of the pool.
void register_peak_benchmarks(const std::vector<PeakLoop>& loops,
                              const std::vector<size_t>& thread_counts, double min_time);

#endif  // QEQ_BENCH_VNNI_PEAK_H
