"""Stateless search over the interleavings of a scenario's threads.

Every execution starts from the post-setup snapshot and is driven step by step: a step resumes
one thread to its next preemption point (``Scheduler.step``).  Nothing but the schedule is kept
between executions, so memory stays flat however long the search runs.

Modes
-----
``dfs``     plain enumeration of every schedule (the reference the reduction is tested against).
``dpor``    dynamic partial-order reduction (Flanagan & Godefroid, POPL 2005) with sleep sets
            (Godefroid 1996).  Two steps are *dependent* when their footprints -- the shared
            objects the kernel noted while the step ran (``sched.note``: locks, pages, i_pages
            entries, inodes, the allocator, page tables) -- intersect.  After each execution the
            races (dependent steps of two threads not ordered by happens-before through other
            steps) are found from vector clocks, and the later thread is added to the backtrack
            set before the earlier step (or every enabled thread, when it was not enabled then).
``bfs``     the verdict by ``dpor``, and a counterexample with the fewest preemptions: bounded
            searches with 0, 1, 2... preemptions until a bad execution appears (iterative context
            bounding, as CHESS does).
``random``  uniformly random schedules, ``--seed``.
``pct``     probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): random thread
            priorities and d-1 random priority change points per execution, ``--seed``.

``--preemptions N`` bounds the number of preemptions (switching away from a thread that could
have gone on).  With ``dpor`` the bound is applied as in bounded partial-order reduction (Coons
et al., OOPSLA 2013): a backtrack point is also added where the racing step's run of steps began,
so that the reversal is reachable within the bound when it exists at all.
"""

from __future__ import annotations

import random as _random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .runner import Footprint, Machine, Problem, Run

MODES = ("dpor", "dfs", "bfs", "random", "pct")


@dataclass
class Execution:
    """One complete execution: who ran at each step, and what came out."""

    schedule: list[str]
    results: list[str]
    footprints: list[Footprint]
    outcome: str
    found: list[str]
    details: list[str]
    bad: bool

    @property
    def preemptions(self) -> int:
        return count_preemptions(self.schedule, self.results)

    def key(self) -> tuple[int, int]:
        return (self.preemptions, len(self.schedule))


def count_preemptions(schedule: list[str], results: list[str]) -> int:
    """Switches away from a thread whose last step left it runnable."""
    n = 0
    for i in range(1, len(schedule)):
        if schedule[i] != schedule[i - 1] and results[i - 1] == "point":
            n += 1
    return n


@dataclass
class Result:
    mode: str
    kernel: str
    positive: int = 0
    negative: int = 0
    executions: int = 0
    blocked: int = 0  # executions cut short by sleep sets (redundant)
    steps: int = 0
    interleavings: int | None = None
    interleavings_exact: bool = False
    exhaustive: bool = False  # the whole tree (within the bound) was searched
    bounded: bool = False
    bound: int | None = None
    interrupted: bool = False
    budget_hit: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    first_bad: Execution | None = None
    best_bad: Execution | None = None  # fewest preemptions, then fewest steps
    max_preemptions: int = 0
    count_time: float = 0.0  # counting the interleavings (not part of the verdict's time)

    @property
    def verdict(self) -> str:
        if self.positive == 0:
            return "never"
        if self.negative == 0:
            return "always"
        return "sometimes"

    def add(self, ex: Execution) -> None:
        self.executions += 1
        self.steps += len(ex.schedule)
        self.outcomes[ex.outcome] += 1
        pre = ex.preemptions
        self.max_preemptions = max(self.max_preemptions, pre)
        if ex.bad:
            self.positive += 1
            if self.first_bad is None:
                self.first_bad = ex
            if self.best_bad is None or ex.key() < self.best_bad.key():
                self.best_bad = ex
        else:
            self.negative += 1

    def merge(self, other: Result) -> None:
        self.positive += other.positive
        self.negative += other.negative
        self.executions += other.executions
        self.blocked += other.blocked
        self.steps += other.steps
        self.outcomes.update(other.outcomes)
        self.interrupted = self.interrupted or other.interrupted
        self.budget_hit = self.budget_hit or other.budget_hit
        self.max_preemptions = max(self.max_preemptions, other.max_preemptions)
        for ex in (other.first_bad, other.best_bad):
            if ex is None:
                continue
            if self.first_bad is None:
                self.first_bad = ex
            if self.best_bad is None or ex.key() < self.best_bad.key():
                self.best_bad = ex


class Stop(Exception):
    pass


