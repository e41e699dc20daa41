#!/usr/bin/env bash
# Installs every Debian package llmc needs to build and test. Idempotent: packages already
# present are left alone, and the script does nothing when everything is installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache git pkg-config python3
  # LLVM/MLIR 22: compiler library, clang for the fuzzer and sanitizers, lld for HSACO links,
  # lit and FileCheck for the CLI/ISA test suites.
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22 libclang-rt-22-dev
  # Libraries used by the project.
  libboost-graph-dev nlohmann-json3-dev libgtest-dev libgmock-dev libcli11-dev libfmt-dev libicu-dev
  # AMD: device bitcode and HIP headers only (no ROCm runtime is linked).
  rocm-device-libs libamdhip64-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
