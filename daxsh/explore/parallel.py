"""``--jobs N``: the search split over worker processes (``--cluster``: over a cluster's workers).

The tree of executions is cut into subtrees: the first events are enumerated with sleep sets
(Godefroid 1996) until there are at least 8 x N states -- a *share* is the schedule that leads to
one of them and the sleep set there.  Each share is searched in full by optimal DPOR
(:mod:`.dpor`) with its first events forced and that sleep set, by whichever worker is free.
Every trace has an execution in some share (DPOR from a state explores every trace from it;
the sleep sets only drop shares whose traces another share has), and a trace reached in two
shares is counted once: :class:`~.search.Result` counts traces by their fingerprints.  So the
verdict and the counts (traces, positive, negative, outcomes) are those of one process; only the
number of executions run may be higher (``redundant``).

Randomised modes split the budget, each worker with its own seed.  ``--budget`` counts the
executions of all workers together; so does stopping once the verdict is decided.

Each worker gets the parent's :class:`Machine` (inherited through ``fork``), so the setup is not
run again; a cluster's workers build theirs from the :class:`Problem` once per process.
Ctrl-C stops every worker at once: each returns what it explored, the parent adds them up and
reports ``undecided (interrupted)``.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..kernel.footprint import Footprint
from .runner import Machine, Problem, Run
from .search import Limits, Result, Stop, explore_dpor, explore_random

SHARES_PER_JOB = 32
FIRST_ROUND = 1024  # executions a share may run in the first round (x4 each round)


@dataclass(frozen=True)
class Share:
    """A part of the search: the first events (forced) and the sleep set they lead to."""

    prefix: tuple[str, ...]
    sleep: tuple[tuple[str, Footprint], ...] = ()


def shares(machine: Machine, want: int, max_depth: int = 8, start: Share = Share(())
           ) -> tuple[list[Share], list[Any]]:
    """Cut the tree below ``start`` (the root) into at least ``want`` shares (or as many as
    ``max_depth`` more events give).  Returns the shares and the executions that ended within
    the cut (they are complete)."""
    frontier: list[Share] = [start]
    finished: list[Any] = []
    for _ in range(max_depth):
        if len(frontier) >= want:
            break
        nxt: list[Share] = []
        grew = False
        for sh in frontier:
            run = Run(machine)
            for p in sh.prefix:
                run.step(p, footprint=False)
            en = run.enabled()
            if not en:
                run.close()
                finished.append(sh)
                continue
            sleep = dict(sh.sleep)
            choices = [q for q in en if q not in sleep]
            run.close()
            if not choices:
                continue  # every thread here is asleep: its traces are another share's
            grew = True
            done: dict[str, Footprint] = {}
            for p in choices:
                r2 = Run(machine)
                for q in sh.prefix:
                    r2.step(q, footprint=False)
                e = r2.step(p)
                r2.close()
                child = {q: f for q, f in {**sleep, **done}.items()
                         if q != p and not f.dep(e.fp)}
                nxt.append(Share((*sh.prefix, p), tuple(sorted(child.items()))))
                done[p] = e.fp
        frontier = nxt
        if not grew:
            break
    return frontier, finished


# -- the worker side --------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}
_BUSY = [False]


def _on_sigint(signum: int, frame: Any) -> None:
    """Ctrl-C in a worker: a busy one stops its search and returns what it explored."""
    if _BUSY[0]:
        raise KeyboardInterrupt


def _init_worker(machine: Machine | None, problem: Problem | None, stop: Any, count: Any) -> None:
    signal.signal(signal.SIGINT, _on_sigint)
    _WORKER.update(machine=machine, problem=problem, stop=stop, count=count)


def use_problem(problem: Problem) -> None:
    """A cluster worker (no fork, no shared flags): search ``problem`` from now on, running its
    setup once on the first share (again only when the problem changes)."""
    key = repr(problem)
    if _WORKER.get("key") != key:
        _WORKER.update(key=key, machine=None, problem=problem, stop=None, count=None)


@dataclass
class _SharedLimits(Limits):
    """The limits of the whole search, over every worker: the budget, and stopping once any
    worker decided the verdict (a shared flag); and the executions one share may run in this
    round (``share_budget``) before it is handed back to be split."""

    share_budget: int | None = None

    def check(self, res: Result) -> None:
        if self.share_budget is not None and res.executions >= self.share_budget:
            res.cut = True
            raise Stop
        stop, count = _WORKER.get("stop"), _WORKER.get("count")
        if count is not None:
            with count.get_lock():
                count.value += 1
                total = count.value
        else:
            total = res.executions
        if stop is not None and stop.value:
            raise Stop
        decided = res.positive and res.negative and self.stop_when_decided
        if (self.stop_on_bad and res.positive) or decided:
            if stop is not None:
                stop.value = 1
            res.stopped_decided = bool(decided)
            raise Stop
        if self.budget is not None and total >= self.budget:
            res.budget_hit = True
            raise Stop
        if self.deadline is not None and time.monotonic() > self.deadline:
            res.time_hit = True
            raise Stop


def run_share(task: tuple[Any, ...]) -> Result:
    """Search one share (in a worker process): the unit of work ``--jobs`` and ``--cluster``
    hand out."""
    _BUSY[0] = True
    try:
        return _run_share(task)
    except KeyboardInterrupt:
        res = Result(task[0], "", interrupted=True)
        return res
    finally:
        _BUSY[0] = False


def _machine(problem: Problem | None) -> Machine:
    m = _WORKER.get("machine")
    if m is None:
        assert problem is not None
        m = _WORKER["machine"] = Machine(problem)
    return m


def _run_share(task: tuple[Any, ...]) -> Result:
    mode, share, seed, limits, problem = task
    machine = _machine(problem or _WORKER.get("problem"))
    res = Result(mode, machine.problem.kernel)
    res.share = share
    try:
        if mode in ("random", "pct"):
            explore_random(machine, limits, res, seed, pct=mode == "pct")
        else:
            explore_dpor(machine, limits, res, share.prefix, dict(share.sleep))
    except Stop:
        pass
    except KeyboardInterrupt:
        res.interrupted = True
    return res


# -- the parent side ----------------------------------------------------------------------------


def explore_parallel(machine: Machine, res: Result, limits: Limits, mode: str,
                     bound: int | None, seed: int, jobs: int, cluster: str | None) -> None:
    """The search over ``jobs`` worker processes (or a cluster's workers); see the module doc."""
    if bound is not None or mode == "dfs":
        raise ValueError("--jobs and --cluster search with DPOR or by sampling: use them "
                         "without --preemptions and --mode dfs")
    wl = _SharedLimits(budget=limits.budget, deadline=limits.deadline,
                       stop_on_bad=limits.stop_on_bad, stop_when_decided=limits.stop_when_decided)
    tasks: list[tuple[Any, ...]]
    if mode in ("random", "pct"):
        per = max(1, (limits.budget or 1000) // jobs)
        wl.budget = per
        tasks = [(mode, Share(()), seed * 1000 + i, wl, None) for i in range(max(jobs, 1))]
    else:
        _explore_shares(machine, res, limits, wl, mode, seed, jobs, cluster)
        return
    results, _ = _run(machine, tasks, jobs, cluster, limits.progress, res)
    for r in results:
        res.merge(r)
    res.exhaustive = False  # sampling


def _run(machine: Machine, tasks: list[tuple[Any, ...]], jobs: int, cluster: str | None,
         progress: Callable[[Result], None] | None, res: Result) -> tuple[list[Result], bool]:
    if cluster:
        from .cluster import run_on_cluster
        return run_on_cluster(cluster, machine.problem, tasks, progress, res)
    return _run_local(machine, tasks, jobs, progress, res)


def _explore_shares(machine: Machine, res: Result, limits: Limits, wl: _SharedLimits, mode: str,
                    seed: int, jobs: int, cluster: str | None) -> None:
    """DPOR over shares, in rounds: each share may run ``FIRST_ROUND`` executions (x4 each
    round); a share that has not ended by then is handed back and split one or two events
    deeper for the next round.  The subtrees' sizes are unknown up front and very uneven (one
    share of the first cut can hold most of the traces), so this keeps every worker busy.  What
    a cut share explored is kept: its traces are counted by fingerprint, so finding them again
    below the split counts nothing twice; the executions run again are reported as redundant."""
    from .search import replay
    if cluster:
        from .cluster import worker_threads
        jobs = worker_threads(cluster)
    todo, finished = shares(machine, SHARES_PER_JOB * max(jobs, 1), 16)
    per = FIRST_ROUND
    complete = True
    while True:
        for sh in finished:  # executions that ended within the cut: count them here
            res.add(replay(machine, list(sh.prefix)))
        if not todo:
            break
        left = None if wl.budget is None else max(1, wl.budget - res.executions)
        round_limits = _SharedLimits(budget=left, deadline=wl.deadline,
                                     stop_on_bad=wl.stop_on_bad,
                                     stop_when_decided=wl.stop_when_decided)
        round_limits.share_budget = per
        tasks = [(mode, sh, seed, round_limits, None) for sh in todo]
        results, ok = _run(machine, tasks, jobs, cluster, limits.progress, res)
        todo, finished = [], []
        for r in results:
            res.merge(r)  # a trace found again in the next round counts once
            if r.cut and r.share is not None:
                parts, ended = shares(machine, 4, 2, r.share)
                todo += parts
                finished += ended
            else:
                complete = complete and r.exhaustive
        if not ok and not todo:
            complete = False
        if res.interrupted or res.budget_hit or res.time_hit or res.stopped_decided \
                or (not ok and not any(r.cut for r in results)):
            complete = False
            break
        per *= 4
    res.exhaustive = complete and not todo and not res.interrupted and not res.budget_hit \
        and not res.time_hit and not res.stopped_decided


def _run_local(machine: Machine, tasks: list[tuple[Any, ...]], jobs: int,
               progress: Callable[[Result], None] | None, res: Result
               ) -> tuple[list[Result], bool]:
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    stop, count = ctx.Value("b", 0), ctx.Value("q", 0)
    results: list[Result] = []
    complete = True
    pool = ProcessPoolExecutor(max_workers=min(jobs, max(len(tasks), 1)), mp_context=ctx,
                               initializer=_init_worker, initargs=(machine, None, stop, count))
    futures: list[Future[Result]] = [pool.submit(run_share, t) for t in tasks]
    collected: set[int] = set()
    try:
        for i, f in enumerate(futures):
            r = f.result()
            results.append(r)
            collected.add(i)
            complete = complete and r.exhaustive
            if progress is not None:
                snapshot = Result(res.mode, res.kernel)
                for x in results:
                    snapshot.merge(x)
                progress(snapshot)
    except KeyboardInterrupt:
        # the workers got the SIGINT too and return what they explored; a second Ctrl-C
        # while they do is ignored (no traceback)
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            stop.value = 1
            res.interrupted = True
            for i, f in enumerate(futures):
                if i in collected or f.cancel():
                    continue
                try:
                    results.append(f.result(timeout=10))
                except Exception:  # a worker that died: its share is simply not counted
                    continue
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            signal.signal(signal.SIGINT, old)
        return results, False
    pool.shutdown(wait=True)
    return results, complete
