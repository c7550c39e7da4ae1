"""Deciding a race: search the executions of a scenario's threads, and say what was decided.

Modes
-----
``auto``    (the default) bug hunting first: the schedules with at most 0, then 1, then 2
            preemptions (iterative context bounding, Musuvathi & Qadeer, PLDI 2007), each
            searched by DPOR pruned at the bound (Coons et al., OOPSLA 2013: it may miss some
            schedules within the bound, which is why this phase only ever finds bugs) with a
            budget of its own, to find a shallow counterexample fast; then optimal DPOR
            (:mod:`.dpor`) over every trace for ``never``/``always``.  The
            search stops as soon as the verdict is decided (``sometimes``: a bad and a good
            execution) unless ``count_all``.
``dpor``    optimal DPOR alone: one execution per Mazurkiewicz trace.
``dfs``     plain enumeration of every schedule (the reference the reduction is tested
            against; ``count_traces`` groups its executions into traces).
``random``  uniformly random schedules, ``--seed``; never exhaustive.
``pct``     probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): random thread
            priorities and d-1 random priority change points per execution; never exhaustive.

``--preemptions N`` bounds the preemptions (switching away from a thread that could go on) of
the tree modes; such a search is not exhaustive.

Verdicts
--------
``never``/``always`` only from a search that explored every trace; ``sometimes`` from one bad
and one good execution, whatever found them; otherwise ``undecided``, with its reason:
``budget``, ``time-limit``, ``interrupted``, ``preemption-bound`` or ``sampling``.

Counts
------
Every execution's trace is fingerprinted (:meth:`.trace.HB.fingerprint`); ``traces``,
``positive`` and ``negative`` count distinct traces, so the bug-hunting phases, the exhaustive
phase and the processes of ``--jobs`` together count each trace once.  ``executions`` counts
every execution run, ``blocked`` those the sleep sets cut short.
"""

from __future__ import annotations

import contextlib
import math
import random as _random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..kernel.footprint import Footprint
from .dpor import OptimalDPOR, Outcome
from .runner import TIME, Machine, Problem, Run
from .trace import HB, Ev, count_preemptions

MODES = ("auto", "dpor", "dfs", "random", "pct")
REASONS = ("budget", "time-limit", "interrupted", "preemption-bound", "sampling")
HUNT_BOUNDS = (0, 1, 2)  # the bug-hunting phases of `auto`
HUNT_BUDGET = 32  # executions per bug-hunting phase


@dataclass
class Execution:
    """One complete execution: who ran at each event, and what came out."""

    schedule: list[str]
    events: list[Ev]
    outcome: str
    found: list[str]
    details: list[str]
    bad: bool
    phase: str = ""  # which phase found it ("bound 0", "dpor", ...)
    fingerprint: bytes = b""

    @property
    def results(self) -> list[str]:
        return [e.result for e in self.events]

    @property
    def preemptions(self) -> int:
        return count_preemptions(self.schedule, self.results)

    def key(self) -> tuple[int, int]:
        return (self.preemptions, len(self.schedule))


