"""daxsh benchmarks: prints a table of measured figures against their targets.

    python benchmarks/run.py [--quick]

* wall time of `daxsh run FILE` (a whole process) for each shipped scenario, median of 5
  (target: each kernel's replay under 150 ms, so a file naming N kernels under N x 150 ms);
* commands per second in-process on a 10,000-line script (target >= 10,000/s);
* peak memory (ru_maxrss) of a process with a 1 TiB namespace and 100,000 touched pages
  (target < 300 MB).

These are measurements, not tests: nothing here fails the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Measure what a user gets: compiled bytecode is cached (a pip install writes it; a checkout
# writes it on first import).  An environment with PYTHONDONTWRITEBYTECODE would otherwise
# recompile every module in every process.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def scenario_times(runs: int) -> list[tuple[str, int, float]]:
    from daxsh.scenario import load

    out = []
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "daxsh")], env=ENV,
                   check=False, capture_output=True)
    for f in sorted((ROOT / "scenarios").glob("*.toml")):
        kernels = len(load(f).kernels())
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "daxsh", "run", str(f)], cwd=ROOT, env=ENV,
                           capture_output=True, check=False)
            times.append(time.perf_counter() - t0)
        out.append((f.name, kernels, statistics.median(times)))
    return out


def script_10k() -> list[str]:
    lines = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax"]
    i = 0
    while len(lines) < 10_000:
        f = f"/mnt/f{i}"
        lines += [f"create {f} 16K", f"mmap {f} 16K", "touch $_ 16K --write",
                  "pin 0x7f0000000000 4K", f"stat {f}", f"unpin pin{i + 1}",
                  "munmap 0x7f0000000000", f"truncate {f} 4K", f"read {f} 0 4K", f"rm {f}"]
        i += 1
    return lines[:10_000]


def commands_per_second() -> tuple[float, int]:
    from daxsh.lang import Session

    lines = script_10k()
    best = 0.0
    errors = 0
    for _ in range(3):
        s = Session("v6.15")
        t0 = time.perf_counter()
        for line in lines:
            if s.execute(line).status == "error":
                errors += 1
        dt = time.perf_counter() - t0
        best = max(best, len(lines) / dt)
    return best, errors // 3


MEM_CHILD = """
import resource

from daxsh.lang import Session
s = Session("v6.15", pmem=1 << 40)
for line in ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/big 400M",
             "mmap /mnt/big 400M", "touch $_ 400M --write"]:
    r = s.execute(line)
    assert r.status == "done", (line, r.text())
pages = sum(len(p.mm.ptes) for p in s.k.processes.values())
print(pages, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory() -> tuple[int, float]:
    out = subprocess.run([sys.executable, "-c", MEM_CHILD], cwd=ROOT, capture_output=True,
                         text=True, check=True, env=ENV)
    pages, kb = out.stdout.split()
    return int(pages), int(kb) / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="one run per scenario")
    args = ap.parse_args()
    print(f"{'measure':<58} {'figure':>14} {'target':>14}")
    print("-" * 88)
    for name, kernels, secs in scenario_times(1 if args.quick else 5):
        per = secs / kernels
        print(f"daxsh run scenarios/{name:<38} {secs * 1000:>9.0f} ms {f'{kernels} x 150 ms':>14}"
              f"  ({per * 1000:.0f} ms/kernel {'ok' if per < 0.150 else 'OVER'})")
    cps, errors = commands_per_second()
    print(f"{'commands/s in-process, 10,000-line script':<58} {cps:>12.0f}/s {'>= 10,000/s':>14}"
          f"  ({'ok' if cps >= 10_000 else 'UNDER'}; {errors} lines errored)")
    pages, mb = peak_memory()
    print(f"{f'peak RSS, 1 TiB namespace, {pages:,} touched pages':<58} {mb:>11.0f} MB {'< 300 MB':>14}"
          f"  ({'ok' if mb < 300 else 'OVER'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
