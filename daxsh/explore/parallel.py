"""``--jobs N``: the search split over worker processes.

Tree modes (``dfs``, ``dpor``, ``bfs``) split the schedule tree by prefixes: the first levels are
enumerated plainly until there are at least 8 x N subtrees, and each subtree is one task, searched
with its first choices forced by whichever worker is free.  Every subtree is searched in full
(DPOR does not add backtrack points inside a forced prefix: the other prefixes cover those
branches), so the verdict is the same as with one process; the executions may be more (sleep sets
do not cross subtrees).  ``--budget`` counts the executions of all workers together.  Randomised
modes split the budget, each worker with its own seed.

Each worker gets the parent's :class:`Machine` (inherited through ``fork`` where there is one,
pickled otherwise), so the setup is not run again.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .runner import Machine, Problem, Run
from .search import Limits, Result, explore_random, explore_tree

TASKS_PER_JOB = 8  # subtrees per worker process (see explore_parallel)


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
_WORKER: dict[str, Any] = {}  # in a worker process: its machine and the shared counters


def _on_sigint(signum: int, frame: Any) -> None:
    """Ctrl-C in a worker: a busy one stops its search and returns what it explored; an idle
    one ignores it (the parent collects the results)."""
    if _BUSY[0]:
        raise KeyboardInterrupt


def _init_worker(machine: Machine, done: Any, bad: Any) -> None:
    signal.signal(signal.SIGINT, _on_sigint)
    _WORKER.update(machine=machine, done=done, bad=bad)


class _SharedLimits(Limits):
    """The limits of the whole search, counted over every worker: executions done (the
    budget, unless each worker has its own share) and whether any worker found a bad
    execution (``stop_on_bad``)."""

    own_budget = False

    def counts(self, res: Result) -> tuple[int, bool]:
        done, bad = _WORKER["done"], _WORKER["bad"]
        with done.get_lock():
            done.value += 1
            total = res.executions if self.own_budget else done.value
        if res.positive:
            bad.value = 1
        return total, bool(bad.value)


def _worker(args: tuple[Any, ...]) -> Result:
    _BUSY[0] = True
    try:
        return _work(args)
    finally:
        _BUSY[0] = False


def _work(args: tuple[Any, ...]) -> Result:
    mode, bound, seed, budget, deadline, stop_on_bad, pre = args
    machine: Machine = _WORKER["machine"]
    limits = _SharedLimits(budget=budget, deadline=deadline, stop_on_bad=stop_on_bad)
    if mode in ("random", "pct"):
        limits.own_budget = True
        return explore_random(machine, seed, budget or 1000, pct=mode == "pct", limits=limits)
    if (stop_on_bad and _WORKER["bad"].value) or \
            (budget is not None and _WORKER["done"].value >= budget):
        return Result(mode, machine.problem.kernel, budget_hit=True)  # nothing left to do
    res = explore_tree(machine, reduce=mode != "dfs", bound=bound, limits=limits, forced=pre)
    res.mode = mode
    return res


def explore_parallel(machine: Machine, mode: str, bound: int | None, seed: int,
                     budget: int | None, jobs: int, deadline: float | None,
                     stop_on_bad: bool) -> Result:
    """The search over ``jobs`` worker processes.  The tree is cut into many more subtrees than
    workers (``TASKS_PER_JOB`` each), handed to whichever worker is free, so that a worker
    that drew small subtrees does not sit idle while another finishes a big one; the budget
    and ``stop_on_bad`` hold for the whole search, not per worker."""
    problem: Problem = machine.problem
    t0 = time.monotonic()
    tasks: list[tuple[Any, ...]]
    if mode in ("random", "pct"):
        per = max(1, (budget or 1000) // jobs)
        tasks = [(mode, bound, seed * 1000 + i, per, deadline, stop_on_bad, ())
                 for i in range(jobs)]
    else:
        tasks = [(mode, bound, seed, budget, deadline, stop_on_bad, pre)
                 for pre in prefixes(machine, TASKS_PER_JOB * jobs)]
    res = Result(mode, problem.kernel)
    complete = True
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    done, bad = ctx.Value("q", 0), ctx.Value("b", 0)
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx,
                             initializer=_init_worker, initargs=(machine, done, bad)) as pool:
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
