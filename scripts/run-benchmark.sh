#!/usr/bin/env bash
# The main job: installs dependencies, builds Release with the benchmark, and runs qeq_bench,
# which ends with a summary table (GB/s and fractions of the streaming baselines).
# Extra arguments go to qeq_bench, e.g. --benchmark_filter=2048x2048.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${QEQ_BUILD_ROOT:-$root/build}/bench-release

bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQEQ_BUILD_BENCHMARKS=ON \
  -DQEQ_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)" --target qeq_bench
"$build/bench/qeq_bench" --benchmark_color=false "$@"
