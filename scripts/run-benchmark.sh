#!/usr/bin/env bash
# The main job: installs dependencies (with oneDNN and XNNPACK, the peers), builds Release
# with the benchmarks, and runs qeq_bench, which ends with summary tables (GB/s, fractions of
# the streaming baselines, and qeq against oneDNN), then `bench/peers/torch_peer.py kernels`
# (PyTorch on the same operations, and PyTorch's time over qeq's per operation), then
# qeq_bench_gemm: the int8 GEMM against oneDNN, XNNPACK and the measured multiply-add peak,
# one thread and all cores, with its own summary tables; then qeq_bench_conv: the convolution
# against oneDNN and XNNPACK on single layers and whole networks (ResNet-18, MobileNetV2),
# with summary tables; then `bench/peers/torch_peer.py qeq-torch` (qeq.torch against PyTorch)
# and `bench/peers/torch_peer.py models` (whole quantized models: PyTorch against
# qeq.torch.convert).
# Each benchmark runs 3 times, the repetitions of all benchmarks shuffled together, so a
# kernel and its baseline are measured over the same stretch of time on a noisy machine; the
# tables show means (the convolution tables: medians). Extra arguments go to qeq_bench,
# qeq_bench_gemm and qeq_bench_conv and override these, e.g. --benchmark_filter=2048x2048 or
# --benchmark_repetitions=1.
#
# Results: the summary tables go to bench/results/<date>-<cpu>.md (UTC date; cpu e.g. zen4,
# from lscpu), headed by the command, the time and the CPU, and each Google Benchmark
# program's raw results to bench/results/<date>-<cpu>-<program>.json beside it. A second run
# on the same day and CPU gets <date>-<cpu>-<HHMM>.md. QEQ_RESULTS_DIR puts them elsewhere.
# The full console output stays in the build tree (main-job.log).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${QEQ_BUILD_ROOT:-$root/build}/bench-release
results_dir=${QEQ_RESULTS_DIR:-$root/bench/results}

# A short name for this CPU: zen3 / zen4 / zen5 for the AMD families we know, else the model
# name in lower case with runs of other characters turned into '-'.
cpu_slug() {
  local vendor family model name
  vendor=$(lscpu | sed -n 's/^Vendor ID: *//p' | head -n 1)
  family=$(lscpu | sed -n 's/^CPU family: *//p' | head -n 1)
  model=$(lscpu | sed -n 's/^Model: *//p' | head -n 1)
  name=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
  if [[ $vendor == AuthenticAMD && $family =~ ^[0-9]+$ && $model =~ ^[0-9]+$ ]]; then
    if ((family == 25)); then
      # Zen 3: Milan 0x00-0x0f, Vermeer 0x20-0x2f, Rembrandt/Cezanne 0x40-0x5f;
      # Zen 4: Genoa 0x10-0x1f, Raphael/Phoenix 0x60-0x7f, Bergamo/Siena 0xa0-0xaf.
      if ((model <= 0x0f || (model >= 0x20 && model <= 0x2f) ||
        (model >= 0x40 && model <= 0x5f))); then
        echo zen3
        return
      fi
      if (((model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0x7f) ||
        (model >= 0xa0 && model <= 0xaf))); then
        echo zen4
        return
      fi
    elif ((family == 26)); then
      echo zen5
      return
    fi
  fi
  name=$(printf '%s' "${name:-$(uname -m)}" |
    sed -e 's/([RrTt][MmRr]*)//g' -e 's/ CPU / /; s/@.*//; s/ Processor//' |
    tr '[:upper:]' '[:lower:]' | sed -e 's/[^a-z0-9]\{1,\}/-/g' -e 's/^-//; s/-$//')
  echo "${name:-unknown}"
}

