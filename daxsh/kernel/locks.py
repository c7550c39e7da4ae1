"""Models kernel/locking/rwsem.c and percpu-rwsem.c: sleeping locks, ``struct rw_semaphore``
with recorded holders and a FIFO of waiters.

Acquisition is a preemption point.  A contended acquisition sleeps in TASK_UNINTERRUPTIBLE; the
releaser hands the lock to the waiters at the head of the queue (one writer, or every reader up to
the next writer), as the kernel's rwsem handoff does, so a waiting writer blocks later readers.

Footprints (kernel/footprint.py) name two parts of an rwsem: its owner and queue of waiters
(``key``) and its set of readers (``rkey``).  A reader joining or leaving the set is a commuting
update, so two ``down_read``s (two faults under ``mmap_lock``) commute; a writer, a contended
acquisition (it joins the queue), and a release that hands the lock on write the owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .footprint import C, R
from .sched import SCHEDULE, TASK_RUNNING, TASK_UNINTERRUPTIBLE, Point, Wait

if TYPE_CHECKING:
    from .machine import Kernel
    from .sched import KGen, Task

READ = "R"
WRITE = "W"


class RwSem:
    """``struct rw_semaphore`` (``i_rwsem``, ``invalidate_lock``, ``mmap_lock``, ``s_umount``)."""

    __slots__ = ("key", "klass", "label", "name", "readers", "rkey", "waiting", "writer")

    def __init__(self, name: str, label: str, klass: str = "") -> None:
        self.name = name  # kernel field name: "i_rwsem", "invalidate_lock", ...
        self.label = label  # whose: "ino 131", "sh"
        self.klass = klass  # its lockdep class, when not the default of its name (lockdep.py)
        self.key = ("sem", name, label)  # owner and waiters
        self.rkey = ("sem", name, label, "r")  # the set of readers
        self.readers: list[Task] = []  # a set: its order is never observed
        self.writer: Task | None = None
        self.waiting: list[tuple[Task, str]] = []

    def __repr__(self) -> str:
        return f"{self.name}({self.label})"

    def tr(self) -> str:
        return f"{self.name} {self.label}"

    def holders(self) -> list[tuple[Task, str]]:
        if self.writer is not None:
            return [(self.writer, WRITE)]
        return [(t, READ) for t in sorted(self.readers, key=lambda x: x.tid)]

    def is_locked(self) -> bool:
        return self.writer is not None or bool(self.readers)

    def held_by(self, t: Task, mode: str | None = None) -> bool:
        if self.writer is t:
            return mode in (None, WRITE)
        return t in self.readers and mode in (None, READ)

    def _can(self, mode: str) -> bool:
        if self.writer is not None or self.waiting:
            return False
        return mode == READ or not self.readers

    def _grant(self, t: Task, mode: str) -> None:
        if mode == WRITE:
            self.writer = t
        else:
            self.readers.append(t)
        t.held.append((self, mode))

    def _handoff(self, k: Kernel) -> None:
        if self.waiting:
            k.sched.note(self.key)
            k.sched.note(self.rkey, R)
        while self.waiting:
            t, mode = self.waiting[0]
            if mode == WRITE:
                if self.writer is None and not self.readers:
                    self.waiting.pop(0)
                    self._grant(t, mode)
                    k.sched.wake(t)
                return
            if self.writer is not None:
                return
            self.waiting.pop(0)
            self._grant(t, mode)
            k.sched.wake(t)


def _down(t: Task, sem: RwSem, mode: str, func: str) -> KGen:
    k = t.k
    sched = k.sched
    if t.stopped or sched.footprint is not None:  # a preemption point (see sched.preempt)
        yield Point(func)
    k.lockdep.acquire(t, sem, func)  # lock_acquire: record the order (task-local, no footprint)
    if sem._can(mode):
        if sched.footprint is not None:
            if mode == READ:  # no writer, nobody queued: join the readers
                sched.note(sem.key, R)
                sched.note(sem.rkey, C)
            else:  # no owner, no reader: take it
                sched.note(sem.key)
                sched.note(sem.rkey, R)
        sem._grant(t, mode)
        k.trace(t, func, sem)
        return
    sched.note(sem.key)  # queued behind the owner
    sched.note(sem.rkey, R)
    k.trace(t, func, sem, contended=True)
    sem.waiting.append((t, mode))
    holders = ", ".join(f"{h.comm}:{h.tid} ({m})" for h, m in sem.holders()) or "waiters ahead"
    t.wait = Wait("lock", sem, f"{sem.tr()} ({mode})", func, f"held by {holders}")
    while not sem.held_by(t, mode):
        t.state = TASK_UNINTERRUPTIBLE
        yield SCHEDULE
    sched.note(sem.key, R)  # handed over by the releaser, which wrote the owner
    t.state = TASK_RUNNING
    t.wait = None


def down_read(t: Task, sem: RwSem) -> KGen:
    return _down(t, sem, READ, "down_read")


def down_write(t: Task, sem: RwSem) -> KGen:
    return _down(t, sem, WRITE, "down_write")


def _release(t: Task, sem: RwSem, mode: str, func: str) -> None:
    k = t.k
    sched = k.sched
    k.trace(t, func, sem)
    if mode == WRITE and sem.writer is t:
        sched.note(sem.key)
        sem.writer = None
    elif mode == READ and t in sem.readers:
        # leave the readers; whether a queued writer gets the lock depends on who is left
        sched.note(sem.key, R)
        sched.note(sem.rkey, C | R if sem.waiting else C)
        sem.readers.remove(t)
    else:
        # DEBUG_RWSEMS / lockdep would complain; the kernel carries on.
        k.warn(t, "kernel/locking/rwsem.c", func, f"DEBUG_RWSEMS_WARN_ON: {sem.tr()} not held by "
               f"{t.comm}/{t.tid} (bad unlock balance)", message=True)
        return
    for i, (s, m) in enumerate(t.held):
        if s is sem and m == mode:
            del t.held[i]
            break
    k.lockdep.release(t, sem)
    sem._handoff(k)


def up_read(t: Task, sem: RwSem) -> None:
    _release(t, sem, READ, "up_read")


def up_write(t: Task, sem: RwSem) -> None:
    _release(t, sem, WRITE, "up_write")


def percpu_down_read(t: Task, sem: RwSem) -> KGen:
    """``percpu_down_read`` (``sb_start_write`` and friends): a reader that blocks while a
    writer (a freezer) holds or waits for the semaphore."""
    return _down(t, sem, READ, "percpu_down_read")


def percpu_down_write(t: Task, sem: RwSem) -> KGen:
    """``percpu_down_write`` (``freeze_super``'s ``sb_wait_write``): waits for every reader."""
    return _down(t, sem, WRITE, "percpu_down_write")


def percpu_up_read(t: Task, sem: RwSem) -> None:
    _release(t, sem, READ, "percpu_up_read")


def percpu_up_write(t: Task, sem: RwSem) -> None:
    _release(t, sem, WRITE, "percpu_up_write")


def release_all(t: Task) -> None:
    """Drop every lock a dying task holds (only used when a task is killed while stopped)."""
    for sem, mode in list(t.held):
        _release(t, sem, mode, "up_write" if mode == WRITE else "up_read")
