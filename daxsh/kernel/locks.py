"""Sleeping locks: ``struct rw_semaphore`` with recorded holders and a FIFO of waiters.

Acquisition is a preemption point.  A contended acquisition sleeps in TASK_UNINTERRUPTIBLE; the
releaser hands the lock to the waiters at the head of the queue (one writer, or every reader up to
the next writer), as the kernel's rwsem handoff does, so a waiting writer blocks later readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sched import (
    SCHEDULE,
    TASK_RUNNING,
    TASK_UNINTERRUPTIBLE,
    KGen,
    Point,
    Task,
    Wait,
    dropped,
)

if TYPE_CHECKING:
    from .machine import Kernel

READ = "R"
WRITE = "W"


class RwSem:
    """``struct rw_semaphore`` (``i_rwsem``, ``invalidate_lock``, ``mmap_lock``, ``s_umount``)."""

    __slots__ = ("label", "name", "readers", "waiting", "writer")

    def __init__(self, name: str, label: str) -> None:
        self.name = name  # kernel field name: "i_rwsem", "invalidate_lock", ...
        self.label = label  # whose: "ino 131", "sh"
        self.readers: list[Task] = []
        self.writer: Task | None = None
        self.waiting: list[tuple[Task, str]] = []

    def __repr__(self) -> str:
        return f"{self.name}({self.label})"

    def tr(self) -> str:
        return f"{self.name} {self.label}"

    def holders(self) -> list[tuple[Task, str]]:
        if self.writer is not None:
            return [(self.writer, WRITE)]
        return [(t, READ) for t in self.readers]

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
    k.sched.note((sem, mode))
    if t.stopped or k.sched.footprint is not None:  # a preemption point (see sched.preempt)
        dropped()
        yield Point(func, ((sem, mode),))  # the explorer reads the mode about to be taken here
    k.sched.note((sem, mode))
    if sem._can(mode):
        sem._grant(t, mode)
        k.trace(t, func, sem)
        return
    k.trace(t, func, sem, contended=True)
    sem.waiting.append((t, mode))
    holders = ", ".join(f"{h.comm}:{h.tid} ({m})" for h, m in sem.holders()) or "waiters ahead"
    t.wait = Wait("lock", sem, f"{sem.tr()} ({mode})", func, f"held by {holders}")
    while not sem.held_by(t, mode):
        t.state = TASK_UNINTERRUPTIBLE
        yield SCHEDULE
    t.state = TASK_RUNNING
    t.wait = None


def down_read(t: Task, sem: RwSem) -> KGen:
    return _down(t, sem, READ, "down_read")


def down_write(t: Task, sem: RwSem) -> KGen:
    return _down(t, sem, WRITE, "down_write")


def _release(t: Task, sem: RwSem, mode: str, func: str) -> None:
    k = t.k
    k.sched.note((sem, mode))
    k.trace(t, func, sem)
    if mode == WRITE and sem.writer is t:
        sem.writer = None
    elif mode == READ and t in sem.readers:
        sem.readers.remove(t)
    else:
        # DEBUG_RWSEMS / lockdep would complain; the kernel carries on.
        k.warn(t, "kernel/locking/rwsem.c", func, f"DEBUG_RWSEMS_WARN_ON: {sem.tr()} not held by "
               f"{t.comm}/{t.tid} (bad unlock balance)")
        return
    for i, (s, m) in enumerate(t.held):
        if s is sem and m == mode:
            del t.held[i]
            break
    sem._handoff(k)


def up_read(t: Task, sem: RwSem) -> None:
    _release(t, sem, READ, "up_read")


def up_write(t: Task, sem: RwSem) -> None:
    _release(t, sem, WRITE, "up_write")


def release_all(t: Task) -> None:
    """Drop every lock a dying task holds (only used when a task is killed while stopped)."""
    for sem, mode in list(t.held):
        _release(t, sem, mode, "up_write" if mode == WRITE else "up_read")
