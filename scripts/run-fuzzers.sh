#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/) with clang, ASan everywhere and UBSan on the
# API layer, in their own build tree, and runs each for a bounded time, starting from the
# committed seed corpus and crash inputs. Prints per harness how long it ran and how many inputs it tried; fails on any
# crash (the input is left in the build tree's artifacts/ folder: commit it under
# tests/fuzz/regressions/<harness>/ once fixed).
#   QEQ_FUZZ_SECONDS  seconds per harness (default 20)
#   QEQ_FUZZ_BUILD    build tree (default build/fuzz)
#   QEQ_FUZZ_ONLY     run just this harness (e.g. fuzz_gemm)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${QEQ_FUZZ_BUILD:-$root/build/fuzz}
seconds=${QEQ_FUZZ_SECONDS:-20}
jobs=$(nproc)
# ASan everywhere; libFuzzer's coverage and UBSan on the API layer and the harnesses
# (QEQ_FUZZ_API_FLAGS, see CMakeLists.txt).
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQEQ_WERROR=ON \
  -DQEQ_FUZZ=ON "-DCMAKE_C_FLAGS=-fsanitize=address -fno-omit-frame-pointer" \
  "-DQEQ_FUZZ_API_FLAGS=-fsanitize=fuzzer-no-link;-fsanitize=undefined;-fno-sanitize-recover=all" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null
cmake --build "$build" -j "$jobs" --target fuzzers

corpus=$root/tests/fuzz/corpus
regressions=$root/tests/fuzz/regressions
mkdir -p "$build/artifacts" "$build/logs"
failed=0
printf '%-22s %8s %12s  %s\n' harness seconds inputs result
for harness in $(ls "$corpus"); do
  [[ -n ${QEQ_FUZZ_ONLY:-} && $harness != "$QEQ_FUZZ_ONLY" ]] && continue
  work=$build/corpus/$harness
  mkdir -p "$work"
  dirs=("$work" "$corpus/$harness")
  [[ -d $regressions/$harness ]] && dirs+=("$regressions/$harness")
  log=$build/logs/$harness.log
  start=$(date +%s%N)
  result=ok
  QEQ_ISA= ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/tests/fuzz/$harness" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$build/artifacts/$harness-" "${dirs[@]}" >"$log" 2>&1 ||
    result="CRASH (see $log)"
  ms=$((($(date +%s%N) - start) / 1000000))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-22s %6d.%d %12s  %s\n' "$harness" $((ms / 1000)) $((ms % 1000 / 100)) "${runs:-?}" "$result"
  if [[ $result != ok ]]; then
    failed=1
    grep -m1 -A12 -E 'ERROR|broken promise|runtime error' "$log" || tail -20 "$log"
  fi
done
exit "$failed"
