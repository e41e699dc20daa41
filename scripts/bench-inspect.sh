#!/usr/bin/env bash
# Times `llmc inspect` on a full-size (sparse) Llama 3.3 70B Q4_K_S file and on its skeleton, and
# reports page faults, to show that inspection reads the header only. Usage: bench-inspect.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
llmc=$root/build/bin/llmc
runs=${1:-50}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
skel=$root/examples/llama-3.3-70b-q4_k_s.skeleton.gguf
big=$tmp/llama-3.3-70b-q4_k_s.gguf
cp "$skel" "$big"
# Grow to the full size (header + padding + 37.57 GiB of data) as a sparse file.
need=$("$llmc" inspect --json "$skel" | sed -n 's/.*"data_offset": \([0-9]*\).*/\1/p')
data=$("$llmc" inspect --json "$skel" | sed -n 's/.*"data_bytes": \([0-9]*\).*/\1/p')
truncate -s $((need + data)) "$big"
for f in "$skel" "$big"; do
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do "$llmc" inspect "$f" >/dev/null; done
  end=$(date +%s%N)
  faults=$( { /usr/bin/time -f '%R' "$llmc" inspect "$f" >/dev/null; } 2>&1 | tail -1)
  printf '%-60s %10s bytes  %6.2f ms/run (process start included)  %s minor faults\n' "$(basename "$f")" \
    "$(stat -c %s "$f")" "$(echo "($end - $start) / $runs / 1000000" | bc -l)" "$faults"
done
