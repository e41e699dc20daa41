#!/usr/bin/env bash
# Set-up and every test: unit tests (ctest) and the lit suite on the full build, the same on a
# runtime-only build (-DLLMC_BUILD_COMPILER=OFF), and the GGUF fuzzer for LLMC_FUZZ_SECONDS
# (default 60). Ends with one summary line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_seconds=${LLMC_FUZZ_SECONDS:-60}
passed=0
failed=0
failures=()

step() { printf '\n== %s\n' "$*"; }
count_ctest() {  # build dir, label
  local log="$1/ctest.log"
  (cd "$1" && ctest --output-on-failure -j "$(nproc)") >"$log" 2>&1
  local rc=$?
  tail -n 3 "$log" | sed '/^$/d'
  [ $rc -eq 0 ] || grep -E '^\s+[0-9]+ - .*\(Failed|Timeout|SEGFAULT|Exception|Subprocess' "$log"
  local total fail
  total=$(grep -Eo 'tests failed out of [0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
  fail=$(grep -Eo '[0-9]+ tests failed' "$log" | grep -Eo '^[0-9]+' || echo 0)
  [ "$total" -gt 0 ] || { fail=1; total=1; }
  passed=$((passed + total - fail)); failed=$((failed + fail))
  [ "$fail" -eq 0 ] || failures+=("$2")
}
count_lit() {  # build dir, label
  local log="$1/lit.log"
  /usr/lib/llvm-22/bin/lit -sv "$1/test/lit" >"$log" 2>&1
  local rc=$?
  grep -E '^\s+(Passed|Failed|Unsupported)' "$log"
  [ $rc -eq 0 ] || grep -A40 -E '^FAIL:|\*\*\*\*\* TEST' "$log" | head -80
  local p f
  p=$(grep -Eo 'Passed *: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
  f=$(grep -Eo 'Failed *: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
  [ $rc -eq 0 ] || [ "$f" -gt 0 ] || f=1
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -eq 0 ] || failures+=("$2")
}

step "setup"
bash "$root/scripts/setup.sh" || exit 1

step "full build (runtime + compiler)"
if bash "$root/scripts/build.sh" "$root/build" >"$root/build.log" 2>&1; then
  step "unit tests (full build)"; count_ctest "$root/build" "unit tests"
  step "lit (full build)"; count_lit "$root/build" "lit"
else
  tail -40 "$root/build.log"; failed=$((failed + 1)); failures+=("full build")
fi

step "runtime-only build (-DLLMC_BUILD_COMPILER=OFF)"
if bash "$root/scripts/build.sh" "$root/build-runtime" -DLLMC_BUILD_COMPILER=OFF >"$root/build-runtime.log" 2>&1; then
  step "unit tests (runtime-only build)"; count_ctest "$root/build-runtime" "runtime-only unit tests"
  step "lit (runtime-only build)"; count_lit "$root/build-runtime" "runtime-only lit"
else
  tail -40 "$root/build-runtime.log"; failed=$((failed + 1)); failures+=("runtime-only build")
fi

if [ "$fuzz_seconds" -gt 0 ]; then
  step "fuzz GGUF reader for ${fuzz_seconds}s"
  if bash "$root/scripts/fuzz.sh" "$fuzz_seconds"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("fuzz"); fi
fi

echo
[ ${#failures[@]} -eq 0 ] || echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
