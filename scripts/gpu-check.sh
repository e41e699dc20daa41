#!/usr/bin/env bash
# The GPU kernel check and benchmark in one command: the kernel-check suites for sm_61 (PTX the
# driver JIT-compiles for the GPU at hand) and sm_90, every quant type and check shape against the
# CPU reference, then GB/s on the benchmark shapes next to a device-to-device copy.
#
#   scripts/gpu-check.sh [DIR]        build DIR (default build/gpu-check) and run it here
#   scripts/gpu-check.sh pack DIR     build DIR only: needs MLIR 22 (scripts/setup.sh), no GPU
#   scripts/gpu-check.sh run DIR      run a packed DIR: needs an NVIDIA driver, not LLVM or CUDA
#
# A packed DIR is self-contained: a runtime-only llmc (no LLVM/MLIR inside), the shared libraries
# it needs beyond glibc and libstdc++, and the two suite bundles. Where a CUDA toolkit is
# installed, pack also assembles every kernel with ptxas (scripts/ptxas-check.py; registers and
# spills per kernel in DIR/ptxas.tsv) and stops if ptxas rejects one. Pack on a build machine, copy DIR
# to the GPU machine, run there. Without a driver the run prints why and reports the kernels as
# skipped (exit 0). The GPU measurements land in DIR/results-CHIP.json, the input of `llmc tune`.
#
# A tuning sweep rides along when pack is given a file of tunings (one R,W,V,U[,G][,pP][,sS][,mM] per
# line, # comments), or several such files separated by spaces, e.g.
# SWEEP="scripts/gpu/sweep-prefetch-steps.txt scripts/gpu/sweep-min-blocks.txt": DIR then also holds sweep-sm_90.llmc,
# Q4_0, Q4_K, Q6_K and Q8_0 at the six benchmark shapes once per tuning, which
#   scripts/gpu-check.sh sweep DIR [TYPE...]   (run does not)
# times a type at a time (all four, or those named) into DIR/results-sweep-TYPE.json, for
# `llmc tune DIR/results-sweep-*.json --device NAME --exact`: a run cut short keeps the types it
# finished.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chips=(sm_61 sm_90)
jobs="${JOBS:-$(nproc)}"

pack() {
  local dir="$1"
  local compiler_build="${LLMC_BUILD_DIR:-$root/build}"
  local runtime_build="$root/build-gpu-check-runtime"
  echo "== building the compiler ($compiler_build)"
  cmake -S "$root" -B "$compiler_build" -G Ninja -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
  ninja -C "$compiler_build" -j "$jobs" llmc
  echo "== building a runtime-only llmc ($runtime_build)"
  cmake -S "$root" -B "$runtime_build" -G Ninja -DLLMC_BUILD_COMPILER=OFF -DLLMC_BUILD_TESTS=OFF >/dev/null
  ninja -C "$runtime_build" -j "$jobs" llmc
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/lib"
  cp "$runtime_build/bin/llmc" "$dir/bin/"
  # Libraries outside the C and C++ runtimes travel with the binary.
  ldd "$runtime_build/bin/llmc" | awk '/=> \// {print $3}' |
    grep -Ev '/(libc|libm|libgcc_s|libstdc\+\+|ld-linux[^/]*|libpthread|libdl|librt)\.so' |
    while read -r lib; do cp -L "$lib" "$dir/lib/"; done
  for chip in "${chips[@]}"; do
    echo "== building the $chip check suite"
    "$compiler_build/bin/llmc" build --check-suite --perf-shapes --target "$chip" -o "$dir/suite-$chip.llmc"
  done
  if [[ -n "${SWEEP:-}" ]]; then
    local tunings=() file
    # One file or several, separated by spaces; a tuning listed twice is built once.
    for file in $SWEEP; do
      while read -r line; do
        line="${line%%#*}"
        [[ -n "${line// /}" ]] && tunings+=(--tuning "${line// /}")
      done <"$file"
    done
    [[ ${#tunings[@]} -gt 0 ]] || { echo "gpu-check: $SWEEP holds no tuning" >&2; exit 2; }
    echo "== building the sm_90 sweep ($(( ${#tunings[@]} / 2 )) tunings from $SWEEP)"
    "$compiler_build/bin/llmc" build --check-suite --perf-shapes --more-shapes --target sm_90 \
      --quant q4_0 --quant q4_K --quant q6_K --quant q8_0 "${tunings[@]}" -o "$dir/sweep-sm_90.llmc"
  fi
  # Where a CUDA toolkit is installed, every kernel is assembled before it reaches a GPU.
  echo "== assembling the PTX (scripts/ptxas-check.py)"
  python3 "$root/scripts/ptxas-check.py" "$dir"/*.llmc --report "$dir/ptxas.tsv"
  echo "packed $dir ($(du -sh "$dir" | cut -f1)); run it with: scripts/gpu-check.sh run $dir"
}

run() {
  local dir="$1"
  [[ -x "$dir/bin/llmc" ]] || { echo "gpu-check: $dir/bin/llmc not found; pack it first" >&2; exit 2; }
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  if command -v nvcc >/dev/null; then
    echo "== read-only ceiling (scripts/gpu/read-ceiling.cu)"
    local ceiling
    ceiling="$(mktemp -d)"
    nvcc -O3 -arch=native -o "$ceiling/read-ceiling" "$root/scripts/gpu/read-ceiling.cu" && "$ceiling/read-ceiling" || true
    rm -rf "$ceiling"
  fi
  local status=0
  for chip in "${chips[@]}"; do
    echo "== $chip suite"
    LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      "$dir/bin/llmc" kernel-check "$dir/suite-$chip.llmc" --perf --iterations "${ITERATIONS:-200}" \
      --results "$dir/results-$chip.json" || status=$?
  done
  return "$status"
}

sweep() {
  local dir="$1"
  shift
  [[ -d "$dir/sweep-sm_90.llmc" ]] || { echo "gpu-check: $dir has no sweep; pack it with SWEEP=FILE" >&2; exit 2; }
  local types=("$@")
  [[ ${#types[@]} -gt 0 ]] || types=(q4_0 q4_K q6_K q8_0)
  local status=0
  for type in "${types[@]}"; do
    echo "== sm_90 sweep: $type"
    LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      "$dir/bin/llmc" kernel-check "$dir/sweep-sm_90.llmc" --quant "$type" --perf --iterations "${ITERATIONS:-200}" \
      --results "$dir/results-sweep-$type.json" || status=$?
  done
  return "$status"
}

case "${1:-}" in
  pack) pack "${2:?usage: gpu-check.sh pack DIR}" ;;
  run) run "${2:?usage: gpu-check.sh run DIR}" ;;
  sweep) shift; sweep "${@:?usage: gpu-check.sh sweep DIR [TYPE...]}" ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
  *)
    dir="${1:-$root/build/gpu-check}"
    pack "$dir"
    run "$dir"
    ;;
esac
