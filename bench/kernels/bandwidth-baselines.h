// Memory-bandwidth baselines: the fastest plain loops over a buffer, for each kernel figure
// to be read as a fraction of what the machine can stream in the same run.
#ifndef QEQ_BENCH_BANDWIDTH_BASELINES_H
#define QEQ_BENCH_BANDWIDTH_BASELINES_H

#include <cstddef>
#include <cstdint>

// Reads every byte of x (n floats) once, combining them so the loads cannot be elided.
uint32_t stream_read(const float* x, size_t n);
// The same bytes as four streams read side by side (the four quarters of x, 64 bytes of each
// in turn). One core's DRAM bandwidth can exceed a single stream's (compare the
// baseline_read_4way and baseline_read rows in bench/results/; how to read them:
// docs/benchmarks.md#reading-the-memory-bound-tables-qeq_bench), and row-wise kernels, which
// read four rows together, can beat stream_read.
uint32_t stream_read_4way(const float* x, size_t n);
// Loads and stores every element of x in place (values unchanged): one read and one write
// stream, the traffic of an in-place scaling pass.
void stream_read_write(float* x, size_t n);
// Which instruction set the baselines use on this CPU ("avx512", "avx2", "neon", "scalar").
const char* stream_isa();

#endif  // QEQ_BENCH_BANDWIDTH_BASELINES_H
