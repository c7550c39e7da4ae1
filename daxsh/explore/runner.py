"""One execution of a scenario's threads under a schedule the explorer chooses.

A :class:`Problem` is what the explorer decides: a kernel, a machine, the setup lines, the
threads and what counts as bad.  A :class:`Machine` runs the setup once and keeps the state after
it (no task is alive then, so there is no generator to copy).  Every execution starts from that
state put back in place (:mod:`.snapshot`, about 0.03 ms); the other ways, kept for comparison
and as fallbacks, are ``pickle.loads`` of a pickled copy, ``copy.deepcopy`` and replaying the
setup -- see ``benchmarks/bench_explore.py``.  A restored-in-place Machine has one state: a new
:class:`Run` ends the previous one.

A :class:`Run` offers :meth:`Run.step`: one *event* of a thread -- resume its task to the next
preemption point, or start its next line -- and what the event touched (its
:class:`~daxsh.kernel.footprint.Footprint`, the rule of dependency the search uses).  The
granularity is the model's:

* Each line of a thread runs as its own task, started when the thread reaches it -- exactly what
  ``start LINE`` does in the shell -- so that any schedule can be written as ``start`` and
  ``step`` lines and replayed by ``daxsh run``.  The gap between two lines (the return to user
  space) is a preemption point.  A line that cannot be parsed (or whose process has exited) ends
  the thread.
* A step that touched nothing another task can see (only its own task) is not a scheduling
  point: the thread goes on in the same event (nobody could have looked in between).
* Tasks the kernel starts by itself (a process exit) are not threads: as in the shell, which runs
  them after the command that started them, they run within the event that started or woke them,
  until they sleep or end.
* When no thread can run but a timer is pending, the next event is the pseudo-thread
  :data:`TIME`: model time passes to the next timer (a step that touches everything, so nothing
  is reordered across it: every step takes no model time, as in the shell).
* Each thread has its own current process and ``$_`` (``proc`` and a line's value change only
  its own), and allocates pids from its own range, so that two threads starting tasks in either
  order leave the same state.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..kernel import outcomes
from ..kernel.errno import Ret, strerror
from ..kernel.footprint import CRASH, EVERYTHING, Footprint, R, W
from ..kernel.hung_task import check_hung
from ..kernel.sched import LivelockError, Task
from ..lang.hints import ret_lines
from ..lang.lexer import LexError, Line, split
from ..lang.registry import REGISTRY, ArgError, thread_refusal
from ..lang.session import DONE, ERROR, Session, Syscall
from ..scenario.bad import Bad
from .snapshot import Snapshot, Unsupported, close_tasks

TIME = "(time)"  # the pseudo-thread that lets model time pass
PID_BLOCK = 1000  # thread number n allocates pids from (n + 1) * PID_BLOCK
MERGE_LIMIT = 100_000  # invisible steps in a row before the model is taken to be looping


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

    def refusals(self) -> list[str]:
        """The thread lines that cannot run inside a thread, each with its reason."""
        return [f"thread {name}, line {i}: {why}" for name, lines in self.threads.items()
                for i, text in enumerate(lines, 1) if (why := thread_refusal(text))]

    def is_bad(self, s: Session, o: outcomes.Outcome) -> bool:
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


# -- the machine after setup -----------------------------------------------------------------


class Machine:
    """The post-setup state of a :class:`Problem`, rebuilt cheaply for every execution."""

    RESTORES = ("inplace", "pickle", "deepcopy", "replay")

    def __init__(self, problem: Problem, restore: str = "inplace") -> None:
        if restore not in self.RESTORES:
            raise ValueError(f"restore must be one of {', '.join(self.RESTORES)}")
        bad = problem.refusals()
        if bad:
            raise ProblemError("; ".join(bad))
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


class Event(NamedTuple):
    """What one call of :meth:`Run.step` did."""

    result: str  # "point" (the thread can go on), "sleep" (it blocked), "done" (it has ended)
    fp: Footprint
    tid: int  # the task the event ran (0: none, a line that ran at once or time passing)
    points: int  # preemption points of that task it ran through (a `step %N` count)
    kernel: bool  # tasks the kernel started ran within it


@dataclass
class _Ctx:
    """A thread's own shell state: its current process and ``$_``; its pid counter."""

    proc: str
    last: str
    pid: int