@dataclass
class Result:
    mode: str
    kernel: str
    positive: int = 0  # distinct bad traces
    negative: int = 0  # distinct good traces
    executions: int = 0  # every execution run
    blocked: int = 0  # executions cut short by sleep sets
    steps: int = 0
    exhaustive: bool = False  # every trace was explored (no bound, no limit)
    bound: int | None = None  # --preemptions
    interrupted: bool = False
    budget_hit: bool = False
    time_hit: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)  # per distinct trace
    elapsed: float = 0.0
    first_bad: Execution | None = None
    best_bad: Execution | None = None  # fewest preemptions, then fewest events
    found_at: str = ""  # the phase of the first bad execution ("bound 1", "dpor", ...)
    max_preemptions: int = 0
    # fingerprint -> (bad, outcome): one entry per distinct trace
    seen: dict[bytes, tuple[bool, str]] = field(default_factory=dict, repr=False)
    phases: list[tuple[str, int, float]] = field(default_factory=list)  # name, executions, s
    stopped_decided: bool = False  # stopped once `sometimes` was certain
    cut: bool = False  # a share that ran its round's executions (--jobs: split and run again)
    share: Any = field(default=None, repr=False)  # the share this result searched (--jobs)

    @property
    def traces(self) -> int:
        return len(self.seen)

    @property
    def verdict(self) -> str:
        if self.positive and self.negative:
            return "sometimes"
        if self.exhaustive:
            return "always" if self.positive else "never"
        return "undecided"

    @property
    def reason(self) -> str:
        """Why an undecided search is undecided ("" when it is decided)."""
        if self.verdict != "undecided":
            return ""
        if self.interrupted:
            return "interrupted"
        if self.mode in ("random", "pct"):
            return "sampling"
        if self.time_hit:
            return "time-limit"
        if self.budget_hit:
            return "budget"
        if self.bound is not None:
            return "preemption-bound"
        return "sampling"

    @property
    def complete_counts(self) -> bool:
        """Are the counts those of every trace (an exhaustive search that was not stopped)?"""
        return self.exhaustive and not self.stopped_decided

    def add(self, ex: Execution) -> bool:
        """Count an execution; False when its trace was seen before."""
        self.executions += 1
        self.steps += len(ex.schedule)
        pre = ex.preemptions
        self.max_preemptions = max(self.max_preemptions, pre)
        if ex.bad:
            if self.first_bad is None:
                self.first_bad = ex
                self.found_at = ex.phase
            if self.best_bad is None or ex.key() < self.best_bad.key():
                self.best_bad = ex
        if ex.fingerprint in self.seen:
            return False
        self.seen[ex.fingerprint] = (ex.bad, ex.outcome)
        self.outcomes[ex.outcome] += 1
        if ex.bad:
            self.positive += 1
        else:
            self.negative += 1
        return True

    def merge(self, other: Result) -> None:
        """Add another search's counts (a worker's share): traces seen by both count once."""
        self.executions += other.executions
        self.blocked += other.blocked
        self.steps += other.steps
        self.interrupted = self.interrupted or other.interrupted
        self.budget_hit = self.budget_hit or other.budget_hit
        self.time_hit = self.time_hit or other.time_hit
        self.max_preemptions = max(self.max_preemptions, other.max_preemptions)
        for fpr, (bad, outcome) in other.seen.items():
            if fpr not in self.seen:  # traces seen by both count once, outcomes too
                self.seen[fpr] = (bad, outcome)
                self.outcomes[outcome] += 1
                if bad:
                    self.positive += 1
                else:
                    self.negative += 1
        for ex in (other.first_bad, other.best_bad):
            if ex is None:
                continue
            if self.first_bad is None:
                self.first_bad = ex
                self.found_at = ex.phase
            if self.best_bad is None or ex.key() < self.best_bad.key():
                self.best_bad = ex


class Stop(Exception):
    """The search must end now (a limit, or the verdict is decided)."""


@dataclass
class Limits:
    budget: int | None = None  # executions
    deadline: float | None = None  # time.monotonic()
    stop_on_bad: bool = False
    stop_when_decided: bool = False
    progress: Callable[[Result], None] | None = None
    phase_budget: int | None = None  # executions of the current phase (bug hunting)
    phase_start: int = 0

    def check(self, res: Result) -> None:
        if self.progress is not None:
            self.progress(res)
        if self.stop_on_bad and res.positive:
            raise Stop
        if self.stop_when_decided and res.positive and res.negative:
            res.stopped_decided = True
            raise Stop
        if self.budget is not None and res.executions >= self.budget:
            res.budget_hit = True
            raise Stop
        if self.deadline is not None and time.monotonic() > self.deadline:
            res.time_hit = True
            raise Stop
        if self.phase_budget is not None and res.executions - self.phase_start >= self.phase_budget:
            raise _PhaseDone


class _PhaseDone(Exception):
    """A bug-hunting phase used its budget (not a reason to stop the search)."""


def record(out: Outcome, phase: str) -> Execution:
    """The :class:`Execution` of a finished run (called before the machine is reused)."""
    run = out.run
    o = run.outcome()
    bad = run.is_bad(o)
    return Execution([e.thread for e in out.events], out.events, o.outcome, o.found, o.details,
                     bad, phase, out.hb.fingerprint())


