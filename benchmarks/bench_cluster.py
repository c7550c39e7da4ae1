"""``--cluster``: the speed-up from one Dask worker to two, and what a cluster costs to reach.

The race: the shipped three-thread XFS truncate race with a second store in the storer thread
(pages 4 and 5, which the truncate removes) -- about 12,000 traces, some 20 s in one process,
big enough that handing out shares is cheap beside the search.  For 1 and 2 workers of a local
Dask cluster (one process, one thread each) it prints the whole search's wall time (median of
``--runs``), the executions and the traces, and checks that the verdict and traces equal one
process's (``--jobs 1``).

It also prints the fixed costs that chose the engine (see ``daxsh/explore/cluster.py``): the
time to import ``distributed`` and connect a client to a running scheduler, and, when ``ray``
is installed, the time of ``ray.init()`` on this machine (a local raylet, as ``--cluster``
would need at the least) -- each a whole process, median of ``--runs``.

    .venv/bin/python benchmarks/bench_cluster.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "scenarios" / "threads" / "three-thread-truncate-xfs.toml"
ONE_STORE = 'storer = ["touch 0x7f0000001000 8K --write"]'
TWO_STORES = 'storer = ["touch 0x7f0000001000 8K --write", "touch 0x7f0000004000 8K --write"]'


def race(tmp: Path) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert ONE_STORE in text, "the shipped race changed: update this benchmark"
    path = tmp / "three-thread-truncate-xfs-two-stores.toml"
    path.write_text(text.replace(ONE_STORE, TWO_STORES), encoding="utf-8")
    return path


def explore(path: Path, extra: list[str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "daxsh", "explore", str(path), "--kernel", "v4.18",
                        "--mode", "dpor", "--count-all", "--json", *extra],
                       capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        raise SystemExit(f"explore {' '.join(extra)} failed ({p.returncode}): {p.stderr}")
    return took, json.loads(p.stdout)


def whole_process(code: str, runs: int) -> float | None:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
        if p.returncode:
            return None
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from distributed import LocalCluster
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = race(Path(tmp))
        took, one = explore(path, [])
        rows.append({"workers": "one process", "wall_s": round(took, 2),
                     "executions": one["executions"], "traces": one["traces"],
                     "verdict": one["verdict"]})
        for n in (1, 2):
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=":0", silence_logs=50) as c:
                times, doc = [], {}
                for _ in range(args.runs):
                    t, doc = explore(path, ["--cluster", c.scheduler_address])
                    times.append(t)
                same = doc["verdict"] == one["verdict"] and doc["traces"] == one["traces"]
                rows.append({"workers": n, "wall_s": round(statistics.median(times), 2),
                             "executions": doc["executions"], "traces": doc["traces"],
                             "verdict": doc["verdict"], "same_as_one_process": same})
                if n == 1:
                    connect = whole_process(
                        f"from distributed import Client; Client({c.scheduler_address!r}).close()",
                        args.runs)
    base = next(r["wall_s"] for r in rows if r["workers"] == 1)
    two = next(r["wall_s"] for r in rows if r["workers"] == 2)
    ray = whole_process("import ray; ray.init(num_cpus=1, include_dashboard=False); "
                        "ray.shutdown()", args.runs)
    out = {"rows": rows, "speedup_1_to_2_workers": round(base / two, 2),
           "dask_import_and_connect_s": connect and round(connect, 2),
           "ray_init_s": ray and round(ray, 2)}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{'workers':>12} {'wall s':>8} {'executions':>11} {'traces':>8}  verdict")
    for r in rows:
        print(f"{r['workers']!s:>12} {r['wall_s']:>8} {r['executions']:>11} {r['traces']:>8}  "
              f"{r['verdict']}{'' if r.get('same_as_one_process', True) else '  (DIFFERS)'}")
    print(f"speed-up from 1 to 2 workers: {out['speedup_1_to_2_workers']}x")
    print(f"import distributed + connect a client: {out['dask_import_and_connect_s']} s")
    print(f"ray.init(): {out['ray_init_s'] if ray is not None else 'ray is not installed'} s")


if __name__ == "__main__":
    main()
