"""An execution as a sequence of events, and its happens-before order.

Two events of different threads are *dependent* when their footprints say so
(:meth:`~daxsh.kernel.footprint.Footprint.dep`); happens-before is program order plus the order of
dependent events, closed under transitivity.  It is kept as vector clocks: ``clocks[j][t]`` is
the position of the latest event of thread ``t`` that happens before (or is) event ``j``, -1 if
none.  Two executions are equivalent -- the same Mazurkiewicz trace -- when one can be turned into
the other by swapping adjacent independent events; equivalent executions have the same events,
the same happens-before order, and (the footprints being sound) the same final state.

From the order this module finds the *races* (Abdulla et al., JACM 2017, section 3): a pair of
dependent events ``i < j`` of different threads with no event between them in happens-before.
A race is *reversible* when ``j``'s thread could have run its event without ``i``: not when ``i``
is the wake-up of the task that ``j`` resumes (the event that wrote ``("wake", tid)`` after the
task slept), and not across the passing of model time
(:data:`~.runner.TIME`, which only happens when no thread can run).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple

from ..kernel.footprint import Footprint
from .runner import TIME


class Ev(NamedTuple):
    """One event: which thread ran, what it touched, how it ended, what it stepped."""

    thread: str
    fp: Footprint | None  # None: not run yet (a pending thread's next event: depends on all)
    result: str = "point"
    tid: int = 0
    points: int = 0
    kernel: bool = False


def depends(a: Footprint | None, b: Footprint | None) -> bool:
    return a is None or b is None or a.dep(b)


@dataclass
class HB:
    """Happens-before of one execution: vector clocks, the races, a fingerprint of its trace."""

    events: list[Ev]
    threads: dict[str, int] = field(default_factory=dict)  # name -> column of the clocks
    clocks: list[list[int]] = field(default_factory=list)
    races: list[tuple[int, int]] = field(default_factory=list)  # reversible (i, j)
    local: list[int] = field(default_factory=list)  # the event's index within its thread

    @classmethod
    def of(cls, events: list[Ev], thread_order: list[str], want_races: bool = True) -> HB:
        hb = cls(events, {n: i for i, n in enumerate(thread_order)})
        hb._compute(want_races)
        return hb

    def col(self, thread: str) -> int:
        c = self.threads.get(thread)
        if c is None:
            c = self.threads[thread] = len(self.threads)
            for vc in self.clocks:
                vc.append(-1)
        return c

    def _compute(self, want_races: bool) -> None:
        events = self.events
        last_w: dict[object, int] = {}
        reads: dict[object, list[int]] = {}
        commutes: dict[object, list[int]] = {}
        alls: list[int] = []  # events that read or write everything
        prev: dict[str, int] = {}  # thread -> its latest event
        count: dict[str, int] = {}
        slept: dict[str, int] = {}  # thread -> tid of its task that went to sleep last
        clocks = self.clocks
        races = self.races
        for j, ev in enumerate(events):
            q = ev.thread
            cq = self.col(q)
            fp = ev.fp
            assert fp is not None
            cand: set[int] = set()
            if fp.reads_all:
                cand.update(range(j))
            else:
                # a read conflicts with the last write and the commuting updates; an update
                # with the last write and the reads; a write with all three
                for keys, others in ((fp.r, (commutes,)), (fp.c, (reads,)),
                                     (fp.w, (reads, commutes))):
                    for key in keys:
                        w = last_w.get(key)
                        if w is not None:
                            cand.add(w)
                        for by_key in others:
                            got = by_key.get(key)
                            if got:
                                cand.update(got)
                cand.update(alls)
            dep = [i for i in cand if events[i].thread != q and depends(events[i].fp, fp)]
            pj = prev.get(q)
            base = clocks[pj] if pj is not None else [-1] * len(self.threads)
            vc = list(base)
            for i in dep:
                ci = clocks[i]
                for c, v in enumerate(ci):
                    if v > vc[c]:
                        vc[c] = v
            vc[cq] = j
            if want_races and dep:
                waker = -1
                sleeping = slept.get(q)
                if sleeping is not None and pj is not None and events[pj].result == "sleep":
                    waker = last_w.get(("wake", sleeping), -1)
                    if waker <= pj:
                        waker = -1
                for i in dep:
                    ti = self.threads[events[i].thread]
                    if base[ti] >= i:
                        continue  # ordered through q's own earlier events
                    if any(d != i and clocks[d][ti] >= i for d in dep):
                        continue  # ordered through another dependent event
                    if i == waker or q == TIME or events[i].thread == TIME:
                        continue  # not reversible
                    races.append((i, j))
            clocks.append(vc)
            self.local.append(count.get(q, 0))
            count[q] = count.get(q, 0) + 1
            prev[q] = j
            if ev.result == "sleep":
                slept[q] = ev.tid
            if fp.reads_all or fp.writes_all:
                alls.append(j)
                if fp.writes_all:  # a barrier: everything before it happens before it
                    last_w.clear()
                    reads.clear()
                    commutes.clear()
                    alls[:] = [j]
                continue
            for key in fp.w:
                last_w[key] = j
                reads.pop(key, None)
                commutes.pop(key, None)
            for key in fp.r:
                reads.setdefault(key, []).append(j)
            for key in fp.c:
                commutes.setdefault(key, []).append(j)

    def happens_before(self, i: int, j: int) -> bool:
        """Does event ``i`` happen before event ``j`` (i < j)?"""
        c = self.threads[self.events[i].thread]
        vc = self.clocks[j]
        return c < len(vc) and vc[c] >= i

    def fingerprint(self) -> bytes:
        """The trace's identity: each event's thread, position in its thread and the events of
        other threads before it (by their positions in their threads).  Equal for equivalent
        executions, different otherwise."""
        names = sorted(self.threads, key=self.threads.__getitem__)
        rows = []
        for j, ev in enumerate(self.events):
            vc = self.clocks[j]
            past = tuple((names[c], self.local[v] + 1) for c, v in enumerate(vc)
                         if v >= 0 and c != self.threads[ev.thread])
            rows.append((ev.thread, self.local[j], past))
        rows.sort()
        return hashlib.blake2b(repr(rows).encode(), digest_size=16).digest()


def count_preemptions(schedule: list[str], results: list[str]) -> int:
    """Switches away from a thread whose last event left it runnable (``point``).  Time
    passing is not a switch (it only happens when no thread can run)."""
    n = 0
    last = ""
    last_r = ""
    for p, r in zip(schedule, results):
        if p == TIME:
            last, last_r = "", ""
            continue
        if last and p != last and last_r == "point":
            n += 1
        last, last_r = p, r
    return n
