"""Optimal dynamic partial-order reduction: source sets with wakeup trees and sleep sets
(Abdulla, Aronis, Jonsson, Sagonas: "Optimal dynamic partial order reduction", POPL 2014;
"Source sets: a foundation for optimal dynamic partial order reduction", JACM 64(4), 2017).

The search explores one execution per Mazurkiewicz trace of the threads' events, where two
events are independent when their footprints commute (``kernel/footprint.py``).  Each state on
the current execution -- a :class:`Node` -- keeps

* a *sleep set*: threads whose next event leads only to traces already explored, with that
  event's footprint (a thread stays asleep in a child while the event taken is independent of
  its next one);
* a *wakeup tree*: ordered sequences of events still to explore from here (the first child is
  the one being explored).

After each maximal execution every reversible race ``i < j`` (``trace.HB``) yields the sequence
``v`` = the events after ``i`` that do not happen after it, then ``j``; unless a sleeping thread
is a weak initial of ``v`` (its trace is covered), ``v`` is inserted into the wakeup tree of the
state before ``i``.  Insertion walks down the tree: a child whose thread is an initial of what is
left of ``v`` (its first event there has no predecessor there), or whose event is independent of
all of it, stands for a prefix of ``v`` up to reordering; a leaf reached that way already covers
``v``; otherwise the rest of ``v`` is added as a new branch.

Blocking is an event, as in the kernel: a task that finds a lock held joins its queue and
sleeps (a write of the lock), and the task that releases it hands it over and wakes it (a write
of the lock and of the sleeper's task).  The race between the sleeper's attempt and the release
is reversible; the race between the wake-up and the sleeper's next event is not (``trace.HB``).
A crash ends every thread: it is dependent on every event, and a thread that could still run
when the kernel crashed gets its next event tried before the crash.

Counted as the paper does: ``blocked`` executions end because every thread that can run is
asleep (none, when the reduction is optimal); the test suite checks that the number of
executions equals the number of traces found by plain enumeration.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..kernel.footprint import Footprint
from .runner import TIME, Machine, Run
from .trace import HB, Ev, depends


class NondeterminismError(RuntimeError):
    """Replaying a prefix did not give the same events: a daxsh bug (the model must be a
    function of the schedule), never an outcome."""


class WNode:
    """A node of a wakeup tree: a thread's next event (its footprint, when known) and the
    sequences that continue it."""

    __slots__ = ("children", "fp", "thread")

    def __init__(self, thread: str, fp: Footprint | None = None) -> None:
        self.thread = thread
        self.fp = fp
        self.children: list[WNode] = []


class Node:
    """A state on the current execution."""

    __slots__ = ("enabled", "ev", "pre", "sleep", "wut")

    def __init__(self, enabled: list[str], sleep: dict[str, Footprint], wut: list[WNode]) -> None:
        self.enabled = enabled
        self.sleep = sleep
        self.wut = wut  # wut[0]: the child being explored
        self.ev: Ev | None = None
        self.pre = 0  # preemptions before this state (for a bounded search)


@dataclass
class Outcome:
    """What one execution of the search came to (the caller turns it into its record)."""

    run: Any  # a Run
    events: list[Ev]
    hb: HB
    blocked: bool = False
    pending: list[str] = field(default_factory=list)


class OptimalDPOR:
    """The search, one execution at a time (:meth:`next`), so that the caller can count,
    report progress and stop.

    ``forced`` fixes the first events (a share of the tree for another process) and ``sleep``
    is the sleep set of the state they lead to."""

    def __init__(self, machine: Machine | Callable[[], Any], forced: tuple[str, ...] = (),
                 sleep: dict[str, Footprint] | None = None, trace: bool = False,
                 bound: int | None = None) -> None:
        # a Machine, or any callable giving a fresh run (enabled/step/pending/close/threads)
        self.start: Callable[[], Any] = (lambda: Run(machine, trace=trace)) \
            if isinstance(machine, Machine) else machine
        self.forced = forced
        self.sleep0 = dict(sleep or {})
        self.path: list[Node] = []
        self.done = False
        self.trace = trace
        self.bound = bound  # at most this many preemptions (bug hunting: not exhaustive)
        self.pruned = 0  # branches the bound cut (none: the bounded search was exhaustive)
        self.executions = 0

    # -- one execution ------------------------------------------------------------------------
    def next(self, finish: Callable[[Outcome], Any]) -> Any:
        """Run the next execution; ``finish`` looks at its final state (before the machine is
        reused) and its value is returned.  Returns None when the search is over."""
        if self.done:
            return None
        out = self._execute()
        value = finish(out)
        out.run.close()
        self._races(out)
        self._backtrack()
        self.executions += 1
        return value

    def _execute(self) -> Outcome:
        run = self.start()
        path = self.path
        events: list[Ev] = []
        n = len(path)
        pre = 0  # preemptions so far
        prev, prev_runnable = "", False
        for d, node in enumerate(path):
            en = run.enabled()
            if en != node.enabled:
                raise NondeterminismError(f"at event {d} {node.enabled} could run before, "
                                          f"now {en}")
            child = node.wut[0]
            p = child.thread
            if d == n - 1:  # after backtracking, the last state's child is new
                e = run.step(p)
                node.ev = Ev(p, e.fp, e.result, e.tid, e.points, e.kernel)
                child.fp = e.fp
            else:
                e = run.step(p, footprint=False)
                assert node.ev is not None
                if e.result != node.ev.result:
                    raise NondeterminismError(f"event {d} ({p}) gave {e.result}, before "
                                              f"{node.ev.result}")
            events.append(node.ev)
            node.pre = pre
            if prev_runnable and prev in en and p != prev:
                pre += 1
            prev, prev_runnable = p, node.ev.result == "point" and p != TIME
        if path:
            last = path[-1]
            assert last.ev is not None and last.ev.fp is not None
            sleep = {q: f for q, f in last.sleep.items()
                     if q != last.ev.thread and not f.dep(last.ev.fp)}
            follow = list(last.wut[0].children)
        else:
            sleep = {} if self.forced else dict(self.sleep0)
            follow = []
        blocked = False
        nforced = len(self.forced)
        d = n
        while True:
            en = run.enabled()
            if not en:
                break
            if d < nforced:
                p = self.forced[d]
                if p not in en:
                    raise NondeterminismError(f"the forced prefix runs {p}, which cannot run at "
                                              f"event {d}")
                node = Node(en, {}, [WNode(p)])
            else:
                if d == nforced and nforced:
                    sleep = dict(self.sleep0)
                # a branch whose first thread sleeps here is covered already (the sequence was
                # inserted before that thread's trace was explored): drop it; so is one that
                # would preempt past the bound
                had_tree = bool(follow)
                over = self.bound is not None and pre >= self.bound and prev_runnable \
                    and prev in en
                while follow and (follow[0].thread in sleep
                                  or (over and follow[0].thread != prev)):
                    if follow[0].thread not in sleep:
                        self.pruned += 1
                    follow.pop(0)
                node = Node(en, sleep, follow)
                if follow:
                    p = follow[0].thread
                    if p not in en:
                        raise NondeterminismError(f"the wakeup tree runs {p}, which cannot run "
                                                  f"at event {d}")
                elif had_tree:
                    blocked = True
                    break
                else:
                    choices = [q for q in en if q not in sleep]
                    if not choices:
                        blocked = True
                        break
                    if over and prev not in choices:
                        # the thread that could go on sleeps: any other choice preempts past
                        # the bound, so the execution ends here (cut, counted like a blocked one)
                        self.pruned += 1
                        blocked = True
                        break
                    p = prev if prev in choices else choices[0]
                    node.wut = [WNode(p)]
            node.pre = pre
            if prev_runnable and prev in en and p != prev:
                pre += 1
            e = run.step(p)
            ev = Ev(p, e.fp, e.result, e.tid, e.points, e.kernel)
            node.ev = ev
            node.wut[0].fp = e.fp
            path.append(node)
            events.append(ev)
            sleep = {q: f for q, f in node.sleep.items() if q != p and not f.dep(e.fp)}
            follow = list(node.wut[0].children)
            prev, prev_runnable = p, e.result == "point" and p != TIME
            d += 1
        pending = run.pending()
        hb = HB.of(events, run.threads)
        return Outcome(run, events, hb, blocked, pending)

    # -- races and wakeup trees ---------------------------------------------------------------
    def _races(self, out: Outcome) -> None:
        path = self.path
        events = out.events
        hb = out.hb
        nforced = len(self.forced)
        analysed: set[tuple[int, str]] = set()
        work: deque[tuple[int, _Seq]] = deque()
        for i, j in hb.races:
            if i < nforced:
                continue
            v = [k for k in range(i + 1, j) if not hb.happens_before(i, k)]
            work.append((i, _Seq(events, hb, v, j, i)))
        if out.pending and events:
            c = len(events) - 1  # the crash
            if c >= nforced:
                node = path[c]
                for q in out.pending:
                    if q in node.enabled and q not in node.sleep and q != events[c].thread:
                        work.append((c, _Seq.pending(q)))
        while work:
            i, seq = work.popleft()
            node = path[i]
            cover = self._covered(node, seq)
            if cover is None:
                if self.bound is not None and self._preemptions(i, seq, events) > self.bound:
                    self.pruned += 1  # the reversal would preempt past the bound
                    continue
                _insert(node.wut, seq)
            elif (i, cover) not in analysed:
                analysed.add((i, cover))
                work.extend((i, x) for x in self._sleeping_races(i, cover, node.sleep[cover], out))

    def _preemptions(self, i: int, seq: _Seq, events: list[Ev]) -> int:
        """The preemptions of the execution that runs ``seq`` after the first ``i`` events
        (counted as the search counts them: a switch away from a thread that could go on)."""
        pre = self.path[i].pre
        prev, runnable = "", False
        if i:
            prev, runnable = events[i - 1].thread, events[i - 1].result == "point"
            if prev not in self.path[i].enabled:
                runnable = False
        for a in seq.all:
            t = seq.thread(a)
            if runnable and t != prev and t != TIME:
                pre += 1
            result = seq.pend.result if seq.pend is not None else seq.ev[seq.idx[a]].result
            prev, runnable = t, result == "point" and t != TIME
        return pre

    def _sleeping_races(self, i: int, q: str, f: Footprint, out: Outcome) -> list[_Seq]:
        """The races a sleeping thread's next event would have after state ``i``.

        A reversal was skipped because ``q``, asleep at ``i``, covers it: the traces that begin
        with ``q`` there were explored from an earlier state.  Exploring ``q`` here would also
        have shown the races of its event with the events that follow ``i`` -- and since an event
        of the model is a step whose footprint depends on what it finds, those races can differ
        from the ones seen where ``q`` was explored.  So they are found here, with ``q``'s event
        put virtually before event ``i``: an event ``k`` after ``i`` races with it when they are
        dependent and ``k`` does not happen after another event that depends on it."""
        events = out.events
        hb = out.hb
        after: list[int] = []  # events that happen after the virtual event
        found: list[_Seq] = []
        for k in range(i, len(events)):
            ev = events[k]
            if ev.thread == q:
                after.append(k)
                continue
            direct = depends(f, ev.fp)
            through = any(hb.happens_before(d, k) for d in after)
            if direct and not through and ev.thread != TIME:
                v = [d for d in range(i, k) if d not in after]
                found.append(_Seq(events, hb, v, k))
            if direct or through:
                after.append(k)
        return found

    @staticmethod
    def _covered(node: Node, seq: _Seq) -> str | None:
        """A sleeping thread that is an initial of ``seq`` (its traces are already covered)."""
        for q in node.sleep:
            first = seq.first_of(q, seq.all)
            if first is not None and seq.initial(first, seq.all):
                return q
        return None

    def _backtrack(self) -> None:
        path = self.path
        nforced = len(self.forced)
        d = len(path) - 1
        while d >= nforced:
            node = path[d]
            done = node.wut.pop(0)
            assert done.fp is not None
            node.sleep[done.thread] = done.fp
            if node.wut:
                del path[d + 1:]
                return
            d -= 1
        self.done = True


class _Seq:
    """A sequence to insert into a wakeup tree: positions ``0..n-1`` stand for events of the
    execution (``notdep`` then the racing event last), with the order between them."""

    __slots__ = ("all", "ev", "hb", "idx", "last_fp", "last_preds", "pend")

    def __init__(self, events: list[Ev], hb: HB, notdep: list[int], j: int,
                 i: int | None = None) -> None:
        self.ev = events
        self.hb = hb
        self.idx = [*notdep, j]
        self.all = list(range(len(self.idx)))
        self.pend: Ev | None = None
        # The racing event, run before event ``i``, is the next event of its thread there, but
        # not necessarily the event it was: an event here is a step of the model, and what it
        # touches depends on what it finds (a lock free or held, a signal pending...).  It is
        # the same event when ``i`` changed nothing it touches (``i`` only read what they
        # share); otherwise its footprint is unknown and it may depend on every event before it.
        fi = events[i].fp if i is not None else None
        fj = events[j].fp
        if fi is not None and fj is not None and fi.w.isdisjoint(fj.all) \
                and fi.c.isdisjoint(fj.all) and not fi.writes_all:
            self.last_fp: Footprint | None = fj
            self.last_preds = {a for a, k in enumerate(notdep) if depends(events[k].fp, fj)}
        else:
            self.last_fp = None
            self.last_preds = set(range(len(notdep)))

    @classmethod
    def pending(cls, thread: str) -> _Seq:
        s = cls.__new__(cls)
        s.ev = []
        s.hb = None  # type: ignore[assignment]
        s.idx = [-1]
        s.all = [0]
        s.last_preds = set()
        s.last_fp = None
        s.pend = Ev(thread, None)
        return s

    def thread(self, a: int) -> str:
        if self.pend is not None:
            return self.pend.thread
        return self.ev[self.idx[a]].thread

    def fp(self, a: int) -> Footprint | None:
        """The item's footprint (None: unknown)."""
        if self.pend is not None:
            return None
        if a == len(self.idx) - 1:
            return self.last_fp
        return self.ev[self.idx[a]].fp

    def first_of(self, thread: str, remaining: list[int]) -> int | None:
        for a in remaining:
            if self.thread(a) == thread:
                return a
        return None

    def initial(self, a: int, remaining: list[int]) -> bool:
        """Has item ``a`` (the first of its thread in ``remaining``) no predecessor there?"""
        if self.pend is not None:
            return True
        last = len(self.idx) - 1
        if a == last:
            return not any(b in self.last_preds for b in remaining)
        k = self.idx[a]
        hb = self.hb
        vc = hb.clocks[k]
        cols = hb.threads
        ta = self.thread(a)
        seen: set[str] = set()
        for b in remaining:
            if b == last:
                continue
            tb = self.thread(b)
            if tb == ta or tb in seen:
                continue
            seen.add(tb)  # b is the first remaining event of its thread
            if vc[cols[tb]] >= self.idx[b]:
                return False
        return True


def _insert(children: list[WNode], seq: _Seq) -> None:
    """Insert ``seq`` into the wakeup tree whose root has ``children`` (see module doc)."""
    remaining = list(seq.all)
    while remaining:
        for c in children:
            first = seq.first_of(c.thread, remaining)
            if first is None or not seq.initial(first, remaining):
                continue
            remaining.remove(first)
            if not c.children:
                return  # a leaf stands for this sequence already
            children = c.children
            break
        else:
            node = children
            for a in remaining:
                w = WNode(seq.thread(a), seq.fp(a))
                node.append(w)
                node = w.children
            return