# -- optimal DPOR --------------------------------------------------------------------------------


def explore_dpor(machine: Machine, limits: Limits, res: Result, forced: tuple[str, ...] = (),
                 sleep: dict[str, Footprint] | None = None, bound: int | None = None) -> bool:
    """Optimal DPOR until every trace is explored (``res.exhaustive``, unless ``bound`` limits
    the preemptions) or a limit stops it.  Returns whether the search ran to its end."""
    search = OptimalDPOR(machine, forced, sleep, bound=bound)
    blocked = [0]
    phase = "dpor" if bound is None else f"bound {bound}"

    def finish(out: Outcome) -> Execution:
        if out.blocked:
            blocked[0] += 1
        return record(out, phase)

    while True:
        ex = search.next(finish)
        if ex is None:
            # a bounded search that the bound never cut explored every trace
            res.exhaustive = res.bound is None and (bound is None or search.pruned == 0)
            return True
        if blocked[0]:
            res.blocked += blocked[0]
            res.executions += 1
            blocked[0] = 0
        else:
            res.add(ex)
        limits.check(res)


# -- plain enumeration (with a preemption bound, with sleep sets) --------------------------------


class _DNode:
    __slots__ = ("chosen", "enabled", "ev", "pre", "prev", "sleep", "todo")

    def __init__(self, enabled: list[str], sleep: dict[str, Footprint], pre: int, prev: str,
                 prev_runnable: bool) -> None:
        self.enabled = enabled
        self.sleep = sleep
        self.pre = pre  # preemptions before this state
        self.prev = prev if prev_runnable else ""  # switching away from it is a preemption
        self.chosen = ""
        self.todo: list[str] = []
        self.ev: Ev | None = None


def explore_dfs(machine: Machine, limits: Limits, res: Result, bound: int | None = None,
                sleep_sets: bool = False, forced: tuple[str, ...] = (), phase: str = "dfs",
                on: Callable[[Execution, HB], None] | None = None) -> None:
    """Depth-first search of the schedules: every one (``sleep_sets=False``: plain
    enumeration), at most ``bound`` preemptions each; ``forced`` fixes the first events."""
    stack: list[_DNode] = []
    nforced = len(forced)
    while True:
        run = Run(machine)
        events: list[Ev] = []
        n = len(stack)
        for d, node in enumerate(stack):
            p = node.chosen
            if d == n - 1:
                e = run.step(p)
                node.ev = Ev(p, e.fp, e.result, e.tid, e.points, e.kernel)
            else:
                run.step(p, footprint=False)
            assert node.ev is not None
            events.append(node.ev)
        if stack:
            last = stack[-1]
            assert last.ev is not None and last.ev.fp is not None
            sleep = {q: f for q, f in last.sleep.items()
                     if q != last.chosen and not f.dep(last.ev.fp)} if sleep_sets else {}
            pre = last.pre + (1 if last.prev and last.chosen != last.prev
                              and last.prev in last.enabled else 0)
            prev, runnable = last.chosen, last.ev.result == "point"
        else:
            sleep, pre, prev, runnable = {}, 0, "", False
        blocked = False
        d = n
        while True:
            en = run.enabled()
            if not en:
                break
            node = _DNode(en, sleep, pre, prev, runnable and prev != TIME)
            if d < nforced:
                choices = [forced[d]] if forced[d] in en else []
                node.sleep = {}
            else:
                choices = [q for q in en if q not in sleep]
                if bound is not None and node.prev in en:
                    choices = [q for q in choices if q == node.prev or pre + 1 <= bound]
            if not choices:
                blocked = True
                break
            p = node.prev if node.prev in choices else choices[0]
            node.chosen = p
            node.todo = [q for q in choices if q != p]
            e = run.step(p)
            node.ev = Ev(p, e.fp, e.result, e.tid, e.points, e.kernel)
            stack.append(node)
            events.append(node.ev)
            if sleep_sets:
                sleep = {q: f for q, f in node.sleep.items() if q != p and not f.dep(e.fp)}
            pre = pre + (1 if node.prev and p != node.prev and node.prev in en else 0)
            prev, runnable = p, e.result == "point"
            d += 1
        hb = HB.of(events, run.threads, want_races=False)
        if blocked:
            res.blocked += 1
            res.executions += 1
            run.close()
        else:
            ex = record(Outcome(run, events, hb), phase)
            run.close()
            res.add(ex)
            if on is not None:
                on(ex, hb)
        limits.check(res)
        # backtrack: the deepest state with something left to try
        d = len(stack) - 1
        while d >= nforced:
            node = stack[d]
            if sleep_sets and node.ev is not None and node.ev.fp is not None:
                node.sleep = dict(node.sleep)
                node.sleep[node.chosen] = node.ev.fp
            while node.todo:
                q = node.todo.pop(0)
                if q in node.sleep:
                    continue
                node.chosen = q
                break
            else:
                d -= 1
                continue
            del stack[d + 1:]
            break
        if d < nforced:
            res.exhaustive = bound is None
            return