_QUERY_FP = Footprint.of({EVERYTHING: R})
NO_FP = Footprint(frozenset(), frozenset(), frozenset())  # a footprint not built
_TIME_FP = Footprint.of({EVERYTHING: W})


class Run:
    """A fresh machine on which the threads are stepped by the caller (see the module doc)."""

    __slots__ = ("_syscalls", "ctx", "cur", "epoch", "jobs", "k", "lines", "machine", "marks",
                 "names", "next_line", "problem", "rank", "s", "sched", "stepping", "steps",
                 "thread_tasks", "threads")

    def __init__(self, machine: Machine, trace: bool = False) -> None:
        self.problem = machine.problem
        self.s = s = machine.fresh(trace)
        self.machine = machine
        self.epoch = machine.epoch
        self.k = k = s.k
        self.sched = k.sched
        self.threads = list(self.problem.threads)
        self.lines = dict(self.problem.threads)
        self.next_line: dict[str, int] = dict.fromkeys(self.threads, 0)
        self.cur: dict[str, Task | None] = dict.fromkeys(self.threads)
        self.names: dict[int, str] = {}  # tid -> thread (or kernel task) name
        self.thread_tasks: set[int] = set()  # tids of the threads' current tasks
        self.marks: dict[str, list[LineMark]] = {n: [] for n in self.threads}
        self.steps = 0
        self.stepping = ""
        self._syscalls: dict[int, Syscall] = {}
        self.jobs: dict[int, int] = {}  # tid -> job number, for jobs alive after setup
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
                self.names[t.tid] = n
                self.thread_tasks.add(t.tid)
                self.marks[n] = []
                self.jobs[t.tid] = job.id
        elif s.proc is None:
            raise ProblemError(f"process {s.proc_name} has exited during setup")
        self.rank: dict[str, int] = {n: i for i, n in enumerate(self.threads)}
        self.ctx: dict[str, _Ctx] = {
            n: _Ctx(s.proc_name, s.last, (i + 1) * PID_BLOCK) for i, n in enumerate(self.threads)}
        self.ctx[TIME] = _Ctx(s.proc_name, s.last, (len(self.threads) + 1) * PID_BLOCK)
        k.pid_alloc = self._alloc_pid

    def _alloc_pid(self) -> int:
        c = self.ctx[self.stepping or TIME]
        c.pid += 1
        return c.pid

    def name_of(self, t: Task) -> str:
        """The thread a task belongs to, or a name for a task the kernel started."""
        return self.names.get(t.tid) or f"{t.comm}:{t.tid}"

    # -- who can run --------------------------------------------------------------------------
    def enabled(self) -> list[str]:
        """Threads that can take a step, in their order; [TIME] when none can but a timer is
        pending; [] when the execution is over."""
        k = self.k
        if self.epoch != self.machine.epoch and self.machine.restore == "inplace":
            raise RuntimeError("this run's machine state was put back for a later run")
        if k.crashed:
            return []
        runq = self.sched.runq
        out = []
        cur = self.cur
        for n in self.threads:
            task = cur[n]
            if task is None:
                if self.next_line[n] < len(self.lines[n]):
                    out.append(n)
            elif not task.done and task in runq:
                out.append(n)
        if not out and self.sched.next_timer() is not None:
            return [TIME]
        return out

    # -- one event ----------------------------------------------------------------------------
    def step(self, name: str, footprint: bool = True) -> Event:
        """One event of thread ``name`` (or :data:`TIME`): see the module docstring.
        ``footprint=False`` when the caller knows the footprint already (a search replaying the
        prefix it shares with the previous execution): :data:`NO_FP` is returned instead."""
        sched = self.sched
        fp: dict[Any, int] = {CRASH: R}
        sched.footprint = fp
        self.stepping = name
        points = 0
        tid = 0
        try:
            if name == TIME:
                self._tick()
                r = "point"
            else:
                r, tid, points = self._step_thread(name, fp)
            kernel = self._run_kernel_tasks(fp)
        finally:
            sched.footprint = None
            self.stepping = ""
        self.steps += 1
        if name == TIME:
            return Event(r, _TIME_FP, 0, 0, kernel)
        return Event(r, Footprint.of(fp) if footprint else NO_FP, tid, points, kernel)

    def _step_thread(self, name: str, fp: dict[Any, int]) -> tuple[str, int, int]:
        sched = self.sched
        t = self.cur[name]
        points = 0
        if t is None:
            t = self._start(name, fp)
            if t is None:  # the line ran at once (or failed): the thread goes on or ends
                return ("point" if self.next_line[name] < len(self.lines[name]) else "done"), 0, 0
        own = ("task", t.tid)
        fp[own] = fp.get(own, 0) | R
        for _ in range(MERGE_LIMIT):
            one: dict[Any, int] = {}
            sched.footprint = one
            r = sched.step(t)
            sched.footprint = fp
            points += 1
            for key, mode in one.items():
                fp[key] = fp.get(key, 0) | mode
            if r == "stop":  # a debugger stop (a job started stopped): still runnable
                r = "point"
            if r != "point" or self.k.crashed or any(key != own for key in one):
                break  # it touched something another task can see: a scheduling point
        else:
            raise LivelockError(f"thread {name} ran {MERGE_LIMIT} steps touching nothing shared")
        if r == "done":
            self._finish(name, t)
            r = "point" if self.next_line[name] < len(self.lines[name]) else "done"
        return r, t.tid, points

    def _tick(self) -> None:
        """Model time passes to the next timer: timers fire, hung tasks are reported."""
        k = self.k
        nxt = self.sched.next_timer()
        if nxt is not None:
            k.clock.now = max(k.clock.now, nxt)
            self.sched.fire_timers(k.clock.now)
        check_hung(k)

    def _run_kernel_tasks(self, fp: dict[Any, int]) -> bool:
        """Run the tasks the kernel started (not threads) until they sleep or end."""
        sched = self.sched
        ran = False
        for _ in range(MERGE_LIMIT):
            if self.k.crashed:
                break
            kts = [t for t in sched.runq if t.tid not in self.thread_tasks and not t.stopped
                   and not t.done]
            if not kts:
                break
            t = min(kts, key=lambda x: x.tid)
            ran = True
            self.names.setdefault(t.tid, f"{t.comm}:{t.tid}")
            fp[("task", t.tid)] = fp.get(("task", t.tid), 0) | R
            sched.step(t)
        else:
            raise LivelockError("the kernel's own tasks do not settle")
        return ran

    def _start(self, name: str, fp: dict[Any, int]) -> Task | None:
        """``start LINE``: parse the thread's next line (with the thread's own process and
        ``$_``) and spawn its task; None when the line ran at once, or failed and ended the
        thread."""
        s = self.s
        ctx = self.ctx[name]
        i = self.next_line[name]
        text = self.lines[name][i]
        self.next_line[name] = i + 1
        marks = self.marks[name]
        s.proc_name, s.last = ctx.proc, ctx.last
        # what parsing reads: the process table, the process's cwd and mappings, and, for an
        # argument that names something the session holds (a pin), that table
        parse_reads = [("procs",), ("proc", ctx.proc), ("proc", ctx.proc, "cwd"), ("vmas", ctx.proc)]
        line: Line | LexError
        try:
            line = split(text)  # lexed once: its command says what parsing reads
        except LexError as e:
            line = e
        cmd0 = REGISTRY.get(line.words[0].text) if isinstance(line, Line) and line.words else None
        if cmd0 is not None and not all(p.type.pure for p in cmd0.params):
            parse_reads.append(("pins",))
        for key in parse_reads:
            fp[key] = fp.get(key, 0) | R
        s.thread = name
        try:
            if isinstance(line, LexError):
                raise line
            if cmd0 is not None and cmd0.needs_process and s.proc is None:
                raise ArgError(f"process {s.proc_name} has exited")
            cmd, out = s.compile(line)
        except (ArgError, LexError, IndexError) as e:
            marks.append(LineMark("start", i, False))
            marks.append(LineMark("end", i, False, ERROR, str(e)))
            self.next_line[name] = len(self.lines[name])  # the thread ends
            return None
        finally:
            s.thread = None
            ctx.proc = s.proc_name
        if not isinstance(out, Syscall):
            # ran at once: a query reads the whole machine; `mem` and `proc` say what they change
            if cmd.name == "mem":
                fp[("memory",)] = W
            elif cmd.name == "proc":
                fp[("procs",)] = W
                fp[("proc", ctx.proc)] = W
            elif not cmd.changes_state:
                for key, mode in _QUERY_FP.modes().items():
                    fp[key] = fp.get(key, 0) | mode
            else:  # pragma: no cover - every other immediate command is refused at load time
                raise ProblemError(f"{cmd.name} cannot run inside a thread")
            marks.append(LineMark("start", i, False))
            marks.append(LineMark("end", i, False, DONE, ""))
            return None
        marks.append(LineMark("start", i, True))
        t = s.spawn(out, text)
        self.cur[name] = t
        self.names[t.tid] = name
        self.thread_tasks.add(t.tid)
        self._syscalls[t.tid] = out
        return t

    def _finish(self, name: str, t: Task) -> None:
        """The line's task ended: what the shell does when a job ends."""
        out = self._syscalls.pop(t.tid, None)
        i = self.next_line[name] - 1
        ret = t.result
        self.thread_tasks.discard(t.tid)
        if not isinstance(ret, Ret):
            ret = Ret(0, ret)
        if t.killed:
            self.marks[name].append(LineMark("end", i, True, ERROR, f"killed by {t.killed}"))
        elif ret.err:
            self.marks[name].append(LineMark("end", i, True, ERROR, strerror(ret.err)))
        else:
            if out is not None and out.on_done is not None:
                ctx = self.ctx[name]
                s = self.s
                s.proc_name = ctx.proc
                self.sched.note(("proc", ctx.proc, "cwd"))
                out.on_done(ret)
            if out is not None and out.value is not None:
                self.ctx[name].last = out.value(ret)
            elif isinstance(ret.value, (str, int)) and ret.value != "":
                self.ctx[name].last = hex(ret.value) if isinstance(ret.value, int) else str(ret.value)
            self.marks[name].append(LineMark("end", i, True, DONE, "; ".join(ret_lines(ret))))
        self.cur[name] = None

    # -- the end ------------------------------------------------------------------------------
    def pending(self) -> list[str]:
        """Threads that could still run when the execution ended (after a crash; [] when it
        ended because none could)."""
        if not self.k.crashed:
            return []
        runq = self.sched.runq
        out = []
        for n in self.threads:
            task = self.cur[n]
            if (task is None and self.next_line[n] < len(self.lines[n])) or \
                    (task is not None and not task.done and task in runq):
                out.append(n)
        return out

    def close(self) -> None:
        """End the tasks still alive (:func:`.snapshot.close_tasks`): the execution is over."""
        self.k.pid_alloc = None
        close_tasks(self.sched)

    def outcome(self) -> outcomes.Outcome:
        return outcomes.outcome(self.k)

    def is_bad(self, o: outcomes.Outcome) -> bool:
        """Is this execution, ended with outcome ``o``, bad (see :class:`Problem`)?"""
        return self.problem.is_bad(self.s, o)


__all__ = ["TIME", "Event", "LineMark", "Machine", "Problem", "ProblemError", "Run",
           "thread_refusal"]