@dataclass
class Limits:
    budget: int | None = None  # executions
    deadline: float | None = None  # time.monotonic()
    stop_on_bad: bool = False
    progress: Callable[[Result], None] | None = None

    def counts(self, res: Result) -> tuple[int, bool]:
        """(executions so far, whether a bad one was found), after ``res`` added one."""
        return res.executions, bool(res.positive)

    def check(self, res: Result) -> None:
        if self.progress is not None and res.executions % 64 == 0:
            self.progress(res)
        done, found_bad = self.counts(res)
        if self.stop_on_bad and found_bad:
            raise Stop
        if self.budget is not None and done >= self.budget:
            res.budget_hit = True
            raise Stop
        if self.deadline is not None and time.monotonic() > self.deadline:
            res.budget_hit = True
            raise Stop


# -- the tree search (dfs and dpor) ------------------------------------------------------------


class Node:
    """A state on the current path: who could run, who ran, what is left to try."""

    __slots__ = ("backtrack", "chosen", "done", "enabled", "fp_of", "result", "sleep")

    def __init__(self, enabled: list[str], sleep: dict[str, Footprint]) -> None:
        self.enabled = enabled
        self.sleep = sleep
        self.chosen = ""
        self.done: set[str] = set()
        self.backtrack: set[str] = set()
        self.fp_of: dict[str, Footprint] = {}
        self.result = ""  # what the chosen step returned


def explore_tree(machine: Machine, reduce: bool = True, bound: int | None = None,
                 limits: Limits | None = None, forced: tuple[str, ...] = (),
                 res: Result | None = None) -> Result:
    """Depth-first search of the schedule tree; ``reduce`` turns on DPOR and sleep sets.

    ``forced`` fixes the first choices (a worker's share of the tree)."""
    limits = limits or Limits()
    prob = machine.problem
    if res is None:
        res = Result("dpor" if reduce else "dfs", prob.kernel)
    t0 = time.monotonic()
    stack: list[Node] = []
    nforced = len(forced)
    try:
        while True:
            _execute(machine, stack, reduce, bound, forced, res)
            limits.check(res)
            # backtrack: the deepest node with something left to try
            d = len(stack) - 1
            while d >= nforced:
                node = stack[d]
                nxt = ""
                for p in node.enabled:
                    if p in node.backtrack and p not in node.done and p not in node.sleep \
                            and (bound is None or _cost(stack, d, p) <= bound):
                        nxt = p
                        break
                if nxt:
                    node.done.add(nxt)
                    node.chosen = nxt
                    del stack[d + 1:]
                    break
                d -= 1
            if d < nforced:
                res.exhaustive = True
                res.bounded = bound is not None
                break
    except Stop:
        pass
    except KeyboardInterrupt:
        res.interrupted = True
    res.elapsed += time.monotonic() - t0
    if not reduce and bound is None and res.exhaustive and not forced and not res.blocked:
        res.interleavings = res.executions
        res.interleavings_exact = True
    return res


def _cost(stack: list[Node], d: int, p: str) -> int:
    """Preemptions of the path through ``stack[:d]`` then ``p``."""
    n = 0
    for i in range(1, d + 1):
        prev = stack[i - 1].chosen
        cur = stack[i].chosen if i < d else p
        if cur != prev and prev in stack[i].enabled:
            n += 1
    return n


def _execute(machine: Machine, stack: list[Node], reduce: bool, bound: int | None,
             forced: tuple[str, ...], res: Result) -> None:
    run = Run(machine)
    sched_: list[str] = []
    results: list[str] = []
    fps: list[Footprint] = []
    prev = ""
    pre = 0
    sleep_next: dict[str, Footprint] = {}
    d = 0
    blocked = False
    while True:
        en = run.enabled()
        if not en:
            break
        if d < len(stack):
            node = stack[d]
            if node.enabled != en:
                raise RuntimeError(f"the model is not deterministic: at step {d} "
                                   f"{node.enabled} could run before, now {en}")
        else:
            node = Node(en, sleep_next if reduce else {})
            if d < len(forced):
                choices = [forced[d]] if forced[d] in en else []
                node.sleep = {}
            else:
                choices = [p for p in en if p not in node.sleep]
                if bound is not None:
                    choices = [p for p in choices if pre + (prev in en and p != prev) <= bound]
            if not choices:
                blocked = True
                break
            pick = prev if prev in choices else choices[0]
            node.chosen = pick
            node.done.add(pick)
            if reduce or d < len(forced):
                node.backtrack.add(pick)
            else:
                node.backtrack.update(choices)
            stack.append(node)
        p = node.chosen
        if prev and p != prev and prev in en:
            pre += 1
        if d < len(stack) - 1:
            # the prefix shared with the previous execution: same step, same footprint (the
            # model is deterministic), so it is not built again
            r, _ = run.step(p, footprint=False)
            fp = node.fp_of[p]
            if r != node.result:
                raise RuntimeError(f"the model is not deterministic: step {d} ({p}) gave {r}, "
                                   f"before {node.result}")
        else:
            r, fp = run.step(p)
            node.fp_of[p] = fp
            node.result = r
        sched_.append(p)
        results.append(r)
        fps.append(fp)
        if reduce and d + 1 >= len(stack):  # the next state is new: its sleep set is needed
            nxt = {q: f for q, f in node.sleep.items() if q != p and not f.dep(fp)}
            for q in node.done:
                if q != p:
                    f = node.fp_of.get(q)
                    if f is not None and not f.dep(fp):
                        nxt[q] = f
            sleep_next = nxt
        prev = p
        d += 1
    if reduce:
        pending = [] if not run.k.crashed else [
            run.name_of(t) for t in run.sched.runq if not t.stopped and not t.done]
        _races(stack, sched_, fps, pending, len(forced), bound)
    if blocked:
        run.close()
        res.blocked += 1
        return
    o = run.outcome()
    bad = run.is_bad(o)
    run.close()
    ex = Execution(sched_, results, fps, o.outcome, o.found, o.details, bad)
    res.add(ex)


