#!/usr/bin/env bash
# Configures and builds llmc. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# The default build (build/) includes the MLIR kernel compiler; pass -DLLMC_BUILD_COMPILER=OFF for a
# runtime-only build. Binaries land in BUILD_DIR/bin (llmc, llmc-opt, test executables).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir "$@" >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)"
