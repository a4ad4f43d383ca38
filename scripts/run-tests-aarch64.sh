#!/usr/bin/env bash
# The aarch64 part of the test suite: cross-builds qeq, its tests and qeq_bench with
# Debian's gcc-aarch64-linux-gnu, then runs every test under qemu-user twice:
#   QEMU_CPU=max         (NEON + dot product): dispatch must choose neondot;
#   QEMU_CPU=cortex-a72  (plain NEON):         dispatch must choose neon.
# The benchmark is built, not run (emulated timings mean nothing).
# QEQ_TEST_SCALE (default 1) scales the random-case counts of the emulated runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${QEQ_BUILD_ROOT:-$root/build}/aarch64
jobs=$(nproc)

bash "$root/scripts/install-deps.sh" --aarch64

step() { printf '\n==== %s ====\n' "$*"; }

step "aarch64 cross build (-Werror, NEON and NEON dot-product kernels, qeq_bench)"
cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DQEQ_WERROR=ON -DQEQ_BUILD_BENCHMARKS=ON
cmake --build "$build" -j "$jobs"
for binary in "$build/tests/test_minmax_scale_kernels" "$build/bench/qeq_bench"; do
  printf '%s: %s\n' "${binary#"$build"/}" "$(readelf -h "$binary" | grep -o 'AArch64')"
done

for cpu_and_isa in "max neondot" "cortex-a72 neon"; do
  read -r cpu isa <<<"$cpu_and_isa"
  step "tests under qemu-aarch64 -cpu $cpu (dispatch must choose $isa)"
  export QEMU_CPU=$cpu QEQ_TEST_EXPECT_BEST=$isa
  # Show what detection saw and chose on this emulated CPU.
  qemu-aarch64 "$build/tests/test_isa" | grep -E '^  (detected|QEQ_ISA)' || true
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
done
unset QEMU_CPU QEQ_TEST_EXPECT_BEST
step "aarch64 tests passed under -cpu max and -cpu cortex-a72"
