#!/usr/bin/env bash
# Builds the GGUF reader fuzzer with clang-22 (libFuzzer, ASan, UBSan) and runs it for N seconds
# (default 60) on a scratch copy of the seed corpus. A crash leaves its input in build-fuzz/crashes/
# and fails; copy it to test/fuzz/regressions/ once fixed.
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LLMC_FUZZ_BUILD_DIR:-$root/build-fuzz}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DLLMC_FUZZ=ON -DLLMC_BUILD_COMPILER=OFF >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --target llmc_gguf_fuzz -j "$(nproc)" >"$build.build.log" 2>&1 || { tail -50 "$build.build.log"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root"/test/fuzz/corpus/* "$work"/
mkdir -p "$build/crashes"
# -malloc_limit_mb catches any allocation sized by a claimed (not real) count or length.
"$build/bin/llmc_gguf_fuzz" "$work" "$root/test/fuzz/regressions" -max_total_time="$seconds" -max_len=65536 \
  -malloc_limit_mb=256 -rss_limit_mb=2048 -timeout=5 -print_final_stats=1 \
  -artifact_prefix="$build/crashes/" 2>"$build/fuzz.log" || { tail -60 "$build/fuzz.log"; exit 1; }
runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$build/fuzz.log" | grep -Eo '[0-9]+$' || echo "?")
cov=$(grep -Eo 'cov: [0-9]+' "$build/fuzz.log" | tail -1 || true)
echo "fuzz: ${seconds}s, ${runs} executions, ${cov:-cov: ?}, no crash"
