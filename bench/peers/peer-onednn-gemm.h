// oneDNN (Debian's libdnnl-dev 2.6) as qeq's GEMM peer, registered only when the build found
// it: a matmul u8 x s8 -> u8 with the same quantization as qeq (per-output-channel output
// scales, mask 2; source and destination zero points; an f32 bias already divided by the
// input and weight scales, as PyTorch's onednn engine passes it), and u8 x s8 -> s32. The
// weights are reordered once into the layout the primitive asks for (its packing), and the
// primitive is created outside the timed loop. oneDNN here is built on OpenMP: its threads
// are set per benchmark with omp_set_num_threads (1, or the pool's thread count).
#ifndef QEQ_BENCH_PEER_ONEDNN_GEMM_H
#define QEQ_BENCH_PEER_ONEDNN_GEMM_H

#include <cstdio>
#include <string>
#include <vector>

#include "gemm/gemm-problem.h"

// oneDNN's effective ISA, lower case as it names it ("avx512_core_vnni", "avx2", ...):
// ONEDNN_MAX_CPU_ISA lowers it, read once per process.
std::string onednn_isa_name();

// Registers "onednn_u8/<isa>/<threads>t/<shape>" for every shape and thread count, and
// "onednn_s32/<isa>/1t/<shape>" for `s32_shapes`.
void register_onednn_gemm_benchmarks(const std::vector<size_t>& thread_counts,
                                     const std::vector<GemmShape>& s32_shapes, double min_time);

// Once, outside timing: runs oneDNN's u8 and s32 matmuls and qeq (onednn engine, int32
// output) on a small odd shape and a benchmark shape, prints how many outputs agree, and
// returns false when any differ by more than 1 (u8) or at all (s32): a misconfigured peer,
// or a path that is wrong on full-range operands (told apart by re-running with 7-bit
// activations). Appends a one-line verdict for the summary.
// Also sets *exact_u7: whether oneDNN agrees with qeq on 7-bit activations (gemm_problem_u7).
bool check_onednn_gemm(std::FILE* out, std::vector<std::string>* verdicts, bool* exact_u7);

#endif  // QEQ_BENCH_PEER_ONEDNN_GEMM_H
