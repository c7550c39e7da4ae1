"""One execution of a scenario's threads under a schedule the explorer chooses.

A :class:`Problem` is what the explorer decides: a kernel, a machine, the setup lines, the
threads and what counts as bad.  A :class:`Machine` runs the setup once and keeps the state after
it (no task is alive then, so there is no generator to copy).  Every execution starts from that
state put back in place (:mod:`.snapshot`, about 0.03 ms); the other ways, kept for comparison
and as fallbacks, are ``pickle.loads`` of a pickled copy (about 0.1 ms, plus the collector's work
to free the previous copy), ``copy.deepcopy`` (about 0.5 ms) and replaying the setup (0.3-3 ms)
-- see ``benchmarks/bench_explore.py``.  A restored-in-place Machine has one state: a new
:class:`Run` ends the previous one.

A :class:`Run` spawns one task per thread (every line of a thread runs in that one task, in the
current process, as ``Session.thread_body`` does) and offers :meth:`Run.step`: resume one task
to its next preemption point and return the shared objects the step touched (its footprint,
canonicalised so that it compares equal across executions).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..kernel import checks
from ..kernel.locks import RwSem
from ..kernel.sched import Task
from ..kernel.syscalls import Ret, strerror
from ..lang.lexer import LexError, split
from ..lang.registry import ArgError, lookup
from ..lang.session import DONE, ERROR, Session, Syscall
from ..scenario.bad import Bad
from .snapshot import Snapshot, Unsupported, close_tasks


class ProblemError(ValueError):
    """The scenario cannot be explored (bad setup line, no threads...): exit status 2."""


@dataclass
class Problem:
    kernel: str = ""
    pmem: int = 1 << 30
    seed: int = 0
    setup: list[str] = field(default_factory=list)
    threads: dict[str, list[str]] = field(default_factory=dict)
    bad: Bad | None = None  # what makes an execution bad; None: any outcome but clean
    title: str = ""
    path: str = ""
    live: bool = False  # setup may leave jobs alive: they are threads too ("explore from here")

    def __post_init__(self) -> None:
        if isinstance(self.bad, (str, dict)):  # as a scenario writes it: "corruption", {...}
            self.bad = Bad.parse(self.bad)

    @classmethod
    def from_session(cls, s: Session, threads: dict[str, list[str]] | None = None,
                     bad: Bad | str | None = None) -> Problem:
        """"Explore from here": the lines an interactive session ran (``Session.executed``)
        are the setup; its live jobs -- stopped, blocked or runnable -- are threads named
        ``%N``, with ``threads`` (more lines to run concurrently) beside them; ``bad`` is
        what counts as bad (an outcome or conditions, as in a scenario)."""
        return cls(s.kernel_spec, s.pmem, s.seed, list(s.executed), dict(threads or {}),
                   Bad.parse(bad) if isinstance(bad, str) else bad, "explore from here",
                   "<session>", live=True)

    def is_bad(self, s: Session, o: checks.Outcome) -> bool:
        """Is the execution that ended in ``s`` with outcome ``o`` bad?"""
        if self.bad is None:
            return o.outcome != "clean"
        return self.bad.holds(s, o)

    def describe_bad(self) -> str:
        return self.bad.describe() if self.bad is not None else "any outcome but clean"

    def with_lines(self, setup: list[str], threads: dict[str, list[str]]) -> Problem:
        return Problem(self.kernel, self.pmem, self.seed, list(setup),
                       {n: list(v) for n, v in threads.items()}, self.bad, self.title, self.path,
                       self.live)


LINES_KEY = ("lines",)  # a step that starts or ends a command line (reads/writes session state)


# -- footprint keys --------------------------------------------------------------------------


def canon_key(key: Any, mm_names: dict[int, str]) -> Any:
    """A footprint key that compares equal across executions (no ``id()``, no object)."""
    if type(key) is tuple:
        if key and key[0] == "mm":
            return ("mm", key[1] if isinstance(key[1], str) else mm_names.get(key[1], "?"))
        return key
    if isinstance(key, RwSem):
        return ("sem", key.name, key.label)
    name = getattr(key, "name", None)
    return ("obj", type(key).__name__, str(name) if name is not None else repr(key))


class Footprint(NamedTuple):
    """What a step touched: ``w`` the objects it changed (or may have: every key but a rwsem
    taken or released in read mode), ``a`` every object it touched.  Two steps are dependent
    when one changed what the other touched: readers of one rwsem commute."""

    w: frozenset[Any]
    a: frozenset[Any]

    def dep(self, other: Footprint) -> bool:
        return not (self.w.isdisjoint(other.a) and self.a.isdisjoint(other.w))

    def keys(self) -> frozenset[Any]:
        return self.a


EMPTY = Footprint(frozenset(), frozenset())


def _read_only(sem: RwSem, t: Task, held0: list[tuple[Any, str]],
               ann0: tuple[Any, str] | None, ann1: tuple[Any, str] | None) -> bool:
    """Did the step only take, wait for, release or announce ``sem`` in read mode?

    Every acquisition is announced by the preemption point in ``_down`` that ends the step
    before it, so the modes are those held before or after, waited for, or announced at either
    end of the step.  Unknown: no."""
    modes = {m for s, m in held0 if s is sem}
    modes.update(m for s, m in t.held if s is sem)
    modes.update(m for x, m in sem.waiting if x is t)
    for ann in (ann0, ann1):
        if ann is not None and ann[0] is sem:
            modes.add(ann[1])
    return modes == {"R"}


def _announced(t: Task) -> tuple[Any, str] | None:
    """(sem, mode) when ``t`` stopped at the preemption point of a lock acquisition: ``_down``
    is the one kernel path whose point declares a ``(sem, mode)`` pair (``preempt`` declares
    ``(kind, name)`` keys)."""
    pt = t.point
    if pt is None or not pt.keys:
        return None
    k0 = pt.keys[0]
    if type(k0) is tuple and type(k0[0]) is RwSem:
        return k0
    return None


# -- the machine after setup -----------------------------------------------------------------


class Machine:
    """The post-setup state of a :class:`Problem`, rebuilt cheaply for every execution."""

    RESTORES = ("inplace", "pickle", "deepcopy", "replay")

    def __init__(self, problem: Problem, restore: str = "inplace") -> None:
        if restore not in self.RESTORES:
            raise ValueError(f"restore must be one of {', '.join(self.RESTORES)}")
        self.problem = problem
        self.restore = restore
        self.epoch = 0  # how many times the state was rebuilt (a Run knows which one it has)
        s = self._setup()
        self.next_job = s.next_job
        s.k.trace_buf.clear()
        self.blob = b""
        self._snap: Snapshot | None = None
        if s.k.sched.tasks:
            self.restore = "replay"  # live generators cannot be pickled or copied
            return
        self.blob = pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL)
        if self.restore == "inplace":
            try:
                self._snap = Snapshot(s)
            except Unsupported:
                self.restore = "pickle"

    def _setup(self) -> Session:
        p = self.problem
        try:
            s = Session(p.kernel, p.pmem, p.seed)
        except ValueError as e:
            raise ProblemError(f"kernel {p.kernel!r}: {e}") from None
        for i, line in enumerate(p.setup, 1):
            r = s.execute(line)
            if r.status == ERROR and not p.live:
                raise ProblemError(f"setup step {i} ({line}): {r.error}")
            if r.status != DONE and not p.live:
                raise ProblemError(f"setup step {i} ({line}) is {r.status}: setup lines must "
                                   "complete (put concurrent work in [threads])")
        if s.k.sched.tasks and not p.live:
            raise ProblemError("setup leaves tasks running; put concurrent work in [threads]")
        return s

    def fresh(self, trace: bool = False) -> Session:
        """The post-setup state, ready for an execution (``trace``: record kernel events)."""
        self.epoch += 1
        if self._snap is not None:
            s = self._snap.root
            close_tasks(s.k.sched)  # the previous execution's, before its state is overwritten
            self._snap.restore()
        elif self.restore == "replay":
            s = self._setup()
            s.k.trace_buf.clear()
        elif self.restore == "deepcopy" and self.blob:
            import copy
            s = copy.deepcopy(self._proto())
        else:
            s = pickle.loads(self.blob)
        s.k.trace_buf.enabled = trace
        return s

    def _proto(self) -> Session:
        proto = getattr(self, "_proto_s", None)
        if proto is None:
            proto = self._proto_s = pickle.loads(self.blob)
        return proto


# -- one execution ---------------------------------------------------------------------------


@dataclass
class LineMark:
    """A thread started (``start``) or finished (``end``) one of its lines during a step."""

    kind: str  # "start" | "end"
    index: int
    syscall: bool = True
    status: str = DONE
    message: str = ""


class Run:
    """A fresh machine on which the threads are stepped by the caller.

    Each line of a thread runs as its own task, started when the thread reaches it -- exactly
    what ``start LINE`` does in the shell -- so that any schedule can be written as ``start`` and
    ``step`` lines and replayed by ``daxsh run``.  A thread's step either starts its next line
    (parse it, spawn the task stopped, run it to its first preemption point) or resumes the task
    of its current line.  The gap between two lines (the return to user space) is a preemption
    point.  A line that cannot be parsed (or whose process has exited) ends the thread.

    Tasks the kernel starts by itself (a process exit) are not threads: as in the shell, which
    runs them after the command that started them, they run at once, with no choice.
    """

    __slots__ = ("_syscalls", "announced", "cur", "eager", "epoch", "jobs", "k", "lines",
                 "machine", "marks", "mm_names", "names", "next_line", "problem", "rank", "s",
                 "sched", "steps", "tasks", "threads")

    def __init__(self, machine: Machine, trace: bool = False, eager: bool = True) -> None:
        self.problem = machine.problem
        self.eager = eager
        self.s = s = machine.fresh(trace)
        self.machine = machine
        self.epoch = machine.epoch
        self.k = k = s.k
        self.sched = k.sched
        self.threads = list(self.problem.threads)
        self.lines = dict(self.problem.threads)
        self.next_line: dict[str, int] = dict.fromkeys(self.threads, 0)
        self.cur: dict[str, Task | None] = dict.fromkeys(self.threads)
        self.tasks: dict[str, Task] = {}  # kernel-started tasks by name
        self.names: dict[int, str] = {}  # id(task) -> thread (or kernel task) name
        self.rank: dict[str, int] = {n: i for i, n in enumerate(self.threads)}
        self.marks: dict[str, list[LineMark]] = {n: [] for n in self.threads}
        self.mm_names: dict[int, str] = {}
        self.announced: dict[str, tuple[Any, str] | None] = {}
        self.steps = 0
        self._syscalls: dict[int, Syscall] = {}
        self.jobs: dict[int, int] = {}  # id(task) -> job number, for jobs alive after setup
        if self.problem.live:
            for job in s.jobs.values():
                t = job.task
                if t.done:
                    continue
                n = f"%{job.id}"
                self.threads.append(n)
                self.lines[n] = []
                self.next_line[n] = 0
                self.cur[n] = t
                self.names[id(t)] = n
                self.rank[n] = len(self.rank)
                self.marks[n] = []
                self.jobs[id(t)] = job.id
        elif s.proc is None:
            raise ProblemError(f"process {s.proc_name} has exited during setup")

    def name_of(self, t: Task) -> str:
        n = self.names.get(id(t))
        if n is None:
            base = t.comm
            i = 1
            while f"{base}#{i}" in self.tasks:
                i += 1
            n = f"{base}#{i}"
            self.tasks[n] = t
            self.names[id(t)] = n
            self.rank[n] = len(self.rank)
        return n

    def enabled(self) -> list[str]:
        """Threads (and kernel tasks) that can take a step, in a stable order."""
        k = self.k
        if self.epoch != self.machine.epoch and self.machine.restore == "inplace":
            raise RuntimeError("this run's machine state was put back for a later run")
        if k.crashed:
            return []
        out = self._enabled()
        if not out and self.sched.tasks:
            nxt = self.sched.next_timer()
            if nxt is not None:  # only time can wake someone: let it pass (not a choice)
                k.clock.now = max(k.clock.now, nxt)
                self.sched.fire_timers(k.clock.now)
                k.check_hung()
                out = self._enabled()
        return out

    def _enabled(self) -> list[str]:
        runq = self.sched.runq
        names = self.names
        kt: list[Task] = []  # kernel-started tasks that can run
        for t in runq:
            if not t.stopped and not t.done:
                n = names.get(id(t))
                if n is None or n in self.tasks:
                    kt.append(t)
        if kt and self.eager:
            return [self.name_of(kt[0])]
        out = []
        cur = self.cur
        for n in self.threads:
            task = cur[n]
            if task is None:
                if self.next_line[n] < len(self.lines[n]):
                    out.append(n)
            elif not task.done and task in runq:
                out.append(n)
        if kt:
            out += [self.name_of(t) for t in kt]
        return out

    def step(self, name: str, footprint: bool = True) -> tuple[str, Footprint]:
        """One step of thread ``name``: (result, canonical footprint).  The result is "point"
        (it can go on), "sleep" (it blocked), "done" (its last line ended).

        ``footprint=False`` when the caller knows the footprint already (the search replaying
        the prefix it shares with the previous execution): the step runs the same, and
        :data:`EMPTY` is returned instead of a footprint built again."""
        sched = self.sched
        fp: set[Any] = set()
        marks = self.marks.get(name)  # None: a kernel-started task
        if marks is not None:
            nmarks = len(marks)
            t = self.cur[name]
        else:
            nmarks = 0
            t = self.tasks.get(name)
        held0 = list(t.held) if footprint and t is not None else []
        sched.footprint = fp
        try:
            if t is None:
                t = self._start(name)
                r = "done" if t is None else sched.step(t)
            else:
                r = sched.step(t)
            if r == "stop":  # a debugger stop (a job started stopped): still runnable
                r = "point"
        finally:
            sched.footprint = None
        ann0 = self.announced.get(name)
        ann1 = _announced(t) if r == "point" and t is not None else None
        self.announced[name] = ann1
        if marks is not None:
            if r == "done" and t is not None:
                self._finish(name, t)
            if self.cur[name] is None:
                r = "point" if self.next_line[name] < len(self.lines[name]) else "done"
        self.steps += 1
        if not footprint:
            return r, EMPTY
        mm = self.mm_names
        w: list[Any] = []
        a: list[Any] = []
        if marks is not None and len(marks) != nmarks:
            w.append(LINES_KEY)
        for key in fp:
            if type(key) is tuple and len(key) == 2 and isinstance(key[0], RwSem):
                # (sem, mode), should the kernel note the mode itself
                sem = key[0]
                ck = ("sem", sem.name, sem.label)
                if key[1] == "R":
                    a.append(ck)
                    if sem.name == "mmap_lock":
                        a.append(("mm", sem.label))
                else:
                    w.append(ck)
                continue
            if type(key) is tuple:
                if key and key[0] == "mm" and type(key[1]) is int and key[1] not in mm:
                    self._refresh_mm()
                w.append(canon_key(key, mm))
            elif isinstance(key, RwSem):
                ck = ("sem", key.name, key.label)
                if key.name == "mmap_lock":
                    # page-table walks under mmap_lock (GUP, user access: lookup_pte) note
                    # nothing themselves; zaps and inserts note ("mm", ...): count a step that
                    # took the process's mmap_lock as reading its page tables
                    a.append(("mm", key.label))
                if t is not None and _read_only(key, t, held0, ann0, ann1):
                    a.append(ck)
                else:
                    w.append(ck)
            else:
                w.append(canon_key(key, mm))
        wf = frozenset(w)
        return r, Footprint(wf, wf.union(a))

    def _start(self, name: str) -> Task | None:
        """``start LINE``: parse the thread's next line and spawn its task (None: the line ran
        at once, or failed and ended the thread)."""
        s = self.s
        i = self.next_line[name]
        text = self.lines[name][i]
        self.next_line[name] = i + 1
        marks = self.marks[name]
        try:
            if s.proc is None and lookup(split(text).words[0].text).needs_process:
                raise ArgError(f"process {s.proc_name} has exited")
            _cmd, out = s.compile(text)
        except (ArgError, LexError, IndexError) as e:
            marks.append(LineMark("start", i, False))
            marks.append(LineMark("end", i, False, ERROR, str(e)))
            self.next_line[name] = len(self.lines[name])  # the thread ends
            return None
        if not isinstance(out, Syscall):
            marks.append(LineMark("start", i, False))
            marks.append(LineMark("end", i, False, DONE, ""))
            return None
        marks.append(LineMark("start", i, True))
        t = s.spawn(out, text)
        self.cur[name] = t
        self.names[id(t)] = name
        self._syscalls[id(t)] = out
        return t

    def _finish(self, name: str, t: Task) -> None:
        """The line's task ended: what the shell does when a job ends."""
        out = self._syscalls.pop(id(t), None)
        i = self.next_line[name] - 1
        ret = t.result
        if not isinstance(ret, Ret):
            ret = Ret(0, ret)
        if t.killed:
            self.marks[name].append(LineMark("end", i, True, ERROR, f"killed by {t.killed}"))
        elif ret.err:
            self.marks[name].append(LineMark("end", i, True, ERROR, strerror(ret.err)))
        else:
            if out is not None and out.on_done is not None:
                out.on_done(ret)
            self.marks[name].append(LineMark("end", i, True, DONE, "; ".join(ret.lines)))
        self.cur[name] = None

    def _refresh_mm(self) -> None:
        k = self.k
        for p in list(k.processes.values()) + list(k.dead.values()):
            mm = getattr(p, "mm", None)
            if mm is not None:
                self.mm_names[id(mm)] = p.name

    def close(self) -> None:
        """End the tasks still alive (:func:`.snapshot.close_tasks`): the execution is over."""
        close_tasks(self.sched)

    def outcome(self) -> checks.Outcome:
        return checks.outcome(self.k)

    def is_bad(self, o: checks.Outcome) -> bool:
        """Is this execution, ended with outcome ``o``, bad (see :class:`Problem`)?"""
        return self.problem.is_bad(self.s, o)
