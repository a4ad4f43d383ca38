#include "gemm/vnni-peak.h"

#include <benchmark/benchmark.h>
#include <pthreadpool.h>

#include "gemm/gemm-problem.h"

namespace {

#if defined(__x86_64__) && defined(__GNUC__)

// Each block is one inline-assembly sequence of independent multiply-adds on fixed
// registers: the compiler can neither drop nor merge them. Register contents are whatever
// they hold (the values do not matter to the timing of integer multiply-adds). Accumulators
// outnumber latency x throughput on every current core (vpdpbusd: 4-5 cycles, 2 per cycle).

#define QEQ_DPBUSD_ZMM(i) "vpdpbusd %%zmm31, %%zmm30, %%zmm" #i "\n\t"
__attribute__((target("avx512f,avx512vnni"))) void run_avx512vnni(size_t blocks) {
  for (size_t b = 0; b < blocks; b++) {
    __asm__ volatile(QEQ_DPBUSD_ZMM(0) QEQ_DPBUSD_ZMM(1) QEQ_DPBUSD_ZMM(2) QEQ_DPBUSD_ZMM(3)
                         QEQ_DPBUSD_ZMM(4) QEQ_DPBUSD_ZMM(5) QEQ_DPBUSD_ZMM(6) QEQ_DPBUSD_ZMM(7)
                             QEQ_DPBUSD_ZMM(8) QEQ_DPBUSD_ZMM(9) QEQ_DPBUSD_ZMM(10)
                                 QEQ_DPBUSD_ZMM(11) QEQ_DPBUSD_ZMM(12) QEQ_DPBUSD_ZMM(13)
                                     QEQ_DPBUSD_ZMM(14) QEQ_DPBUSD_ZMM(15)
                     :
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  }
}

// AVX-VNNI: the VEX encoding of vpdpbusd on ymm ({vex} selects it where EVEX also exists).
#define QEQ_DPBUSD_YMM(i) "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm" #i "\n\t"
__attribute__((target("avx2,avxvnni"))) void run_avxvnni(size_t blocks) {
  for (size_t b = 0; b < blocks; b++) {
    __asm__ volatile(QEQ_DPBUSD_YMM(0) QEQ_DPBUSD_YMM(1) QEQ_DPBUSD_YMM(2) QEQ_DPBUSD_YMM(3)
                         QEQ_DPBUSD_YMM(4) QEQ_DPBUSD_YMM(5) QEQ_DPBUSD_YMM(6) QEQ_DPBUSD_YMM(7)
                             QEQ_DPBUSD_YMM(8) QEQ_DPBUSD_YMM(9) QEQ_DPBUSD_YMM(10)
                                 QEQ_DPBUSD_YMM(11)
                     :
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11");
  }
}

// Without VNNI: vpmaddwd (16-bit pairs, the exact technique of qeq's AVX2 and AVX-512
// kernels) into a temporary, vpaddd into an accumulator. The widening of the bytes is not
// counted, so this bounds those kernels from above.
#define QEQ_MADD_ZMM(i, t) \
  "vpmaddwd %%zmm31, %%zmm30, %%zmm" #t "\n\tvpaddd %%zmm" #t ", %%zmm" #i ", %%zmm" #i "\n\t"
__attribute__((target("avx512f,avx512bw"))) void run_avx512(size_t blocks) {
  for (size_t b = 0; b < blocks; b++) {
    __asm__ volatile(QEQ_MADD_ZMM(0, 16) QEQ_MADD_ZMM(1, 17) QEQ_MADD_ZMM(2, 18) QEQ_MADD_ZMM(3, 19)
                         QEQ_MADD_ZMM(4, 20) QEQ_MADD_ZMM(5, 21) QEQ_MADD_ZMM(6, 22)
                             QEQ_MADD_ZMM(7, 23) QEQ_MADD_ZMM(8, 16) QEQ_MADD_ZMM(9, 17)
                                 QEQ_MADD_ZMM(10, 18) QEQ_MADD_ZMM(11, 19) QEQ_MADD_ZMM(12, 20)
                                     QEQ_MADD_ZMM(13, 21) QEQ_MADD_ZMM(14, 22) QEQ_MADD_ZMM(15, 23)
                     :
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
                       "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23");
  }
}

#define QEQ_MADD_YMM(i, t) \
  "vpmaddwd %%ymm15, %%ymm14, %%ymm" #t "\n\tvpaddd %%ymm" #t ", %%ymm" #i ", %%ymm" #i "\n\t"
__attribute__((target("avx2"))) void run_avx2(size_t blocks) {
  for (size_t b = 0; b < blocks; b++) {
    __asm__ volatile(QEQ_MADD_YMM(0, 12) QEQ_MADD_YMM(1, 13) QEQ_MADD_YMM(2, 12) QEQ_MADD_YMM(3, 13)
                         QEQ_MADD_YMM(4, 12) QEQ_MADD_YMM(5, 13) QEQ_MADD_YMM(6, 12)
                             QEQ_MADD_YMM(7, 13) QEQ_MADD_YMM(8, 12) QEQ_MADD_YMM(9, 13)
                                 QEQ_MADD_YMM(10, 12) QEQ_MADD_YMM(11, 13)
                     :
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13");
  }
}

// vpmaddubsw (u8 x s8 pairs into a saturating int16), vpmaddwd by ones (pairs of int16 into
// int32), vpaddd: 6 independent accumulators, the x bytes in 15, weights in 14 and 12, ones
// in 13 (AT&T order: sources, then the destination).
#define QEQ_MADDUBS_YMM(i, t)               \
  "vpmaddubsw %%ymm14, %%ymm15, %%ymm" #t   \
  "\n\t"                                    \
  "vpmaddwd %%ymm13, %%ymm" #t ", %%ymm" #t \
  "\n\t"                                    \
  "vpaddd %%ymm" #t ", %%ymm" #i ", %%ymm" #i "\n\t"
__attribute__((target("avx2"))) void run_maddubs_avx2(size_t blocks) {
  for (size_t b = 0; b < blocks; b++) {
    __asm__ volatile(QEQ_MADDUBS_YMM(0, 6) QEQ_MADDUBS_YMM(1, 7) QEQ_MADDUBS_YMM(2, 8)
                         QEQ_MADDUBS_YMM(3, 9) QEQ_MADDUBS_YMM(4, 10) QEQ_MADDUBS_YMM(5, 11)
                     :
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11");
  }
}

// Two vpmaddubsw summed in int16 (vpaddw) before the widening: four products per int16.
#define QEQ_MADDUBS2_YMM(i, t, u)             \
  "vpmaddubsw %%ymm14, %%ymm15, %%ymm" #t     \
  "\n\t"                                      \
  "vpmaddubsw %%ymm12, %%ymm15, %%ymm" #u     \
  "\n\t"                                      \
  "vpaddw %%ymm" #u ", %%ymm" #t ", %%ymm" #t \
  "\n\t"                                      \
  "vpmaddwd %%ymm13, %%ymm" #t ", %%ymm" #t   \
  "\n\t"                                      \
  "vpaddd %%ymm" #t ", %%ymm" #i ", %%ymm" #i "\n\t"
__attribute__((target("avx2"))) void run_maddubs2_avx2(size_t blocks) {
  for (size_t b = 0; b < blocks; b++) {
    __asm__ volatile(QEQ_MADDUBS2_YMM(0, 6, 9) QEQ_MADDUBS2_YMM(1, 7, 10) QEQ_MADDUBS2_YMM(2, 8, 11)
                         QEQ_MADDUBS2_YMM(3, 6, 9) QEQ_MADDUBS2_YMM(4, 7, 10)
                             QEQ_MADDUBS2_YMM(5, 8, 11)
                     :
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11");
  }
}

#define QEQ_MADDUBS_ZMM(i, t)               \
  "vpmaddubsw %%zmm30, %%zmm31, %%zmm" #t   \
  "\n\t"                                    \
  "vpmaddwd %%zmm29, %%zmm" #t ", %%zmm" #t \
  "\n\t"                                    \
  "vpaddd %%zmm" #t ", %%zmm" #i ", %%zmm" #i "\n\t"
__attribute__((target("avx512f,avx512bw"))) void run_maddubs_avx512(size_t blocks) {
  for (size_t b = 0; b < blocks; b++) {
    __asm__ volatile(QEQ_MADDUBS_ZMM(0, 16) QEQ_MADDUBS_ZMM(1, 17) QEQ_MADDUBS_ZMM(2, 18)
                         QEQ_MADDUBS_ZMM(3, 19) QEQ_MADDUBS_ZMM(4, 20) QEQ_MADDUBS_ZMM(5, 21)
                             QEQ_MADDUBS_ZMM(6, 22) QEQ_MADDUBS_ZMM(7, 23)
                     :
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm16",
                       "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23");
  }
}

#define QEQ_MADDUBS2_ZMM(i, t, u)             \
  "vpmaddubsw %%zmm30, %%zmm31, %%zmm" #t     \
  "\n\t"                                      \
  "vpmaddubsw %%zmm28, %%zmm31, %%zmm" #u     \
  "\n\t"                                      \
  "vpaddw %%zmm" #u ", %%zmm" #t ", %%zmm" #t \
  "\n\t"                                      \
  "vpmaddwd %%zmm29, %%zmm" #t ", %%zmm" #t   \
  "\n\t"                                      \
  "vpaddd %%zmm" #t ", %%zmm" #i ", %%zmm" #i "\n\t"
__attribute__((target("avx512f,avx512bw"))) void run_maddubs2_avx512(size_t blocks) {
  for (size_t b = 0; b < blocks; b++) {
    __asm__ volatile(
        QEQ_MADDUBS2_ZMM(0, 16, 24) QEQ_MADDUBS2_ZMM(1, 17, 25) QEQ_MADDUBS2_ZMM(2, 18, 26)
            QEQ_MADDUBS2_ZMM(3, 19, 27) QEQ_MADDUBS2_ZMM(4, 20, 24) QEQ_MADDUBS2_ZMM(5, 21, 25)
                QEQ_MADDUBS2_ZMM(6, 22, 26) QEQ_MADDUBS2_ZMM(7, 23, 27)
        :
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm16", "xmm17", "xmm18",
          "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27");
  }
}

#endif

// Blocks per call: a few hundred microseconds, so the all-core run's dispatch is noise.
constexpr size_t kBlocks = 1u << 16;

struct Task {
  const PeakLoop* loop;
};

void run_task(void* context, size_t) {
  const Task* task = static_cast<const Task*>(context);
  task->loop->run(kBlocks);
}

void run_peak(benchmark::State& state, const PeakLoop& loop, size_t threads) {
  Task task{&loop};
  pthreadpool_t pool = threads > 1 ? bench_pool() : nullptr;
  for (auto _ : state) {
    if (pool != nullptr) {
      // One task per thread, each the whole single-thread loop.
      pthreadpool_parallelize_1d(pool, run_task, &task, threads, 0);
    } else {
      loop.run(kBlocks);
    }
  }
  const double ops = loop.ops_per_block * static_cast<double>(kBlocks * threads);
  state.counters["ops"] =
      benchmark::Counter(ops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
  state.SetLabel(loop.instruction);
}

}  // namespace

std::vector<PeakLoop> peak_loops() {
  std::vector<PeakLoop> loops;
#if defined(__x86_64__) && defined(__GNUC__)
  // 2 ops per multiply-add: vpmaddwd does 16 (ymm) or 32 (zmm), vpdpbusd 32 or 64.
  const PeakLoop all[] = {
      {"peak", QEQ_ISA_AVX2, "vpmaddwd+vpaddd ymm x12", 12 * 16 * 2, run_avx2},
      {"peak", QEQ_ISA_AVX512, "vpmaddwd+vpaddd zmm x16", 16 * 32 * 2, run_avx512},
      {"peak", QEQ_ISA_AVXVNNI, "vpdpbusd ymm (VEX) x12", 12 * 32 * 2, run_avxvnni},
      {"peak", QEQ_ISA_AVX512VNNI, "vpdpbusd zmm x16", 16 * 64 * 2, run_avx512vnni},
  };
  for (const PeakLoop& loop : all) {
    if (qeq_isa_detected(loop.isa)) loops.push_back(loop);
  }
#endif
  return loops;
}

std::vector<PeakLoop> maddubs_peak_loops() {
  std::vector<PeakLoop> loops;
#if defined(__x86_64__) && defined(__GNUC__)
  // vpmaddubsw does 32 (ymm) or 64 (zmm) multiply-adds; the x2 form twice that.
  const PeakLoop all[] = {
      {"peak_maddubs", QEQ_ISA_AVX2, "vpmaddubsw+vpmaddwd(1)+vpaddd ymm x6", 6 * 32 * 2,
       run_maddubs_avx2},
      {"peak_maddubs2", QEQ_ISA_AVX2, "2 vpmaddubsw+vpaddw+vpmaddwd(1)+vpaddd ymm x6", 6 * 64 * 2,
       run_maddubs2_avx2},
      {"peak_maddubs", QEQ_ISA_AVX512, "vpmaddubsw+vpmaddwd(1)+vpaddd zmm x8", 8 * 64 * 2,
       run_maddubs_avx512},
      {"peak_maddubs2", QEQ_ISA_AVX512, "2 vpmaddubsw+vpaddw+vpmaddwd(1)+vpaddd zmm x8",
       8 * 128 * 2, run_maddubs2_avx512},
  };
  for (const PeakLoop& loop : all) {
    if (qeq_isa_detected(loop.isa)) loops.push_back(loop);
  }
#endif
  return loops;
}

void register_peak_benchmarks(const std::vector<PeakLoop>& loops,
                              const std::vector<size_t>& thread_counts, double min_time) {
  for (const PeakLoop& loop : loops) {
    for (size_t threads : thread_counts) {
      const std::string name = gemm_bench_name(loop.name, qeq_isa_name(loop.isa), threads, nullptr);
      benchmark::RegisterBenchmark(
          name.c_str(), [loop, threads](benchmark::State& s) { run_peak(s, loop, threads); })
          ->UseRealTime()
          ->MinTime(min_time)
          ->Unit(benchmark::kMicrosecond);
    }
  }
}
