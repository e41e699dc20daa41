#!/usr/bin/env bash
# Set-up and the main job on a bundled example: installs what is missing, builds, and describes the
# bundled header-only skeleton of Llama 3.3 70B Q4_K_S.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh" >/dev/null
bash "$root/scripts/build.sh" "$root/build" >/dev/null
"$root/build/bin/llmc" inspect "$root/examples/llama-3.3-70b-q4_k_s.skeleton.gguf"
