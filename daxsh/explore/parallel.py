"""``--jobs N``: the search split over worker processes.

Tree modes (``dfs``, ``dpor``, ``bfs``) split the schedule tree by prefixes: the first levels are
enumerated plainly until there are at least 2 x N subtrees, and each worker searches its
subtrees with the first choices forced.  Every subtree is searched in full (DPOR does not add
backtrack points inside a forced prefix: the other prefixes cover those branches), so the verdict
is the same as with one process; the executions may be more (sleep sets do not cross subtrees).
Randomised modes split the budget, each worker with its own seed.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .runner import Machine, Problem, Run
from .search import Limits, Result, explore_random, explore_tree


def prefixes(machine: Machine, want: int, max_depth: int = 6) -> list[tuple[str, ...]]:
    """Schedule prefixes that split the tree into at least ``want`` subtrees (or as many as
    there are within ``max_depth`` steps)."""
    frontier: list[tuple[str, ...]] = [()]
    for _ in range(max_depth):
        if len(frontier) >= want:
            break
        nxt: list[tuple[str, ...]] = []
        grew = False
        for pre in frontier:
            run = Run(machine)
            ok = True
            for p in pre:
                if p not in run.enabled():
                    ok = False
                    break
                run.step(p)
            en = run.enabled() if ok else []
            run.close()
            if not en:
                nxt.append(pre)
                continue
            grew = True
            nxt.extend((*pre, p) for p in en)
        frontier = nxt
        if not grew:
            break
    return frontier


_BUSY = [False]


def _on_sigint(signum: int, frame: Any) -> None:
    """Ctrl-C in a worker: a busy one stops its search and returns what it explored; an idle
    one ignores it (the parent collects the results)."""
    if _BUSY[0]:
        raise KeyboardInterrupt


def _init_worker() -> None:
    signal.signal(signal.SIGINT, _on_sigint)


def _worker(args: tuple[Any, ...]) -> Result:
    _BUSY[0] = True
    try:
        return _work(args)
    finally:
        _BUSY[0] = False


def _work(args: tuple[Any, ...]) -> Result:
    problem, mode, bound, seed, budget, deadline, stop_on_bad, share = args
    machine = Machine(problem)
    limits = Limits(budget=budget, deadline=deadline, stop_on_bad=stop_on_bad)
    if mode in ("random", "pct"):
        return explore_random(machine, seed, budget or 1000, pct=mode == "pct", limits=limits)
    res = Result(mode, problem.kernel)
    complete = True
    for pre in share:
        r = explore_tree(machine, reduce=mode != "dfs", bound=bound, limits=limits, forced=pre)
        complete = complete and r.exhaustive
        res.merge(r)
        if r.budget_hit or r.interrupted or (stop_on_bad and res.positive):
            complete = False
            break
        if budget is not None:
            limits.budget = max(budget - res.executions, 1)
    res.exhaustive = complete
    return res


def explore_parallel(machine: Machine, mode: str, bound: int | None, seed: int,
                     budget: int | None, jobs: int, deadline: float | None,
                     stop_on_bad: bool) -> Result:
    problem: Problem = machine.problem
    t0 = time.monotonic()
    tasks: list[tuple[Any, ...]]
    if mode in ("random", "pct"):
        per = max(1, (budget or 1000) // jobs)
        tasks = [(problem, mode, bound, seed * 1000 + i, per, deadline, stop_on_bad, [])
                 for i in range(jobs)]
    else:
        pres = prefixes(machine, 2 * jobs)
        shares: list[list[tuple[str, ...]]] = [[] for _ in range(jobs)]
        for i, pre in enumerate(pres):
            shares[i % jobs].append(pre)
        per_budget = None if budget is None else max(1, budget // jobs)
        tasks = [(problem, mode, bound, seed, per_budget, deadline, stop_on_bad, sh)
                 for sh in shares if sh]
    res = Result(mode, problem.kernel)
    complete = True
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ProcessPoolExecutor(max_workers=len(tasks), mp_context=ctx,
                             initializer=_init_worker) as pool:
        futures = [pool.submit(_worker, t) for t in tasks]
        try:
            for f in futures:
                r = f.result()
                res.merge(r)
                complete = complete and r.exhaustive
        except KeyboardInterrupt:
            # the workers got the SIGINT too and return what they explored
            res.interrupted = True
            complete = False
            for f in futures:
                try:
                    if not f.cancel():
                        res.merge(f.result(timeout=5))
                except BaseException:
                    continue
    res.exhaustive = complete and mode not in ("random", "pct")
    res.bounded = bound is not None
    res.elapsed = time.monotonic() - t0
    return res
