#!/usr/bin/env bash
# Instructions one quint8 convolution executes on aarch64, counted under qemu-user (emulated
# timings mean nothing; counts compare kernels and paths). Builds
# scripts/aarch64-counts/conv-runs.c against the libqeq.so of an aarch64 build (see
# scripts/run-tests-aarch64.sh), runs it under qemu-aarch64 with `-d in_asm,exec,nochain` for
# 2 and for 3 runs of the convolution, and prints the difference: one run after the first
# (which builds the cached indirection table), everything qeq_conv_run executes included.
# Usage: scripts/count-conv-instructions-aarch64.sh BUILD_DIR CPU C O H W KERNEL STRIDE PADDING
#   CPU: a qemu CPU model, e.g. max (NEON dot product) or cortex-a72 (NEON only).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
cpu=$2
shift 2
program=$(mktemp -d)/conv-runs
trap 'rm -rf "$(dirname "$program")"' EXIT
aarch64-linux-gnu-gcc -O2 -I"$root/include" "$root/scripts/aarch64-counts/conv-runs.c" \
  -L"$build" -lqeq -Wl,-rpath,"$build" -o "$program"

count() {
  QEMU_CPU=$cpu qemu-aarch64 -d in_asm,exec,nochain -D /dev/stdout "$program" "$@" 2>/dev/null |
    python3 "$root/scripts/aarch64-counts/count-instructions.py"
}
QEMU_CPU=$cpu qemu-aarch64 "$program" "$@" 1
twice=$(count "$@" 2)
thrice=$(count "$@" 3)
echo "instructions per run: $((thrice - twice))"
