"""rw_semaphore: holders, FIFO waiters, handoff order, and the waits-for graph over locks.

These drive daxsh.kernel directly with small task generators, so each step of the handoff can
be checked against what kernel/locking/rwsem.c does.
"""

from __future__ import annotations

from typing import Any

from daxsh.kernel import outcomes
from daxsh.kernel.config import KernelConfig
from daxsh.kernel.locks import READ, WRITE, RwSem, down_read, down_write, up_read, up_write
from daxsh.kernel.machine import Kernel
from daxsh.kernel.sched import (
    TASK_INTERRUPTIBLE,
    TASK_UNINTERRUPTIBLE,
    Task,
    Wait,
    WaitQueue,
    finish_wait,
    prepare_to_wait,
    schedule,
)


class Gate:
    """A condition a test opens by hand: tasks sleep on it while holding locks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.open = False
        self.wq = WaitQueue(name)

    def wait(self, t: Task) -> Any:
        while True:
            prepare_to_wait(t, self.wq, TASK_INTERRUPTIBLE,
                            Wait("gate", self, self.name, "test_gate_wait", "gate open"))
            if self.open:
                break
            yield from schedule(t)
        finish_wait(t, self.wq)

    def release(self, k: Kernel) -> None:
        self.open = True
        self.wq.wake_up(k)
        k.run()


def holder(sem: RwSem, mode: str, gate: Gate, log: list[str], name: str) -> Any:
    def body(t: Task) -> Any:
        yield from (down_write if mode == WRITE else down_read)(t, sem)
        log.append(f"got {name}")
        yield from gate.wait(t)
        (up_write if mode == WRITE else up_read)(t, sem)
        log.append(f"put {name}")
    return body


def spawn(k: Kernel, name: str, body: Any) -> Task:
    t = k.spawn(name, None, body, name)
    k.run(t)
    return t


def kernel() -> Kernel:
    return Kernel(KernelConfig.parse("v6.15"))


def test_uncontended_down_write_records_the_holder() -> None:
    k = kernel()
    sem = RwSem("i_rwsem", "ino 1")
    log: list[str] = []
    g = Gate("g")
    w = spawn(k, "w", holder(sem, WRITE, g, log, "w"))
    assert log == ["got w"]
    assert sem.holders() == [(w, WRITE)]
    assert sem.writer is w and sem.readers == []
    assert w.held == [(sem, WRITE)]
    assert sem.held_by(w, WRITE) and not sem.held_by(w, READ)
    g.release(k)
    assert log == ["got w", "put w"]
    assert not sem.is_locked()
    assert w.done and w.held == []


def test_readers_share_and_all_are_recorded() -> None:
    k = kernel()
    sem = RwSem("invalidate_lock", "ino 1")
    log: list[str] = []
    g1, g2 = Gate("g1"), Gate("g2")
    r1 = spawn(k, "r1", holder(sem, READ, g1, log, "r1"))
    r2 = spawn(k, "r2", holder(sem, READ, g2, log, "r2"))
    assert log == ["got r1", "got r2"]
    assert sem.holders() == [(r1, READ), (r2, READ)]
    assert sem.waiting == []
    g1.release(k)
    assert sem.holders() == [(r2, READ)]
    assert r1.held == []
    g2.release(k)
    assert not sem.is_locked()


def test_contended_writer_sleeps_uninterruptibly_and_names_the_holder() -> None:
    k = kernel()
    sem = RwSem("i_rwsem", "ino 7")
    log: list[str] = []
    g1, g2 = Gate("g1"), Gate("g2")
    a = spawn(k, "a", holder(sem, READ, g1, log, "a"))
    b = spawn(k, "b", holder(sem, WRITE, g2, log, "b"))
    assert log == ["got a"]
    assert b.state == TASK_UNINTERRUPTIBLE
    assert b in k.sched.blocked()
    assert sem.waiting == [(b, WRITE)]
    assert b.held == []
    assert b.wait is not None and b.wait.kind == "lock" and b.wait.obj is sem
    assert f"held by a:{a.tid} (R)" in b.wait.cond
    line = outcomes.describe_wait(b)
    assert line.startswith("down_write(i_rwsem ino 7 (W))")
    assert f"held by a:{a.tid} (R)" in line
    assert "[D]" in line and line.endswith("holds nothing")
    # the waits-for graph points from the waiter to the holder
    edges = [e for e in outcomes.waits_for(k) if e.waiter is b]
    assert [e.task for e in edges] == [a]
    assert any(ev.func == "down_write" and "contended=1" in ev.args
               for ev in k.trace_buf.events)
    g1.release(k)
    assert log == ["got a", "put a", "got b"]
    assert sem.holders() == [(b, WRITE)]
    g2.release(k)
    assert log[-1] == "put b"


def test_waiting_writer_blocks_later_readers() -> None:
    """rwsem handoff: once a writer waits, a new reader queues behind it even though only
    readers hold the lock (no writer starvation)."""
    k = kernel()
    sem = RwSem("i_rwsem", "ino 1")
    log: list[str] = []
    g_r1, g_w, g_r2 = Gate("r1"), Gate("w"), Gate("r2")
    r1 = spawn(k, "r1", holder(sem, READ, g_r1, log, "r1"))
    w = spawn(k, "w", holder(sem, WRITE, g_w, log, "w"))
    r2 = spawn(k, "r2", holder(sem, READ, g_r2, log, "r2"))
    assert log == ["got r1"]
    assert sem.holders() == [(r1, READ)]
    assert sem.waiting == [(w, WRITE), (r2, READ)]
    assert r2.state == TASK_UNINTERRUPTIBLE
    # r2 waits for the lock; the chain goes through the holder r1
    assert [e.task for e in outcomes.waits_for(k) if e.waiter is r2] == [r1]
    g_r1.release(k)
    assert sem.holders() == [(w, WRITE)]
    assert sem.waiting == [(r2, READ)]
    g_w.release(k)
    assert sem.holders() == [(r2, READ)]
    g_r2.release(k)
    assert log == ["got r1", "put r1", "got w", "put w", "got r2", "put r2"]


def test_handoff_is_fifo_one_writer_or_readers_up_to_the_next_writer() -> None:
    k = kernel()
    sem = RwSem("i_rwsem", "ino 1")
    log: list[str] = []
    gates = {n: Gate(n) for n in ("w1", "r1", "r2", "w2", "r3")}
    w1 = spawn(k, "w1", holder(sem, WRITE, gates["w1"], log, "w1"))
    r1 = spawn(k, "r1", holder(sem, READ, gates["r1"], log, "r1"))
    r2 = spawn(k, "r2", holder(sem, READ, gates["r2"], log, "r2"))
    w2 = spawn(k, "w2", holder(sem, WRITE, gates["w2"], log, "w2"))
    r3 = spawn(k, "r3", holder(sem, READ, gates["r3"], log, "r3"))
    assert sem.holders() == [(w1, WRITE)]
    assert [t for t, _m in sem.waiting] == [r1, r2, w2, r3]
    gates["w1"].release(k)
    # both readers at the head are granted together; w2 and the reader behind it wait
    assert sem.holders() == [(r1, READ), (r2, READ)]
    assert [t for t, _m in sem.waiting] == [w2, r3]
    gates["r1"].release(k)
    assert sem.holders() == [(r2, READ)]
    assert [t for t, _m in sem.waiting] == [w2, r3]
    gates["r2"].release(k)
    assert sem.holders() == [(w2, WRITE)]
    gates["w2"].release(k)
    assert sem.holders() == [(r3, READ)]
    gates["r3"].release(k)
    assert [x for x in log if x.startswith("got")] == ["got w1", "got r1", "got r2", "got w2",
                                                        "got r3"]
    assert not sem.is_locked() and sem.waiting == []


def test_unlock_of_a_lock_not_held_warns_instead_of_raising() -> None:
    k = kernel()
    sem = RwSem("i_rwsem", "ino 3")

    def body(t: Task) -> Any:
        up_write(t, sem)
        yield from ()

    t = spawn(k, "bad", body)
    assert t.done and not t.killed
    text = "\n".join(k.dmesg.format())
    assert "WARNING: CPU: 0 PID:" in text
    assert "bad unlock balance" in text
    assert any(e.kind == "warn" for e in k.events)


def abba(k: Kernel) -> tuple[Task, Task, RwSem, RwSem]:
    s1 = RwSem("i_rwsem", "ino 1")
    s2 = RwSem("invalidate_lock", "ino 1")
    g = Gate("between")

    def a_body(t: Task) -> Any:
        yield from down_write(t, s1)
        yield from g.wait(t)
        yield from down_write(t, s2)

    def b_body(t: Task) -> Any:
        yield from down_write(t, s2)
        yield from down_write(t, s1)

    a = spawn(k, "a", a_body)
    b = spawn(k, "b", b_body)
    g.release(k)
    return a, b, s1, s2


def test_abba_lock_order_is_a_deadlock_cycle() -> None:
    k = kernel()
    a, b, s1, s2 = abba(k)
    assert not a.done and not b.done
    assert s1.holders() == [(a, WRITE)] and s2.holders() == [(b, WRITE)]
    assert a.state == b.state == TASK_UNINTERRUPTIBLE
    cycle = outcomes.find_cycle(k)
    assert {t.tid for t in cycle} == {a.tid, b.tid}
    o = outcomes.outcome(k)
    assert o.outcome == "deadlock"
    assert any(f"a:{a.tid}" in d and f"b:{b.tid}" in d for d in o.details if d.startswith("deadlock"))
    chain = outcomes.chain(k, a)
    assert any("DEADLOCK" in line for line in chain)


def test_a_plain_wait_chain_is_not_a_deadlock() -> None:
    k = kernel()
    sem = RwSem("i_rwsem", "ino 1")
    log: list[str] = []
    g = Gate("g")
    spawn(k, "a", holder(sem, WRITE, g, log, "a"))
    spawn(k, "b", holder(sem, WRITE, Gate("g2"), log, "b"))
    assert outcomes.find_cycle(k) == []
    o = outcomes.outcome(k)
    assert o.outcome != "deadlock"
