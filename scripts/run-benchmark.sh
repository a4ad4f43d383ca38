#!/usr/bin/env bash
# The main job: installs dependencies (with oneDNN and XNNPACK, the peers), builds Release
# with the benchmarks, and runs qeq_bench, which ends with summary tables (GB/s, fractions of
# the streaming baselines, and qeq against oneDNN), then bench/peer_torch.py (PyTorch on the
# same operations, and PyTorch's time over qeq's per operation), then qeq_bench_gemm: the int8
# GEMM against oneDNN, XNNPACK and the measured multiply-add peak, one thread and all cores,
# with its own summary tables; then qeq_bench_conv: the convolution against oneDNN and
# XNNPACK on single layers and whole networks (ResNet-18, MobileNetV2), with summary tables.
# Each benchmark runs 3 times, the repetitions of all benchmarks shuffled together, so a
# kernel and its baseline are measured over the same stretch of time on a noisy machine; the
# table shows means. Extra arguments go to qeq_bench and qeq_bench_gemm and override these,
# e.g. --benchmark_filter=2048x2048 or --benchmark_repetitions=1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${QEQ_BUILD_ROOT:-$root/build}/bench-release

bash "$root/scripts/install-deps.sh" --bench-peers
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQEQ_BUILD_BENCHMARKS=ON \
  -DQEQ_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)" --target qeq_bench qeq_bench_gemm qeq_bench_conv
# One thread for every peer too (oneDNN runs on OpenMP).
qeq_json=$build/qeq_bench.json
OMP_NUM_THREADS=1 "$build/bench/qeq_bench" --benchmark_color=false --benchmark_repetitions=3 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=false \
  --benchmark_out="$qeq_json" --benchmark_out_format=json "$@"
# PyTorch on the same operations and weights, one thread, and qeq / PyTorch per operation
# from the means above (bench/peer_torch.py; about a minute).
/usr/bin/python3 "$root/bench/peer_torch.py" --qeq-json "$qeq_json"

# The GEMM. oneDNN reads ONEDNN_MAX_CPU_ISA once per process, so its AVX2 path (the
# comparison for qeq's AVX2 kernel) runs first in a process of its own, one thread; the main
# run merges its means into the summary. Threads are set per benchmark (omp_set_num_threads
# for oneDNN, a pthreadpool for qeq and XNNPACK), whatever OMP_NUM_THREADS says.
gemm_args=(--benchmark_color=false --benchmark_repetitions=3
           --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=false)
onednn_avx2=$build/gemm-onednn-avx2.txt
rm -f "$onednn_avx2"
ONEDNN_MAX_CPU_ISA=AVX2 "$build/bench/qeq_bench_gemm" "${gemm_args[@]}" "$@" \
  --benchmark_filter='^onednn_u8/avx2/1t/' --save_results="$onednn_avx2"
"$build/bench/qeq_bench_gemm" "${gemm_args[@]}" "$@" --load_results="$onednn_avx2"
# The int8 convolution beside oneDNN's and XNNPACK's (their outputs checked against qeq's
# first): ResNet/MobileNet layers one thread and all cores, then every convolution of
# ResNet-18 and MobileNetV2 at 224x224, one thread, layer by layer (about a minute); ends with
# its summary tables (GOPS per layer, network sums, the layers furthest behind a peer).
# The network layer list (bench/conv-networks.h) must still be torchvision's.
/usr/bin/python3 "$root/bench/conv_networks.py" --check
OMP_NUM_THREADS=1 "$build/bench/qeq_bench_conv" --benchmark_color=false --benchmark_repetitions=3 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true "$@"
# qeq.torch against PyTorch's own functions on identical copies (fold + CLE on resnet18,
# mobilenet_v2 and a 2048x2048x3x3 conv pair), through the Python package in python/.
cmake --build "$build" -j "$(nproc)" --target qeq
QEQ_LIBRARY="$build/libqeq.so" /usr/bin/python3 "$root/python/bench/bench_torch.py"
