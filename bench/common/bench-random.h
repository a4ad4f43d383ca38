// The benchmarks' deterministic operands: a small LCG seeded per problem, and the value
// distributions the GEMM and convolution problems share.
#ifndef QEQ_BENCH_BENCH_RANDOM_H
#define QEQ_BENCH_BENCH_RANDOM_H

#include <cstdint>
#include <vector>

struct BenchRandom {
  uint64_t state;
  uint32_t next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 32);
  }
  // quint8 activations over the whole range.
  void fill(std::vector<uint8_t>* x) {
    for (uint8_t& v : *x) v = static_cast<uint8_t>(next() >> 24);
  }
  // Full-range symmetric weights (-127..127), as a per-channel symmetric observer gives.
  void fill(std::vector<int8_t>* w) {
    for (int8_t& v : *w) v = static_cast<int8_t>(static_cast<int>(next() % 255u) - 127);
  }
  // A bias in real units, uniform in [-2, 2).
  void fill(std::vector<float>* bias) {
    for (float& b : *bias) b = (static_cast<float>(next() >> 8) / 16777216.0f - 0.5f) * 4.0f;
  }
};

#endif  // QEQ_BENCH_BENCH_RANDOM_H