ALL_RACES = False  # True: a backtrack point for every race, not only the latest (FG) one


def _races(stack: list[Node], sched_: list[str], fps: list[Footprint], pending: list[str],
           nforced: int, bound: int | None, all_races: bool | None = None) -> None:
    """Find the races of the execution just run and add backtrack points for them."""
    if all_races is None:
        all_races = ALL_RACES

    def add(i: int, p: str) -> None:
        for at in (i, _block_start(sched_, i)) if bound is not None else (i,):
            # a state with one choice (a kernel task that runs at once) cannot be reordered
            # there: go back to the last state with a choice
            while at > nforced and len(stack[at].enabled) == 1 and p not in stack[at].enabled:
                at -= 1
            if at < nforced:
                continue
            node = stack[at]
            if p in node.enabled:
                node.backtrack.add(p)
            else:
                node.backtrack.update(node.enabled)

    last_w: dict[Any, int] = {}  # key -> the last step that changed it
    reads: dict[Any, list[int]] = {}  # key -> steps that only read it since
    clocks: list[dict[str, int]] = []
    last_of: dict[str, int] = {}
    for j, p in enumerate(sched_):
        fp = fps[j]
        pj = last_of.get(p)
        base = clocks[pj] if pj is not None else {}
        vc = dict(base)
        touchers = {last_w[key] for key in fp.a if key in last_w}
        for key in fp.w:
            rs = reads.get(key)
            if rs:
                touchers.update(rs)
        racing = -1
        for i in touchers:
            q = sched_[i]
            if q != p and base.get(q, -1) < i and \
                    not any(k > i and clocks[k].get(q, -1) >= i for k in touchers if k != i):
                if all_races:
                    add(i, p)
                elif i > racing:
                    racing = i
            for th, v in clocks[i].items():
                if vc.get(th, -1) < v:
                    vc[th] = v
        if racing >= 0:
            add(racing, p)
        vc[p] = j
        clocks.append(vc)
        for key in fp.w:
            last_w[key] = j
            reads.pop(key, None)
        for key in fp.a:
            if key not in fp.w:
                reads.setdefault(key, []).append(j)
        last_of[p] = j
    # threads still runnable when the kernel crashed: their next step is unknown, so it is
    # taken as dependent with every step of another thread it is not ordered after
    for p in pending:
        pj = last_of.get(p)
        base = clocks[pj] if pj is not None else {}
        for i in range(len(sched_) - 1, -1, -1):
            q = sched_[i]
            if q != p and base.get(q, -1) < i:
                add(i, p)
                break


def _block_start(sched_: list[str], i: int) -> int:
    b = i
    while b > 0 and sched_[b - 1] == sched_[i]:
        b -= 1
    return b


# -- randomised modes ---------------------------------------------------------------------------


def run_policy(machine: Machine, choose: Callable[[list[str], str, int], str],
               trace: bool = False) -> Execution:
    run = Run(machine, trace=trace)
    sched_: list[str] = []
    results: list[str] = []
    fps: list[Footprint] = []
    prev = ""
    while True:
        en = run.enabled()
        if not en:
            break
        p = choose(en, prev, len(sched_))
        r, fp = run.step(p)
        sched_.append(p)
        results.append(r)
        fps.append(fp)
        prev = p
    o = run.outcome()
    bad = run.is_bad(o)
    run.close()
    return Execution(sched_, results, fps, o.outcome, o.found, o.details, bad)


def replay(machine: Machine, schedule: list[str], trace: bool = False) -> Execution:
    """Run ``schedule``; when it is used up (or names a thread that cannot run), go on
    without preemption."""
    it = iter(schedule)

    def choose(en: list[str], prev: str, n: int) -> str:
        want = next(it, None)
        if want in en:
            return want
        return prev if prev in en else en[0]

    return run_policy(machine, choose, trace)


