#!/usr/bin/env bash
# Set-up and the main job on a bundled example: installs what is missing, builds, and plans Qwen3 14B
# (a bundled header-only skeleton) on two P104-100 mining cards, one on an x1 riser behind the
# chipset (a bundled rig file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh" >/dev/null
bash "$root/scripts/build.sh" "$root/build" >/dev/null
"$root/build/bin/llmc" plan "$root/examples/qwen3-14b-q4_k_m.skeleton.gguf" --devices "$root/examples/rig-2xp104-riser.json"
