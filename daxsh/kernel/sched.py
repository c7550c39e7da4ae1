"""Models kernel/sched (core.c, wait.c) and kernel/time/timer.c's ``msleep_interruptible``:
tasks as generators, wait queues and the deterministic scheduler.

Every kernel path that can sleep is a generator.  It yields at each point where the real kernel
can sleep or be preempted:

* ``yield Point(...)`` -- a preemption point (``cond_resched()``, the gap between two steps the
  threads argue about).  The task stays runnable.
* ``yield SCHEDULE`` -- ``schedule()``.  If the task set its state to sleeping
  (``prepare_to_wait``) and nobody woke it since, it blocks until a ``wake_up``.

The scheduler is deterministic: by default the task that runs keeps the CPU until it sleeps or
ends (a preemption point does not switch tasks), then the oldest runnable task runs.  Front-ends
(``step``), breakpoints and the explorer choose differently through :meth:`Scheduler.step`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from .footprint import C, R, W

if TYPE_CHECKING:
    from .machine import Kernel
    from .mm.mmap import Process

TASK_RUNNING = "R"
TASK_INTERRUPTIBLE = "S"
TASK_UNINTERRUPTIBLE = "D"

HUNG_TASK_TIMEOUT_NS = 120 * 1_000_000_000

KGen = Generator[Any, None, Any]


class Point:
    """A preemption point: the task may be switched out here."""

    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where


class _Schedule:
    __slots__ = ()

    def __repr__(self) -> str:
        return "SCHEDULE"


SCHEDULE = _Schedule()


class Wait:
    """What a sleeping task waits for, as `why` and the waiters view show it."""

    __slots__ = ("cond", "func", "kind", "obj", "text")

    def __init__(self, kind: str, obj: Any, text: str, func: str, cond: str = "") -> None:
        self.kind = kind  # "lock", "var", "entry", "timer", "lease", "freeze", "umount"
        self.obj = obj
        self.text = text
        self.func = func
        self.cond = cond


class WaitQueue:
    """``wait_queue_head_t``: an ordered list of sleeping tasks.  ``name`` is unique in the
    machine (it is the queue's footprint key)."""

    __slots__ = ("key", "name", "waiters")

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = ("wq", name)
        self.waiters: list[Task] = []

    def wake_up(self, k: Kernel, nr: int = 0) -> None:
        """Wake every waiter (``nr == 0``) or the first ``nr`` of them."""
        sched = k.sched
        if sched.footprint is not None:
            sched.note(self.key, R)
        woken = self.waiters if nr == 0 else self.waiters[:nr]
        for t in list(woken):
            sched.wake(t)


class Task:
    """A ``task_struct``: one syscall or kernel thread, run as a generator."""

    __slots__ = (
        "blocked_since",
        "cmdline",
        "comm",
        "done",
        "gen",
        "held",
        "hung_reported",
        "job",
        "k",
        "killed",
        "memalloc",
        "note",
        "on_wq",
        "point",
        "proc",
        "result",
        "send_value",
        "sigpending",
        "stack",
        "state",
        "stop_reason",
        "stopped",
        "tid",
        "timer",
        "wait",
    )

    def __init__(self, k: Kernel, tid: int, comm: str, proc: Process | None, cmdline: str) -> None:
        self.k = k
        self.tid = tid
        self.comm = comm
        self.proc = proc
        self.cmdline = cmdline
        self.gen: KGen | None = None
        self.state = TASK_RUNNING
        self.wait: Wait | None = None
        self.on_wq: list[WaitQueue] = []
        self.blocked_since = 0
        self.hung_reported = False
        self.stack: list[str] = []
        self.held: list[Any] = []  # lock holds, in acquisition order
        self.result: Any = None
        self.done = False
        self.killed = ""  # signal name that ended the task
        self.stopped = False  # stopped by the debugger (start/step/break)
        self.stop_reason = ""
        self.sigpending: list[str] = []
        self.job = 0
        self.timer: int | None = None
        self.memalloc = False  # PF_MEMALLOC: in direct reclaim
        self.send_value: Any = None
        self.note = ""  # a remark for the command's output (e.g. foreign data read)
        self.point: Point | None = None  # where it stopped last: what its next step touches

    @property
    def name(self) -> str:
        return f"{self.comm}:{self.tid}"

    def signal_pending(self) -> bool:
        return bool(self.sigpending)

    def fatal_signal_pending(self) -> bool:
        return "SIGKILL" in self.sigpending

    def __repr__(self) -> str:
        return f"<Task {self.comm}:{self.tid}>"


class Scheduler:
    """Deterministic run queue, timers and the hung-task detector."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.runq: list[Task] = []
        self.tasks: list[Task] = []  # live tasks, creation order
        self.current: Task | None = None
        self.finished: list[Task] = []  # tasks that ended since the caller last looked
        # explorer: the keys the running step touched, with their modes (kernel/footprint.py)
        self.footprint: dict[Any, int] | None = None
        self.events: list[tuple[Task, str]] = []  # stop/blocked notes for the language layer
        self.retired = False  # the machine is being thrown away (see retire)

    # -- bookkeeping -------------------------------------------------------------------------
    def note(self, key: Any, mode: int = W) -> None:
        """Record that the running step touches the shared object ``key`` in ``mode`` (R, W or
        C of kernel/footprint.py), for the explorer; nothing when nobody records."""
        fp = self.footprint
        if fp is not None:
            fp[key] = fp.get(key, 0) | mode

    def add(self, t: Task, gen: KGen, stopped: bool = False) -> None:
        t.gen = gen
        t.stopped = stopped
        if stopped:
            t.stop_reason = "start"
        self.tasks.append(t)
        self.runq.append(t)
        if self.footprint is not None:
            self.note(("task", t.tid))
            if t.proc is not None:
                self.note(("proc", t.proc.name, "tasks"), C)

    def wake(self, t: Task) -> None:
        """``try_to_wake_up``: make a sleeping task runnable again."""
        if t.done:
            return
        if self.footprint is not None:
            self.note(("task", t.tid))
            if t.state != TASK_RUNNING or t not in self.runq:
                self.note(("wake", t.tid))  # this event makes it runnable
        tb = self.k.trace_buf
        if tb.enabled and (t.state != TASK_RUNNING or t not in self.runq):
            tb.wakeup(self.k.clock.now, self.current, t)
        if t.state != TASK_RUNNING:
            t.state = TASK_RUNNING
        if t not in self.runq:
            self.runq.append(t)

    def blocked(self) -> list[Task]:
        return [t for t in self.tasks if not t.done and t not in self.runq]

    # -- running -----------------------------------------------------------------------------
    def step(self, t: Task) -> str:
        """Resume ``t`` until its next yield.

        Returns ``"point"`` (still runnable), ``"sleep"`` (blocked), ``"stop"`` (breakpoint)
        or ``"done"``.
        """
        k = self.k
        assert t.gen is not None and not t.done
        prev = self.current
        self.current = t
        try:
            value = t.send_value
            t.send_value = None
            y = t.gen.send(value)
        except StopIteration as stop:
            self._finish(t, stop.value)
            return "done"
        except TaskExit as ex:
            self._finish(t, None, killed=ex.signal)
            return "done"
        except Oops as oops:
            k.oops(t, oops)
            self._finish(t, None, killed="oops")
            return "done"
        finally:
            self.current = prev
        t.point = y if isinstance(y, Point) else None
        if y is SCHEDULE:
            if t.state == TASK_RUNNING:
                return "point"
            if t in self.runq:
                self.runq.remove(t)
            t.blocked_since = k.clock.now
            t.hung_reported = False
            return "sleep"
        if t.stopped:
            return "stop"
        return "point"

    def _finish(self, t: Task, value: Any, killed: str = "") -> None:
        t.done = True
        t.state = TASK_RUNNING
        if killed:
            t.killed = killed
        else:
            t.result = value
        if t in self.runq:
            self.runq.remove(t)
        for wq in t.on_wq:
            if t in wq.waiters:
                self.note(wq.key)
                wq.waiters.remove(t)
        t.on_wq.clear()
        self.tasks.remove(t)
        if t.proc is not None:
            self.note(("proc", t.proc.name, "tasks"), C)
        self.finished.append(t)
        self.k.task_exit(t)

    def run(self, first: Task | None = None, limit: int = 1_000_000) -> None:
        """Run until no unstopped task is runnable.

        ``first`` runs first and keeps the CPU until it sleeps, stops or ends; then runnable
        tasks run oldest first, each until it sleeps, stops or ends.
        """
        steps = 0
        t: Task | None = first if first is not None and not first.stopped else None
        while True:
            if self.k.crashed or self.retired:
                return
            if t is None or t.done or t.stopped or t not in self.runq:
                t = next((x for x in self.runq if not x.stopped), None)
                if t is None:
                    return
            r = self.step(t)
            steps += 1
            if steps >= limit:
                raise LivelockError(f"more than {limit} scheduling steps without settling")
            if r != "point":
                t = None

    def retire(self) -> None:
        """Throw the machine away: end every live task here and now, oldest first.

        Each task's body is unwound where it is suspended: :class:`Retired` is thrown into it
        until it ends, so its ``finally`` blocks run (unlocks, iputs) now and in a defined
        order, never later when the garbage collector closes it.  A ``finally`` block that
        sleeps again (re-taking a lock) gets :class:`Retired` at that point too, and a
        simulated failure in one (an :class:`Oops`, a :class:`TaskExit`) ends that task's
        unwinding only: the machine is never run again.  Anything else is a daxsh bug and is
        raised once every task is ended."""
        self.retired = True
        self.footprint = None
        self.k.trace_buf.enabled = False  # the unwinding is no event of the machine's
        self.runq.clear()
        tasks = list(self.tasks)
        for t in tasks:  # first, so that an unlock in one wakes none of the others
            t.done = True
        bug: BaseException | None = None
        for t in tasks:
            gen, t.gen = t.gen, None
            if gen is None:
                continue
            try:
                _unwind(gen)
            except (Oops, TaskExit):
                pass
            except Exception as e:
                bug = bug or e
        self.tasks.clear()
        if bug is not None:
            raise bug

    # -- timers ------------------------------------------------------------------------------
    def next_timer(self) -> int | None:
        due = [t.timer for t in self.tasks if t.timer is not None]
        return min(due) if due else None

    def fire_timers(self, now: int) -> None:
        for t in list(self.tasks):
            if t.timer is not None and t.timer <= now:
                t.timer = None
                self.wake(t)


class Retired(BaseException):
    """Thrown into a task's body where it is suspended when its machine is thrown away
    (:meth:`Scheduler.retire`).  Not ``GeneratorExit``: ``yield from`` passes a thrown
    exception down to the innermost kernel function, while ``GeneratorExit`` would close each
    level separately and fail at the first ``finally`` block that sleeps again.  A
    ``BaseException``, so that no ``except Exception`` of the model's code catches it."""


def _unwind(gen: KGen) -> None:
    """End a task body by throwing :class:`Retired` into it until it has returned: a
    ``finally`` block that sleeps again (re-taking a lock) gets it at that point too."""
    for _ in range(100_000):
        try:  # (an ended body raises it back at once)
            gen.throw(Retired())
        except (Retired, StopIteration):
            return
    raise RuntimeError("a task body does not end when its machine is retired")


class Oops(Exception):
    """The simulated kernel crashed in the running task (caught by the scheduler)."""

    def __init__(self, headline: str, detail: tuple[str, ...] = ()) -> None:
        super().__init__(headline)
        self.headline = headline
        self.detail = detail


class TaskExit(Exception):
    """``do_exit()`` of the running task (a fatal signal)."""

    def __init__(self, signal: str) -> None:
        super().__init__(signal)
        self.signal = signal


class LivelockError(RuntimeError):
    """The model did not settle: a daxsh bug, never a simulated outcome."""


# -- primitives used by kernel code ------------------------------------------------------------


def prepare_to_wait(t: Task, wq: WaitQueue, state: str, wait: Wait) -> None:
    if t not in wq.waiters:
        t.k.sched.note(wq.key)
        wq.waiters.append(t)
        t.on_wq.append(wq)
    t.state = state
    t.wait = wait


def finish_wait(t: Task, wq: WaitQueue) -> None:
    t.state = TASK_RUNNING
    if t in wq.waiters:
        t.k.sched.note(wq.key)
        wq.waiters.remove(t)
    if wq in t.on_wq:
        t.on_wq.remove(wq)
    t.wait = None


def schedule(t: Task) -> KGen:
    """``schedule()``: give up the CPU; sleeps if the task's state is not RUNNING."""
    t.k.trace(t, "schedule")
    yield SCHEDULE


def preempt(t: Task, where: str) -> KGen:
    """A preemption point (``cond_resched()``, or the gap between two steps the threads argue
    about).

    It only yields when someone chooses who runs next: a task being stepped or stopped, or
    the explorer (which records footprints).  Under the default schedule the running task keeps
    the CPU at a preemption point anyway, so not yielding there changes nothing."""
    if t.stopped or t.k.sched.footprint is not None:
        yield Point(where)


def kfunc(fn: Callable[..., KGen]) -> Callable[..., KGen]:
    """Decorate a generator kernel function: trace its entry, keep the call stack, and stop
    at a breakpoint set on its name."""
    name = fn.__name__

    def wrapper(t: Task, *args: Any, **kw: Any) -> KGen:
        k = t.k
        if name in k.absent:  # no such function in this version (kernel/names.py)
            return (yield from fn(t, *args, **kw))
        tb = k.trace_buf
        if tb.enabled:  # Trace.add(), inlined: this runs for every kernel function call
            tb.seq = seq = tb.seq + 1
            slots = tb.slots
            tb.starts.append(len(slots))
            slots += (seq, k.clock.now, t.tid, t.comm, len(t.stack), name, kw or None, len(args),
                      *args)
            if len(slots) > tb.limit:
                tb.trim()
        t.stack.append(name)
        try:
            if k.breakpoints and name in k.breakpoints:
                t.stopped = True
                t.stop_reason = f"breakpoint {name}"
                k.sched.events.append((t, f"breakpoint {name}"))
                yield Point(name)
            return (yield from fn(t, *args, **kw))
        finally:
            if t.stack and t.stack[-1] == name:
                t.stack.pop()

    wrapper.__name__ = name
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__module__ = fn.__module__  # pickled by reference (an operations table holds it)
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    KFUNCS.append(name)
    return wrapper


KFUNCS: list[str] = []  # every generator kernel function: completion source for `break`


def traced(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a plain (non-sleeping) kernel function so its call is traced."""
    name = fn.__name__

    def wrapper(t: Task, *args: Any, **kw: Any) -> Any:
        k = t.k
        if name in k.absent:  # no such function in this version (kernel/names.py)
            return fn(t, *args, **kw)
        tb = k.trace_buf
        if tb.enabled:
            tb.add(k.clock.now, t.tid, t.comm, len(t.stack), name, args, kw)
        t.stack.append(name)
        try:
            return fn(t, *args, **kw)
        finally:
            if t.stack and t.stack[-1] == name:
                t.stack.pop()

    wrapper.__name__ = name
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__module__ = fn.__module__  # pickled by reference (an operations table holds it)
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    TRACED.append(name)
    return wrapper


TRACED: list[str] = []


@kfunc
def msleep_interruptible(t: Task, ns: int) -> KGen:
    t.timer = t.k.clock.now + ns
    wq = WaitQueue(f"timer {t.tid}")
    prepare_to_wait(t, wq, TASK_INTERRUPTIBLE, Wait("timer", None, "timer", "schedule_timeout",
                                                    f"time >= {t.timer}"))
    yield from schedule(t)
    finish_wait(t, wq)
    t.timer = None
    return 0
