#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, then builds and tests
#   1. Release with warnings as errors (every ISA this CPU has, NEON through SIMDe);
#   2. Debug with AddressSanitizer + UndefinedBehaviorSanitizer, the same tests;
#   3. the libFuzzer harnesses of tests/fuzz/, each for QEQ_FUZZ_SECONDS (default 20) s
#      (scripts/run-fuzzers.sh);
#   4. RelWithDebInfo with ThreadSanitizer: tests/contracts/test_threads.c (calls racing with
#      cap flips);
#   5. on x86_64 hosts, the aarch64 cross build and the same tests under qemu-user with
#      two emulated CPUs (scripts/run-tests-aarch64.sh).
# Build trees go under build/ (override with QEQ_BUILD_ROOT). Run from anywhere.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_root=${QEQ_BUILD_ROOT:-$root/build}
jobs=$(nproc)

step_names=()
step_seconds=()
current=""
current_start=0
# step NAME: ends the running step (recording its wall time) and starts NAME.
step() {
  local now=$SECONDS
  if [[ -n $current ]]; then
    step_names+=("$current")
    step_seconds+=($((now - current_start)))
  fi
  current=$*
  current_start=$now
  [[ -n $current ]] && printf '\n==== %s ====\n' "$current"
  return 0
}
# The per-step wall times, printed at the end (and after a failing step, for what ran).
report_times() {
  local rc=$?
  step ""
  printf '\n==== wall time per step (%s) ====\n' "$([[ $rc -eq 0 ]] && echo passed || echo "FAILED, exit $rc")"
  local i total=0
  for i in "${!step_names[@]}"; do
    printf '%6d s  %s\n' "${step_seconds[$i]}" "${step_names[$i]}"
    total=$((total + step_seconds[i]))
  done
  printf '%6d s  total\n' "$total"
}
trap report_times EXIT

step "dependencies (scripts/install-deps.sh)"
bash "$root/scripts/install-deps.sh"
if [[ $(uname -m) == x86_64 ]]; then
  bash "$root/scripts/install-deps.sh" --aarch64
fi

step "Release build (-Werror) and tests"
printf "PyTorch's oneDNN on this CPU: %s\n" \
  "$(/usr/bin/python3 "$root/python/qeq/_onednn_exactness.py" 2>&1 | tail -n 1)"
cmake -S "$root" -B "$build_root/release" -DCMAKE_BUILD_TYPE=Release -DQEQ_WERROR=ON \
  -DQEQ_BUILD_BENCHMARKS=ON
cmake --build "$build_root/release" -j "$jobs"
ctest --test-dir "$build_root/release" --output-on-failure -j "$jobs"

step "AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake -S "$root" -B "$build_root/asan" -DCMAKE_BUILD_TYPE=Debug -DQEQ_WERROR=ON -DQEQ_SANITIZE=ON
cmake --build "$build_root/asan" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir "$build_root/asan" --output-on-failure -j "$jobs"

step "libFuzzer harnesses (clang; ASan, UBSan on the API layer), ${QEQ_FUZZ_SECONDS:-20} s each"
QEQ_FUZZ_BUILD="$build_root/fuzz" bash "$root/scripts/run-fuzzers.sh"

step "ThreadSanitizer build and the threads tests"
cmake -S "$root" -B "$build_root/tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQEQ_WERROR=ON -DQEQ_TSAN=ON
cmake --build "$build_root/tsan" -j "$jobs" --target test_threads
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$build_root/tsan" --output-on-failure -R '^threads'

if [[ $(uname -m) == x86_64 ]]; then
  step "aarch64 cross build and tests under qemu-user (scripts/run-tests-aarch64.sh)"
  bash "$root/scripts/run-tests-aarch64.sh"
fi

step ""
printf '\n==== all test builds passed ====\n'
