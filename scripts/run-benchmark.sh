#!/usr/bin/env bash
# The main job: installs dependencies (with oneDNN, the peer), builds Release with the
# benchmark, and runs qeq_bench, which ends with summary tables (GB/s, fractions of the
# streaming baselines, and qeq against oneDNN).
# Each benchmark runs 3 times, the repetitions of all benchmarks shuffled together, so a
# kernel and its baseline are measured over the same stretch of time on a noisy machine; the
# table shows means. Extra arguments go to qeq_bench and override these, e.g.
# --benchmark_filter=2048x2048 or --benchmark_repetitions=1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${QEQ_BUILD_ROOT:-$root/build}/bench-release

bash "$root/scripts/install-deps.sh" --bench-peers
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQEQ_BUILD_BENCHMARKS=ON \
  -DQEQ_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)" --target qeq_bench
# One thread for every peer too (oneDNN runs on OpenMP).
OMP_NUM_THREADS=1 "$build/bench/qeq_bench" --benchmark_color=false --benchmark_repetitions=3 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=false "$@"
# qeq.torch against PyTorch's own functions on identical copies (fold + CLE on resnet18,
# mobilenet_v2 and a 2048x2048x3x3 conv pair), through the Python package in python/.
cmake --build "$build" -j "$(nproc)" --target qeq
QEQ_LIBRARY="$build/libqeq.so" /usr/bin/python3 "$root/python/bench/bench_torch.py"
