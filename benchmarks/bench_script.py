"""Scripts run in linear time: a whole ``daxsh run SCRIPT`` process on 10,000 and 20,000
command lines, minus the startup (``daxsh run`` of a one-line script).

    python benchmarks/bench_script.py [--runs N]

Targets: >= 10,000 commands/s on the 10,000-line script; the 20,000-line script in <= 2x the
time of the 10,000-line one.  The best of N runs (default 5) of each, as wall time and as the
process's CPU time (user + system), which a shared machine's load disturbs less.  A
measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def script(n: int) -> list[str]:
    """``n`` lines of the shape of benchmarks/run.py's 10,000-line script (a file's life)."""
    lines = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax"]
    i = 0
    while len(lines) < n:
        f = f"/mnt/f{i}"
        lines += [f"create {f} 16K", f"mmap {f} 16K", "touch $_ 16K --write",
                  "pin 0x7f0000000000 4K", f"stat {f}", f"unpin pin{i + 1}",
                  "munmap 0x7f0000000000", f"truncate {f} 4K", f"read {f} 0 4K", f"rm {f}"]
        i += 1
    return lines[:n]


def best(path: Path, runs: int) -> tuple[float, float]:
    """The best wall time and the best CPU time (user + system) of the process."""
    times, cpus = [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "daxsh", "run", str(path)], cwd=ROOT, env=ENV,
                           capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        if r.returncode != 0:
            raise SystemExit(f"daxsh run {path}: exit {r.returncode}: {r.stderr.decode()[-500:]}")
    return min(times), min(cpus)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "daxsh")], env=ENV,
                   check=False, capture_output=True)
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for n in (1, 10_000, 20_000):
            paths[n] = Path(d) / f"script{n}.txt"
            paths[n].write_text("\n".join(script(n) if n > 1 else ["stat /"]) + "\n")
        m = {n: best(p, args.runs) for n, p in paths.items()}
    for i, what in ((0, "wall"), (1, "CPU (user + system)")):
        t = {n: v[i] for n, v in m.items()}
        start = t[1]
        rate = 10_000 / (t[10_000] - start)
        ratio = (t[20_000] - start) / (t[10_000] - start)
        print(f"{what}:")
        print(f"  startup (1 line)     {start:7.3f} s")
        print(f"  10,000 lines         {t[10_000]:7.3f} s   {rate:8.0f} commands/s   (target >= 10,000)")
        print(f"  20,000 lines         {t[20_000]:7.3f} s   {ratio:8.2f} x the 10,000 minus startup "
              f"(whole process {t[20_000] / t[10_000]:.2f} x)   (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
