"""A toy concurrent program for testing the search algorithms apart from the kernel model:
threads run lists of operations on shared variables and locks, each operation one event with an
exact footprint.  ``lock`` blocks when the lock is held (the task joins the lock's queue: an
event that sleeps), ``unlock`` hands the lock to the first waiter and wakes it, as the model's
rwsems do."""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from daxsh.kernel.footprint import C, Footprint, R, W

Op = tuple[str, str]  # ("r"|"w"|"c"|"lock"|"unlock", name)


class ToyEvent(NamedTuple):
    result: str
    fp: Footprint
    tid: int
    points: int = 1
    kernel: bool = False


class ToyRun:
    def __init__(self, program: dict[str, list[Op]]) -> None:
        self.program = program
        self.threads = list(program)
        self.pc = dict.fromkeys(program, 0)
        self.vars: dict[str, Any] = {}
        self.logs: dict[str, list[Any]] = {t: [] for t in program}  # what each read saw
        self.owner: dict[str, str | None] = {}
        self.queue: dict[str, list[str]] = {}
        self.asleep: set[str] = set()
        self.waiting: set[str] = set()
        self.killed: set[str] = set()
        self.tids = {t: i + 1 for i, t in enumerate(program)}

    def enabled(self) -> list[str]:
        return [t for t in self.threads if self.pc[t] < len(self.program[t])
                and t not in self.asleep]

    def step(self, name: str, footprint: bool = True) -> ToyEvent:
        op, x = self.program[name][self.pc[name]]
        fp: dict[Any, int] = {("task", self.tids[name]): R}
        result = "point"
        advance = True
        if name in self.killed:  # a fatal signal: the thread ends (dropping its lock)
            self.pc[name] = len(self.program[name])
            for lk, who in self.owner.items():
                if who == name:
                    fp[("lock", lk)] = W
                    self._handoff(lk, fp)
            return ToyEvent("done", Footprint.of(fp), self.tids[name])
        if op == "kill":
            fp[("task", self.tids[x])] = W
            if self.pc[x] < len(self.program[x]):
                self.killed.add(x)
                if x in self.asleep:  # woken to die (it leaves the lock's queue)
                    fp[("wake", self.tids[x])] = W
                    self.asleep.discard(x)
                    self.waiting.discard(x)
                    for lk, q in self.queue.items():
                        if x in q:
                            fp[("lock", lk)] = W
                            q.remove(x)
        elif op == "r":
            fp[x] = R
            self.logs[name].append(self.vars.get(x))
        elif op == "w":  # the writer's mark, and the commuting counter reset
            fp[x] = W
            self.vars[x] = ((name, self.pc[name]), 0)
        elif op == "c":  # the counter goes up
            fp[x] = C
            w, n = self.vars.get(x, (None, 0))
            self.vars[x] = (w, n + 1)
        elif op == "lock":
            if name in self.waiting:  # handed over while it slept: it holds the lock now
                fp[("lock", x)] = R
                self.waiting.discard(name)
            elif self.owner.get(x) is None:
                fp[("lock", x)] = W
                self.owner[x] = name
            else:
                fp[("lock", x)] = W
                self.queue.setdefault(x, []).append(name)
                self.asleep.add(name)
                self.waiting.add(name)
                result = "sleep"
                advance = False
        elif op == "unlock":
            fp[("lock", x)] = W
            self._handoff(x, fp)
        if advance:
            self.pc[name] += 1
            if self.pc[name] >= len(self.program[name]):
                result = "done"
        return ToyEvent(result, Footprint.of(fp), self.tids[name])

    def _handoff(self, x: str, fp: dict[Any, int]) -> None:
        q = self.queue.get(x)
        if q:
            nxt = q.pop(0)
            self.owner[x] = nxt
            self.asleep.discard(nxt)
            fp[("task", self.tids[nxt])] = W
            fp[("wake", self.tids[nxt])] = W
        else:
            self.owner[x] = None

    def pending(self) -> list[str]:
        return []

    def close(self) -> None:
        pass

    def state(self) -> tuple[Any, ...]:
        return (tuple(sorted(self.vars.items(), key=repr)),
                tuple(sorted((t, tuple(v)) for t, v in self.logs.items())))


def random_program(rng: random.Random, threads: int = 3, length: int = 3, names: int = 3,
                   locks: bool = True, kills: bool = False) -> dict[str, list[Op]]:
    prog: dict[str, list[Op]] = {}
    for i in range(threads):
        ops: list[Op] = []
        held = False
        for _ in range(length):
            kinds = ["r", "w", "c"] + (["lock"] if locks and not held else []) + \
                (["kill"] if kills and threads > 1 else [])
            k = rng.choice(kinds)
            if k == "kill":
                ops.append(("kill", f"t{rng.choice([j for j in range(threads) if j != i])}"))
                continue
            if k == "lock":
                ops.append(("lock", "L"))
                held = True
                continue
            ops.append((k, rng.choice("xyz"[:names])))
            if held and rng.random() < 0.5:
                ops.append(("unlock", "L"))
                held = False
        if held:
            ops.append(("unlock", "L"))
        prog[f"t{i}"] = ops
    return prog
