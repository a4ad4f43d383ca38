// qeq's GEMM through its public API (include/qeq/gemm.h) on the shared problems: requantized
// u8 output under every ISA cap that selects a different kernel, one thread and all cores;
// packing (qeq_gemm_create) per shape; int32 and dynamic (float in and out) at a few shapes.
#ifndef QEQ_BENCH_GEMM_BENCHMARKS_H
#define QEQ_BENCH_GEMM_BENCHMARKS_H

#include <string>
#include <vector>

#include "gemm/gemm-problem.h"
#include "qeq/qeq.h"

struct GemmIsa {
  qeq_isa isa;
  std::string kernel;  // qeq_gemm_kernel_name under this cap
  // The kernel has the proven-exact vpmaddubsw path beside its exact one (AVX2, AVX-512
  // without VNNI: qeq_kernel_variant_paths), which the 7-bit problems take.
  bool pair_path = false;
};

// Detected ISA caps whose GEMM kernel differs from every cap before them, in qeq_isa order;
// `skipped` gets the caps left out and why.
std::vector<GemmIsa> distinct_gemm_isas(std::string* skipped);
// The entry whose kernel dispatch picks with no cap (the library's best), or the last one.
const GemmIsa& default_gemm_isa(const std::vector<GemmIsa>& isas);

// The scalar kernel is the portable reference, about a hundred times slower: it runs only
// on shapes up to this many operations so the run stays short.
constexpr double kScalarMaxOps = 3e8;

// Shapes of the int32-output and dynamic benchmarks (best ISA, one thread).
extern const GemmShape kGemmOutputShapes[2];

// Registers every qeq GEMM benchmark: names "qeq_u8" (every ISA of `isas`), "qeq_u7" (`best`
// and every ISA of `isas` whose kernel has the vpmaddubsw path, so a CPU with VNNI still
// measures its AVX-512 and AVX2 fast paths), and under `best` "qeq_s32", "qeq_dynamic" and
// "qeq_pack" (qeq_gemm_create), in gemm_bench_name's form.
void register_qeq_gemm_benchmarks(const std::vector<GemmIsa>& isas, qeq_isa best,
                                  const std::vector<size_t>& thread_counts, double min_time);

#endif  // QEQ_BENCH_GEMM_BENCHMARKS_H
