// oneDNN (Debian's libdnnl-dev) on the same work as qeq_bench, registered only when the
// build found it: per-channel min and max (two reductions, as oneDNN has no min-max),
// quantization per output channel (a reorder f32 -> s8 with per-channel output scales), and
// in-place per-channel scaling (a binary multiply with a broadcast vector).
// Run single-threaded: OMP_NUM_THREADS=1 (scripts/run-benchmark.sh sets it).
#ifndef QEQ_BENCH_PEER_ONEDNN_H
#define QEQ_BENCH_PEER_ONEDNN_H

#include <string>
#include <vector>

struct PeerRow {
  std::string name;      // the registered benchmark
  std::string peer_op;   // what the peer runs
  std::string qeq_name;  // the qeq benchmark doing the same work (best ISA filled in later)
  std::string baseline;  // baseline benchmark name
};

// dims: the conv weight; weight: its data (shared with qeq_bench's buffers). Names of qeq's
// benchmarks are built by the caller's naming function from the op names given here.
std::vector<PeerRow> register_onednn_benchmarks(const std::vector<size_t>& dims, float* weight,
                                                const std::string& shape_tag);

#endif  // QEQ_BENCH_PEER_ONEDNN_H