def explore_random(machine: Machine, seed: int = 0, budget: int = 1000, pct: bool = False,
                   depth: int = 3, limits: Limits | None = None) -> Result:
    limits = limits or Limits(budget=budget)
    if limits.budget is None:
        limits.budget = budget
    res = Result("pct" if pct else "random", machine.problem.kernel)
    rng = _random.Random(seed)
    t0 = time.monotonic()
    length = 0
    try:
        while True:
            if pct:
                ex = _pct_once(machine, rng, depth, max(length, 1))
            else:
                ex = run_policy(machine, lambda en, prev, n: rng.choice(en))
            length = max(length, len(ex.schedule))
            res.add(ex)
            limits.check(res)
    except Stop:
        pass
    except KeyboardInterrupt:
        res.interrupted = True
    res.elapsed += time.monotonic() - t0
    return res


def _pct_once(machine: Machine, rng: _random.Random, depth: int, length: int) -> Execution:
    prio: dict[str, float] = {}
    changes = sorted(rng.randrange(length) for _ in range(max(depth - 1, 0)))
    low = [0]

    def choose(en: list[str], prev: str, n: int) -> str:
        for p in en:
            if p not in prio:
                prio[p] = depth + rng.random()  # above every change point
        best = max(en, key=prio.__getitem__)
        while changes and changes[0] <= n:
            changes.pop(0)
            low[0] += 1
            prio[best] = -low[0]  # lowered below every initial priority
            best = max(en, key=prio.__getitem__)
        return best

    return run_policy(machine, choose)


# -- how many interleavings there are ---------------------------------------------------------


def estimate_interleavings(machine: Machine, samples: int = 64, seed: int = 1) -> int:
    """Knuth's estimator of the number of leaves of the schedule tree: the mean, over random
    walks, of the product of the branching factors met on the way."""
    rng = _random.Random(seed)
    total = 0.0
    prod = [1]

    def choose(en: list[str], prev: str, n: int) -> str:
        prod[0] *= len(en)
        return rng.choice(en)

    for _ in range(samples):
        prod[0] = 1
        run_policy(machine, choose)
        total += prod[0]
    return max(1, round(total / samples))


# -- the front door -----------------------------------------------------------------------------


def explore(problem: Problem | Machine, mode: str = "dpor", preemptions: int | None = None,
            seed: int = 0, budget: int | None = None, jobs: int = 1,
            time_limit: float | None = None, count: bool = True,
            progress: Callable[[Result], None] | None = None, stop_on_bad: bool = False,
            exact_limit: int = 300) -> Result:
    """Decide ``problem`` in ``mode``; see the module docstring."""
    machine = problem if isinstance(problem, Machine) else Machine(problem)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    deadline = time.monotonic() + time_limit if time_limit else None
    limits = Limits(budget=budget, deadline=deadline, stop_on_bad=stop_on_bad, progress=progress)
    t0 = time.monotonic()
    if jobs > 1:
        from .parallel import explore_parallel
        res = explore_parallel(machine, mode, preemptions, seed, budget, jobs, deadline,
                               stop_on_bad)
    elif mode in ("dpor", "dfs", "bfs"):
        res = explore_tree(machine, reduce=mode != "dfs", bound=preemptions, limits=limits)
        res.mode = mode
    else:
        res = explore_random(machine, seed, budget or 1000, pct=mode == "pct", limits=limits)
    res.bound = preemptions
    res.bounded = preemptions is not None
    if mode == "bfs" and res.positive and not res.interrupted and not stop_on_bad:
        best = shortest_bad(machine, max_bound=res.max_preemptions if res.exhaustive else None,
                            deadline=deadline)
        if best is not None:
            res.best_bad = best
    res.elapsed = time.monotonic() - t0  # the time to the verdict
    if count and res.interleavings is None and not res.interrupted:
        t1 = time.monotonic()
        est = estimate_interleavings(machine)
        res.interleavings = est
        if est <= exact_limit and (deadline is None or time.monotonic() < deadline):
            ref = explore_tree(machine, reduce=False,
                               limits=Limits(budget=exact_limit * 2, deadline=deadline))
            if ref.exhaustive:
                res.interleavings = ref.executions
                res.interleavings_exact = True
        res.count_time = time.monotonic() - t1
    return res


def shortest_bad(machine: Machine, max_bound: int | None = None,
                 deadline: float | None = None, reduce: bool = True) -> Execution | None:
    """A bad execution with the fewest preemptions (iterative context bounding)."""
    b = 0
    while max_bound is None or b <= max_bound:
        r = explore_tree(machine, reduce=reduce, bound=b,
                         limits=Limits(stop_on_bad=True, deadline=deadline))
        if r.best_bad is not None:
            return r.best_bad
        if r.budget_hit or r.interrupted:
            return None
        if r.exhaustive and r.max_preemptions < b:
            return None  # the bound no longer limits anything
        b += 1
    return None