def count_traces(machine: Machine, limits: Limits | None = None) -> Result:
    """Plain enumeration of every schedule, grouped into Mazurkiewicz traces by fingerprint:
    the number the optimal search must match (``res.traces``; ``res.executions`` is the number
    of schedules)."""
    res = Result("dfs", machine.problem.kernel)
    with contextlib.suppress(Stop):
        explore_dfs(machine, limits or Limits(), res)
    return res


# -- randomised modes ---------------------------------------------------------------------------


def run_policy(machine: Machine, choose: Callable[[list[str], str, int], str],
               trace: bool = False, phase: str = "random") -> Execution:
    run = Run(machine, trace=trace)
    events: list[Ev] = []
    prev = ""
    while True:
        en = run.enabled()
        if not en:
            break
        p = choose(en, prev, len(events))
        e = run.step(p)
        events.append(Ev(p, e.fp, e.result, e.tid, e.points, e.kernel))
        prev = p
    hb = HB.of(events, run.threads, want_races=False)
    ex = record(Outcome(run, events, hb), phase)
    run.close()
    return ex


def replay(machine: Machine, schedule: list[str], trace: bool = False) -> Execution:
    """Run ``schedule``; when it is used up (or names a thread that cannot run), go on
    without preemption."""
    it = iter(schedule)

    def choose(en: list[str], prev: str, n: int) -> str:
        want = next(it, None)
        if want in en:
            return want
        return prev if prev in en else en[0]

    return run_policy(machine, choose, trace, "replay")


def explore_random(machine: Machine, limits: Limits, res: Result, seed: int = 0,
                   pct: bool = False, depth: int = 3) -> None:
    rng = _random.Random(seed)
    length = 0
    while True:
        if pct:
            ex = _pct_once(machine, rng, depth, max(length, 1))
        else:
            ex = run_policy(machine, lambda en, prev, n: rng.choice(en))
        length = max(length, len(ex.schedule))
        res.add(ex)
        limits.check(res)


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

    return run_policy(machine, choose, phase="pct")


# -- how big the search is ----------------------------------------------------------------------


def estimate_traces(machine: Machine) -> int:
    """A rough count of the traces, from one execution: threads that share no dependent event
    do not multiply; within a group of threads that do, every order of their events that
    conflict with another thread's might be a trace of its own.  Returns the product over the
    groups of the multinomial of those event counts (1 when nothing conflicts).  An estimate to
    warn with, not a bound: other executions may have other events."""
    ex = run_policy(machine, lambda en, prev, n: prev if prev in en else en[0])
    events = ex.events
    threads = sorted({e.thread for e in events})
    group = {t: t for t in threads}

    def find(t: str) -> str:
        while group[t] != t:
            t = group[t]
        return t

    hit: set[int] = set()  # events that conflict with another thread's
    for j, b in enumerate(events):
        for i, a in enumerate(events[:j]):
            if a.thread != b.thread and a.fp is not None and b.fp is not None and a.fp.dep(b.fp):
                hit.update((i, j))
                ra, rb = find(a.thread), find(b.thread)
                if ra != rb:
                    group[ra] = rb
    conflicting: Counter[str] = Counter(events[i].thread for i in hit)
    total = 1
    by_group: dict[str, list[int]] = {}
    for t in threads:
        by_group.setdefault(find(t), []).append(conflicting[t])
    for counts in by_group.values():
        n = sum(counts)
        m = math.factorial(n)
        for c in counts:
            m //= math.factorial(c)
        total *= m
    return total


