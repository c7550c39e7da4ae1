"""The explorer's speed (issue 6): executions per second on a 2-thread, ~20-step scenario
(target >= 5,000/s), the reduction factor of DPOR over plain enumeration on scenarios with three
or more threads (target >= 10x), and the time to a verdict on each shipped threads scenario
(target < 1 s), plus how the post-setup state is rebuilt (in place vs pickle vs deepcopy vs
replay).  The executions/s figure is given for one process and for ``--jobs`` = every core.

    .venv/bin/python benchmarks/bench_explore.py            # a table; exit 1 over a budget
    .venv/bin/python benchmarks/bench_explore.py --json
    .venv/bin/python benchmarks/bench_explore.py --quick    # shorter measurements
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daxsh.explore import Machine, Problem  # noqa: E402
from daxsh.explore.search import (  # noqa: E402
    Limits,
    estimate_interleavings,
    explore,
    explore_tree,
    run_policy,
)

BASE = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax"]

# 2 threads, about 20 steps per execution
TWO_THREADS = Problem(
    "v4.16",
    setup=[*BASE, "create /mnt/a 4K", "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write"],
    threads={"truncator": ["truncate /mnt/a 0", "create /mnt/b 24K"],
             "device": ["pin 0x7f0000000000 4K", "dma pin1", "unpin pin1"]},
    bad="corruption", title="2 threads, ~20 steps")

# three or more threads
MANY_THREADS = {
    "truncate/touch/pin": Problem(
        "v4.16",
        setup=[*BASE, "create /mnt/a 4K", "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write"],
        threads={"truncator": ["truncate /mnt/a 0"],
                 "toucher": ["touch 0x7f0000000000 4K --write"],
                 "device": ["pin 0x7f0000000000 4K", "dma pin1"]}),
    "truncate/pin/create": Problem(
        "v4.16",
        setup=[*BASE, "create /mnt/a 8K", "mmap /mnt/a 8K", "touch 0x7f0000000000 8K --write"],
        threads={"truncator": ["truncate /mnt/a 0"],
                 "device": ["pin 0x7f0000000000 4K", "dma pin1", "unpin pin1"],
                 "creator": ["create /mnt/b 4K"]},
        bad="corruption"),
    "punch/pin/create (ext4)": Problem(
        "v4.18",
        setup=["mkfs ext4 /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 8K",
               "mmap /mnt/a 8K", "touch 0x7f0000000000 8K --write"],
        threads={"puncher": ["punch /mnt/a 0 4K"],
                 "device": ["pin 0x7f0000000000 4K", "dma pin1"],
                 "creator": ["create /mnt/b 4K"]},
        bad="corruption"),
}


def restore(prob: Problem, n: int) -> dict[str, float]:
    """Milliseconds to rebuild the post-setup state, by each method (median of n)."""
    out = {}
    for method in Machine.RESTORES:
        m = Machine(prob, restore=method)
        m.fresh()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            m.fresh()
            times.append(time.perf_counter() - t0)
        out[method] = statistics.median(times) * 1e3
    return out


def throughput(prob: Problem, seconds: float, jobs: int) -> dict[str, float]:
    """Executions per second of plain enumeration (dfs): in one process (best of 3 runs of
    ``seconds``), over ``jobs`` worker processes (the whole tree, best of 2), and of random
    schedules; and of DPOR over its (much smaller) tree."""
    m = Machine(prob)
    dfs_rates = []
    for _ in range(3):
        r = explore_tree(m, reduce=False, limits=Limits(deadline=time.monotonic() + seconds))
        dfs_rates.append(r.executions / r.elapsed)
    par_rates = []
    for _ in range(2):
        r = explore(m, mode="dfs", jobs=jobs, count=False,
                    time_limit=None if seconds >= 3 else seconds * 2)
        par_rates.append(r.executions / r.elapsed)
    dpor = explore_tree(m, reduce=True)
    import random
    rng = random.Random(1)
    t0 = time.monotonic()
    n = steps = 0
    while time.monotonic() - t0 < seconds:
        ex = run_policy(m, lambda en, prev, k: rng.choice(en))
        n += 1
        steps += len(ex.schedule)
    rnd = n / (time.monotonic() - t0)
    return {"dfs_per_s": max(dfs_rates), "jobs": jobs, "dfs_jobs_per_s": max(par_rates),
            "dpor_per_s": dpor.executions / dpor.elapsed, "random_per_s": rnd,
            "steps_per_execution": steps / max(n, 1),
            "steps_per_s": steps / (time.monotonic() - t0)}


def memory(prob: Problem, seconds: float) -> dict[str, float]:
    """Peak RSS (MiB) after a short and after a long run: stateless search stays flat."""
    import resource
    m = Machine(prob)
    explore(m, mode="random", budget=200, count=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = explore(m, mode="random", budget=10**9, time_limit=seconds, count=False)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"executions": res.executions, "rss_before_mib": before, "rss_after_mib": after}


def interleavings(m: Machine, seconds: float) -> tuple[int, bool, set[str]]:
    """The interleavings that exist, counted by plain enumeration when it ends within
    ``seconds`` (exact), else Knuth's estimate over 200 random walks; and the outcomes the
    enumeration saw."""
    plain = explore_tree(m, reduce=False, limits=Limits(deadline=time.monotonic() + seconds))
    if plain.exhaustive:
        return plain.executions, True, set(plain.outcomes)
    return estimate_interleavings(m, samples=200), False, set(plain.outcomes)


def reduction(prob: Problem, seconds: float) -> dict[str, object]:
    m = Machine(prob)
    dpor = explore_tree(m, reduce=True)
    inter, exact, seen = interleavings(m, seconds)
    return {"threads": len(prob.threads), "dpor_executions": dpor.executions,
            "interleavings": inter, "exact": exact,
            "factor": inter / max(dpor.executions, 1), "dpor_s": dpor.elapsed,
            "same_outcomes": seen <= set(dpor.outcomes) if not exact
            else seen == set(dpor.outcomes)}


def shipped(seconds: float) -> list[dict[str, object]]:
    from daxsh.explore.cli import problems
    from daxsh.scenario import load
    rows = []
    paths = sorted((ROOT / "scenarios").glob("**/*.toml"))
    for path in paths:
        try:
            if not load(path).threads:
                continue
        except Exception:
            continue
        for prob, expected in problems(str(path), None):
            t0 = time.monotonic()
            res = explore(prob, count=False)
            verdict_s = time.monotonic() - t0
            inter, exact, _seen = interleavings(Machine(prob), seconds)
            rows.append({"scenario": path.stem, "kernel": prob.kernel, "threads": len(prob.threads),
                         "verdict": res.verdict, "expected": expected,
                         "executions": res.executions, "interleavings": inter, "exact": exact,
                         "factor": inter / max(res.executions, 1), "verdict_s": verdict_s})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                    help="worker processes for the --jobs figure (default: every core)")
    args = ap.parse_args()
    secs = 1.0 if args.quick else 3.0
    report: dict[str, object] = {
        "restore_ms": restore(TWO_THREADS, 20 if args.quick else 100),
        "two_threads": throughput(TWO_THREADS, secs, args.jobs),
        "memory": memory(TWO_THREADS, secs * 2),
        "many_threads": {k: reduction(p, 10 if args.quick else 30) for k, p in MANY_THREADS.items()},
        "shipped": shipped(2 if args.quick else 10),
    }
    fails = []
    tt = report["two_threads"]
    assert isinstance(tt, dict)
    if max(tt["dfs_per_s"], tt["dfs_jobs_per_s"]) < 5000:
        fails.append(f"executions/s {tt['dfs_per_s']:.0f} (one process), "
                     f"{tt['dfs_jobs_per_s']:.0f} (--jobs {tt['jobs']:.0f}) < 5000")
    for k, r in report["many_threads"].items():  # type: ignore[union-attr]
        if r["factor"] < 10:
            fails.append(f"{k}: reduction {r['factor']:.1f}x < 10x")
    for r in report["shipped"]:  # type: ignore[union-attr]
        if r["verdict_s"] >= 1.0:
            fails.append(f"{r['scenario']} on {r['kernel']}: verdict in {r['verdict_s']:.2f} s")
    report["over_budget"] = fails
    if args.json:
        print(json.dumps(report, indent=2))
        return 1 if fails else 0
    r = report["restore_ms"]
    print("post-setup restore (ms, median): " + ", ".join(f"{k} {v:.3f}" for k, v in r.items()))  # type: ignore[union-attr]
    print(f"2 threads, {tt['steps_per_execution']:.1f} steps/execution: "
          f"dfs {tt['dfs_per_s']:.0f} executions/s in one process, "
          f"{tt['dfs_jobs_per_s']:.0f}/s with --jobs {tt['jobs']:.0f}; "
          f"dpor {tt['dpor_per_s']:.0f}/s, random {tt['random_per_s']:.0f}/s, "
          f"{tt['steps_per_s']:.0f} steps/s")
    mem = report["memory"]
    print(f"memory: peak RSS {mem['rss_before_mib']:.1f} MiB -> {mem['rss_after_mib']:.1f} MiB "  # type: ignore[index]
          f"over {mem['executions']} more executions")  # type: ignore[index]
    print(f"{'3+ threads':<24} {'thr':>3} {'dpor':>7} {'interleavings':>15} {'factor':>9} {'dpor s':>7}")
    for k, x in report["many_threads"].items():  # type: ignore[union-attr]
        inter = f"{x['interleavings']}" + ("" if x["exact"] else " (est)")
        print(f"{k:<24} {x['threads']:>3} {x['dpor_executions']:>7} {inter:>15} "
              f"{x['factor']:>8.1f}x {x['dpor_s']:>7.2f}")
    if report["shipped"]:
        print(f"{'shipped scenario':<28} {'kernel':<8} {'verdict':<10} {'exp':<10} {'execs':>6} "
              f"{'interleavings':>15} {'factor':>8} {'time':>6}")
        for x in report["shipped"]:  # type: ignore[union-attr]
            inter = f"{x['interleavings']}" + ("" if x["exact"] else " (est)")
            print(f"{x['scenario']:<28} {x['kernel']:<8} {x['verdict']:<10} {x['expected']!s:<10} "
                  f"{x['executions']:>6} {inter:>15} {x['factor']:>7.1f}x {x['verdict_s']:>6.2f}")
    else:
        print("shipped scenarios: none has [threads] yet")
    for f in fails:
        print("OVER BUDGET: " + f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