# The CPU as lscpu describes it, for the results file.
cpu_description() {
  local field
  for field in 'Model name' 'Vendor ID' 'CPU family' 'Model' 'Stepping' 'CPU(s)' \
    'Hypervisor vendor' 'L2 cache' 'L3 cache'; do
    lscpu | awk -v f="$field" -F': *' '$1 == f { printf "  - %s: %s\n", f, $2; exit }'
  done
  local flags
  flags=$(lscpu | sed -n 's/^Flags: *//p' | tr ' ' '\n' |
    grep -E '^(avx2|fma|avx512f|avx512bw|avx512dq|avx512vl|avx512_vnni|avx_vnni|asimd|asimddp)$' |
    tr '\n' ' ' || true)
  printf '  - ISA flags: %s\n' "${flags% }"
  printf '  - Kernel: %s\n' "$(uname -srm)"
}

bash "$root/scripts/install-deps.sh" --bench-peers
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQEQ_BUILD_BENCHMARKS=ON \
  -DQEQ_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)" --target qeq_bench qeq_bench_gemm qeq_bench_conv qeq

# ---- the results file --------------------------------------------------------------------
mkdir -p "$results_dir"
day=$(date -u +%F)
cpu=$(cpu_slug)
stem=$results_dir/$day-$cpu
[[ -e $stem.md ]] && stem=$results_dir/$day-$cpu-$(date -u +%H%M)
md=$stem.md
log=$build/main-job.log
: >"$log"
revision=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  revision="$revision, with uncommitted changes"
fi
args=""
(($#)) && args=$(printf ' %q' "$@")
# shellcheck disable=SC2016 # the backquotes are Markdown
{
  printf '# Main job, %s, %s\n\n' "$day" "$cpu"
  printf -- '- Command: `bash scripts/run-benchmark.sh%s` (the main job), from the repository root.\n' \
    "$args"
  printf -- '- Started: %s UTC; load average %s.\n' "$(date -u '+%F %H:%M:%S')" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf -- '- Revision: %s.\n' "$revision"
  printf -- '- CPU (lscpu):\n'
  cpu_description
  printf -- '- Raw results: %s-*.json (Google Benchmark JSON, one file per program).\n' \
    "$(basename "$stem")"
  printf -- '- How to read the tables: docs/benchmarks.md.\n'
} >"$md"
# If a step fails, the file says so instead of ending silently.
on_exit() {
  local status=$?
  if ((status != 0)); then
    printf '\n**The main job stopped early (exit %d) at %s UTC: the tables above are all it wrote.**\n' \
      "$status" "$(date -u +%T)" >>"$md"
  fi
}
trap on_exit EXIT

# section TITLE: a heading in the results file.
section() { printf '\n## %s\n\n' "$1" >>"$md"; }
# keep_from MARKER: copies stdin to the console and the log; appends to the results file
# everything from the first line that starts with MARKER (a program's summary) to the end.
keep_from() {
  local part
  part=$(mktemp)
  tee "$part" | tee -a "$log"
  awk -v m="$1" 'BEGIN { on = (m == "") } !on && index($0, m) == 1 { on = 1 } on' "$part" >>"$md"
  rm -f "$part"
}
# keep_all: the same for a program whose whole output is its summary.
keep_all() { keep_from ""; }

gbench_args=(--benchmark_color=false --benchmark_repetitions=3
             --benchmark_enable_random_interleaving=true --benchmark_out_format=json)

# One thread for every peer too (oneDNN runs on OpenMP).
qeq_json=$stem-qeq_bench.json
section "Memory-bound kernels and layer operations (qeq_bench)"
OMP_NUM_THREADS=1 "$build/bench/qeq_bench" "${gbench_args[@]}" \
  --benchmark_report_aggregates_only=false --benchmark_out="$qeq_json" "$@" |
  keep_from "qeq_bench summary"
# PyTorch on the same operations and weights, one thread, and qeq / PyTorch per operation
# from the means above (bench/peers/torch_peer.py kernels; about a minute).
section "PyTorch on the same work (bench/peers/torch_peer.py kernels)"
/usr/bin/python3 "$root/bench/peers/torch_peer.py" kernels --qeq-json "$qeq_json" | keep_all

# The GEMM. oneDNN reads ONEDNN_MAX_CPU_ISA once per process, so its AVX2 path (the
# comparison for qeq's AVX2 kernel) runs first in a process of its own, one thread; the main
# run merges its means into the summary. Threads are set per benchmark (omp_set_num_threads
# for oneDNN, a pthreadpool for qeq and XNNPACK), whatever OMP_NUM_THREADS says.
section "int8 GEMM (qeq_bench_gemm)"
onednn_avx2=$build/gemm-onednn-avx2.txt
rm -f "$onednn_avx2"
ONEDNN_MAX_CPU_ISA=AVX2 "$build/bench/qeq_bench_gemm" "${gbench_args[@]}" \
  --benchmark_report_aggregates_only=false --benchmark_out="$stem-qeq_bench_gemm-onednn-avx2.json" \
  "$@" --benchmark_filter='^onednn_u8/avx2/1t/' --save_results="$onednn_avx2" | tee -a "$log"
"$build/bench/qeq_bench_gemm" "${gbench_args[@]}" --benchmark_report_aggregates_only=false \
  --benchmark_out="$stem-qeq_bench_gemm.json" "$@" --load_results="$onednn_avx2" |
  keep_from "qeq_bench_gemm summary"
# The int8 convolution beside oneDNN's and XNNPACK's (their outputs checked against qeq's
# first): ResNet/MobileNet layers one thread and all cores, then every convolution of
# ResNet-18 and MobileNetV2 at 224x224, one thread, layer by layer (about a minute); ends with
# its summary tables (GOPS per layer, network sums, the layers furthest behind a peer).
# The network layer list (bench/conv/conv-networks.h) must still be torchvision's.
/usr/bin/python3 "$root/bench/conv/conv_networks.py" --check | tee -a "$log"
section "int8 convolution (qeq_bench_conv)"
OMP_NUM_THREADS=1 "$build/bench/qeq_bench_conv" "${gbench_args[@]}" \
  --benchmark_report_aggregates_only=true --benchmark_out="$stem-qeq_bench_conv.json" "$@" |
  keep_from "qeq_bench_conv summary"
# qeq.torch against PyTorch's own functions on identical copies (fold + CLE on resnet18,
# mobilenet_v2 and a 2048x2048x3x3 conv pair, a quantized Linear), through the Python package
# in python/.
section "qeq.torch against PyTorch (bench/peers/torch_peer.py qeq-torch)"
QEQ_LIBRARY="$build/libqeq.so" /usr/bin/python3 "$root/bench/peers/torch_peer.py" qeq-torch |
  keep_all
# One-call preparation: equalize_model against the same preparation with PyTorch's functions,
# and the SQNR it buys on a mobilenet_v2 with spread channel ranges (about a minute).
section "Preparation: equalize_model against PyTorch (bench/peers/torch_peer.py prepare)"
QEQ_LIBRARY="$build/libqeq.so" /usr/bin/python3 "$root/bench/peers/torch_peer.py" prepare |
  keep_all
# Whole models: PyTorch's quantized torchvision models against qeq.torch.convert, per engine,
# one thread, batch 1 and 8, with output equality (QEQ_SKIP_MODELS=1 skips; about 10 minutes).
if [[ ${QEQ_SKIP_MODELS:-0} != 1 ]]; then
  section "Whole models: PyTorch against qeq.torch.convert (bench/peers/torch_peer.py models)"
  QEQ_LIBRARY="$build/libqeq.so" /usr/bin/python3 "$root/bench/peers/torch_peer.py" models |
    keep_all
fi

printf '\nFinished: %s UTC; load average %s.\n' "$(date -u '+%F %H:%M:%S')" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$md"
# The JSON files as they can be committed: paths relative to the repository (Google Benchmark
# records the executable's absolute path), and none left empty by a filter that matched nothing.
for json in "$stem"-*.json; do
  if [[ -s $json ]]; then
    sed -i "s|$root/||g" "$json"
  else
    rm -f "$json"
  fi
done
printf '\nResults: %s (and %s-*.json)\n' "$md" "$stem"
