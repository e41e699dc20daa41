#!/usr/bin/env python3
"""Assembles the PTX of llmc bundles with ptxas, where a CUDA toolkit is installed: a check that
needs no GPU, run before device time is spent, and a report of what each kernel costs.

  scripts/ptxas-check.py BUNDLE.llmc... [--report FILE.tsv] [--ptxas PATH]

Every kernels/sm_XY.ptx in the bundles is assembled for its own chip where this ptxas knows it,
else for sm_90 (PTX runs on any later chip: the driver JIT-compiles sm_61 PTX for an H200 the
same way). It fails (exit 1) when ptxas rejects a file, and when a kernel that asks for
.minnctapersm M (min_blocks) got more registers than M workgroups of its .maxntid threads leave on
a chip whose multiprocessors hold 2048 threads and 64 Ki registers. The report has a line per
kernel: bundle, chip, assembled-for chip, kernel, registers, spill store bytes, stack bytes,
.maxntid threads, .minnctapersm. ptxas is looked up in PATH, then in CUDA_HOME/bin and
/usr/local/cuda/bin; without it the script says so and exits 0 (nothing checked).
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

# Chips whose multiprocessors hold 2048 threads and 65536 registers: min_blocks caps are checked
# there. (sm_75 holds 1024 threads, sm_86 and sm_89 1536: a 2048-thread request is ignored.)
FULL_SMS = {60, 61, 62, 70, 72, 80, 87, 90}
ENTRY = re.compile(r"^\.visible \.entry (\w+)\(", re.M)


def find_ptxas(explicit):
    if explicit:
        return explicit
    found = shutil.which("ptxas")
    if found:
        return found
    for home in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if home and os.access(os.path.join(home, "bin", "ptxas"), os.X_OK):
            return os.path.join(home, "bin", "ptxas")
    return None


def supported_archs(ptxas):
    out = subprocess.run([ptxas, "--help"], capture_output=True, text=True).stdout
    # The --gpu-name option lists its allowed values: 'sm_75','sm_80',...
    return {int(m) for m in re.findall(r"'sm_(\d+)'", out)}


def launch_bounds(ptx):
    """kernel -> (maxntid threads, minnctapersm or 0), read from the PTX directives."""
    bounds = {}
    starts = [(m.start(), m.group(1)) for m in ENTRY.finditer(ptx)] + [(len(ptx), None)]
    for (at, name), (end, _) in zip(starts, starts[1:]):
        body = ptx[at:end]
        brace = body.find("{")
        head = body if brace < 0 else body[:brace]
        ntid = re.search(r"\.maxntid (\d+), (\d+), (\d+)", head)
        ctas = re.search(r"\.minnctapersm (\d+)", head)
        threads = int(ntid.group(1)) * int(ntid.group(2)) * int(ntid.group(3)) if ntid else 0
        bounds[name] = (threads, int(ctas.group(1)) if ctas else 0)
    return bounds


def assemble(ptxas, path, arch):
    """kernel -> (registers, spill store bytes, stack bytes); raises on a ptxas error."""
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([ptxas, f"-arch=sm_{arch}", "-v", str(path), "-o", os.path.join(tmp, "out.cubin")],
                                capture_output=True, text=True)
    log = result.stdout + result.stderr
    if result.returncode != 0:
        errors = [line for line in log.splitlines() if "error" in line or "fatal" in line]
        raise RuntimeError("\n".join(errors[:20]) or log[-2000:])
    costs, current = {}, None
    for line in log.splitlines():
        m = re.search(r"Function properties for (\w+)", line)
        if m:
            current = m.group(1)
            costs[current] = [0, 0, 0]
            continue
        if current is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores", line)
        if m:
            costs[current][2], costs[current][1] = int(m.group(1)), int(m.group(2))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            costs[current][0] = int(m.group(1))
    warnings = [line for line in log.splitlines() if "warning" in line]
    return costs, warnings


def register_cap(threads, blocks):
    """Registers a lane may use so that `blocks` workgroups of `threads` fit 64 Ki registers
    (allocated per warp in units of 256: per lane, multiples of 8)."""
    warps = -(-threads // 32)
    return min(255, (65536 // (blocks * warps * 32)) // 8 * 8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundles", nargs="+", type=pathlib.Path)
    parser.add_argument("--report", type=pathlib.Path, help="write a line per kernel (TSV) here")
    parser.add_argument("--ptxas", help="ptxas to use (default: PATH, CUDA_HOME/bin, /usr/local/cuda/bin)")
    args = parser.parse_args()

    ptxas = find_ptxas(args.ptxas)
    if not ptxas:
        print("ptxas-check: no ptxas (CUDA toolkit) here; nothing checked")
        return 0
    archs = supported_archs(ptxas)
    if not archs:
        print(f"ptxas-check: {ptxas} lists no sm_XY targets", file=sys.stderr)
        return 2
    failures, rows = 0, []
    for bundle in args.bundles:
        files = sorted((bundle / "kernels").glob("sm_*.ptx"))
        if not files:
            print(f"ptxas-check: {bundle}: no kernels/sm_*.ptx", file=sys.stderr)
            return 2
        for path in files:
            chip = int(path.stem[3:])
            arch = chip if chip in archs else 90
            bounds = launch_bounds(path.read_text())
            try:
                costs, warnings = assemble(ptxas, path, arch)
            except RuntimeError as error:
                print(f"FAIL  {bundle.name}/kernels/{path.name}: ptxas -arch=sm_{arch} rejected it:\n{error}")
                failures += 1
                continue
            capped = 0
            for kernel, (registers, spill, stack) in sorted(costs.items()):
                threads, blocks = bounds.get(kernel, (0, 0))
                rows.append((bundle.name, path.stem, f"sm_{arch}", kernel, registers, spill, stack, threads, blocks))
                if blocks > 0 and threads > 0 and arch in FULL_SMS:
                    capped += 1
                    cap = register_cap(threads, blocks)
                    if registers > cap:
                        print(f"FAIL  {kernel} (sm_{arch}): {registers} registers; .minnctapersm {blocks} of "
                              f"{threads} threads leaves {cap}")
                        failures += 1
            spilled = sum(1 for c in costs.values() if c[1] > 0)
            print(f"{bundle.name}/kernels/{path.name}: {len(costs)} kernels assembled for sm_{arch} by {ptxas}; {spilled} spill, "
                  f"{capped} with min_blocks within their register cap, {len(warnings)} warnings")
            for warning in warnings[:5]:
                print(f"  {warning}")
    if args.report:
        with open(args.report, "w") as out:
            out.write("bundle\tchip\tassembled_for\tkernel\tregisters\tspill_store_bytes\tstack_bytes\tthreads\tmin_blocks\n")
            for row in rows:
                out.write("\t".join(str(v) for v in row) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
