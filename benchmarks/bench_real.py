"""Wall time of one `daxsh real` run (boot, steps, power-off under QEMU TCG), per scenario and
kernel, median of N runs (target: <= 30 s a run on a 2-core machine).

    python benchmarks/bench_real.py [--runs N] [--kernel 6.1|6.12] [FILE ...]

Runs one QEMU at a time (each is CPU-heavy).  Needs `daxsh real --setup`.  A measurement, not a
test: nothing here fails the test suite.  It prints the table and the median over all runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 30.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=1, help="runs per scenario and kernel (median)")
    ap.add_argument("--kernel", action="append", choices=("6.1", "6.12"))
    args = ap.parse_args()

    from daxsh.real.compare import PRESETS, compare
    from daxsh.real.provision import SetupError, find_kernel
    from daxsh.scenario import load

    files = args.files or sorted((ROOT / "scenarios" / "real").glob("*.toml"))
    kernels = args.kernel or list(PRESETS)
    try:
        images = {k: find_kernel(k) for k in kernels}
    except SetupError as e:
        print(f"bench_real: {e}", file=sys.stderr)
        return 3
    every: list[float] = []
    print(f"{'scenario':<34} {'kernel':<6} {'median s':>9} {'real':<11} {'model':<11} agree")
    for f in files:
        sc = load(f)
        for k in kernels:
            times = []
            for _ in range(args.runs):
                t0 = time.monotonic()
                c, _plan, _b = compare(sc, images[k], PRESETS[k])
                times.append(time.monotonic() - t0)
            every += times
            med = statistics.median(times)
            print(f"{f.stem:<34} {k:<6} {med:>9.1f} {c.real.outcome:<11} {c.model.outcome:<11} "
                  f"{'yes' if c.agree else 'no'}", flush=True)
    med = statistics.median(every)
    print(f"median wall time per run: {med:.1f} s over {len(every)} runs (target <= {TARGET:.0f} s): "
          f"{'ok' if med <= TARGET else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