# -- the front door -----------------------------------------------------------------------------


def explore(problem: Problem | Machine, mode: str = "auto", preemptions: int | None = None,
            seed: int = 0, budget: int | None = None, jobs: int = 1,
            time_limit: float | None = None, progress: Callable[[Result], None] | None = None,
            stop_on_bad: bool = False, count_all: bool = False, cluster: str | None = None,
            hunt_budget: int = HUNT_BUDGET) -> Result:
    """Decide ``problem`` in ``mode``; see the module docstring.  Ctrl-C ends the search with
    what it found (``interrupted``)."""
    machine = problem if isinstance(problem, Machine) else Machine(problem)
    if mode == "bfs":
        mode = "auto"
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    deadline = time.monotonic() + time_limit if time_limit else None
    limits = Limits(budget=budget, deadline=deadline, stop_on_bad=stop_on_bad,
                    stop_when_decided=not count_all and mode in ("auto",), progress=progress)
    res = Result(mode, machine.problem.kernel, bound=preemptions)
    t0 = time.monotonic()
    if jobs > 1 or cluster:
        from .parallel import explore_parallel
        if mode == "auto":  # the shares are searched by DPOR at once; no bug-hunting phases
            res.mode = "dpor"
        explore_parallel(machine, res, limits, mode, preemptions, seed, jobs, cluster)
        res.elapsed = time.monotonic() - t0
        return res
    try:
        if mode in ("random", "pct"):
            if limits.budget is None and deadline is None:
                limits.budget = 1000
            explore_random(machine, limits, res, seed, pct=mode == "pct")
        elif mode == "dfs":
            explore_dfs(machine, limits, res, bound=preemptions)
        elif mode == "dpor" or preemptions is not None:
            explore_dpor(machine, limits, res, bound=preemptions)
        else:
            _auto(machine, limits, res, hunt_budget)
    except Stop:
        pass
    except KeyboardInterrupt:
        res.interrupted = True
    res.elapsed = time.monotonic() - t0
    return res


def _auto(machine: Machine, limits: Limits, res: Result, hunt_budget: int) -> None:
    """Bug hunting with 0, 1, 2 preemptions, then the exhaustive optimal search."""
    for b in HUNT_BOUNDS:
        t0 = time.monotonic()
        n0 = res.executions
        limits.phase_budget = hunt_budget
        limits.phase_start = res.executions
        try:
            explore_dpor(machine, limits, res, bound=b)
        except _PhaseDone:
            pass
        finally:
            limits.phase_budget = None
            res.phases.append((f"bound {b}", res.executions - n0, time.monotonic() - t0))
        if res.exhaustive:
            return  # the bound never cut anything: that was the whole search
        if res.positive:
            break
    t0 = time.monotonic()
    n0 = res.executions
    try:
        explore_dpor(machine, limits, res)
    finally:
        res.phases.append(("dpor", res.executions - n0, time.monotonic() - t0))


def shortest_bad(machine: Machine, max_bound: int | None = None,
                 deadline: float | None = None) -> Execution | None:
    """A bad execution with the fewest preemptions (iterative context bounding)."""
    b = 0
    while max_bound is None or b <= max_bound:
        res = Result("dfs", machine.problem.kernel, bound=b)
        with contextlib.suppress(Stop):
            explore_dfs(machine, Limits(stop_on_bad=True, deadline=deadline), res, bound=b,
                        sleep_sets=True)
        if res.best_bad is not None:
            return res.best_bad
        if res.time_hit or res.interrupted:
            return None
        if res.max_preemptions < b:
            return None  # the bound no longer limits anything
        b += 1
    return None
