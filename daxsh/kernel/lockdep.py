"""Models kernel/locking/lockdep.c: lock classes, the order they are taken in, and the report of a
possible circular locking dependency (CONFIG_PROVE_LOCKING).

Every sleeping lock the model takes (``locks.RwSem``: ``i_rwsem``, ``invalidate_lock``,
``mmap_lock``, ``s_umount``, the freeze levels ...) belongs to a lock *class*, named as lockdep
names it (``&mm->mmap_lock``, ``&sb->s_type->i_mutex_key``, ``sb_writers`` ...).  Acquiring a
lock of class B while holding one of class A records the dependency A -> B with the stack of
that acquisition (lockdep's ``check_prev_add``).  When the dependencies of all tasks together
contain a cycle, lockdep prints "WARNING: possible circular locking dependency detected" with
the acquisition that closed it, the existing chain in reverse order (each link with the stack
that recorded it), the unsafe scenario, and the locks held -- on an execution that did not
deadlock as well as on one that did.  One report per boot: lockdep turns itself off after it.

What the model simplifies, said here once:

* Read and write acquisitions both record dependencies (rwsem ``down_read`` is a
  non-recursive read in lockdep, which it also checks for cycles); the read/write refinement of
  the BFS (-(ER)->, -(SN)-> ...) is not modelled.
* Each task records its own dependencies (``Lockdep.deps``, keyed by task id: only that task
  writes its entry, so recording needs no footprint and any two orders of independent steps
  record the same).  When a task ends, its dependencies join those of the ended tasks
  (``Lockdep.ended``: for each edge the earliest (time, task id), the one :meth:`graph` picks;
  a minimum commutes, so exits in any order give the same, and the graph is the same before
  and after), so a long session keeps one entry per pair of lock classes, not a table per
  task.  The graph and the report are computed from the union when the kernel log or the
  outcome is read; the report is stamped with the time of the acquisition that closed
  the cycle, chosen deterministically (the latest such acquisition, then the highest task id).
* The freezer's hold of the freeze levels is hidden from lockdep once ``freeze_super`` is done
  and taken back at thaw without a dependency check, as ``lockdep_sb_freeze_release`` /
  ``lockdep_sb_freeze_acquire`` (a trylock) do (tl:fs/super.c@v6.1).
* Lock usage bits (``{++++}``) and wait types are not printed; instance addresses are not
  printed (the model has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from .locks import RwSem
    from .machine import Kernel
    from .sched import Task

BANNER = "======================================================"
RULE = "------------------------------------------------------"

# lock class names, as lockdep prints them (tl:fs/inode.c@v6.1 inode_init_always lines
# 196-216 and 1111, tl:fs/super.c@v6.1 sb_writers_name line 47; mm_init: &mm->mmap_lock)
_CLASS = {
    "mmap_lock": "&mm->mmap_lock",
    "mmap_sem": "&mm->mmap_sem",
    "invalidate_lock": "mapping.invalidate_lock",
    "i_mmaplock": "&ip->i_mmaplock",
    "i_mmap_sem": "&ei->i_mmap_sem",
    "dax_sem": "&ei->dax_sem",
    "s_umount": "&type->s_umount_key",
    "i_aops_sem": "&inode->i_aops_sem",
}
_FREEZE_LEVELS = {"SB_FREEZE_WRITE": "sb_writers", "SB_FREEZE_PAGEFAULT": "sb_pagefaults",
                  "SB_FREEZE_FS": "sb_internal"}


def lock_class(sem: RwSem) -> str:
    """The lockdep class of a lock: one per kind of lock, not per instance; a directory's
    ``i_rwsem`` has its own class (``i_mutex_dir_key``)."""
    if sem.klass:
        return sem.klass
    if sem.name == "i_rwsem":
        return "&sb->s_type->i_mutex_key"
    if sem.name == "sb_writers":
        return _FREEZE_LEVELS.get(sem.label.split()[-1], "sb_writers")
    return _CLASS.get(sem.name, f"&{sem.name}")


@dataclass(frozen=True)
class Dep:
    """The first time a task took ``after`` while holding ``before``."""

    before: str
    after: str
    tid: int
    comm: str
    time: int
    stack: tuple[str, ...]  # the call stack of the acquisition of ``after``
    before_at: str  # where ``before`` had been taken
    held: tuple[tuple[str, str], ...]  # (class, where) of every lock held then, in order


class Lockdep:
    def __init__(self) -> None:
        self.deps: dict[int, dict[tuple[str, str], Dep]] = {}  # tid -> its dependencies
        self.ended: dict[tuple[str, str], Dep] = {}  # the ended tasks' dependencies, merged
        self.sites: dict[int, dict[Any, str]] = {}  # tid -> lock key -> where it was taken
        self.hidden: dict[int, list[Any]] = {}  # tid -> keys lockdep no longer counts as held

    # -- recording (called from locks._down and _release) ------------------------------------
    def acquire(self, t: Task, sem: RwSem, func: str) -> None:
        """``lock_acquire`` before the lock is granted (or waited for)."""
        k = t.k
        where = next((f for f in reversed(t.stack) if f != func), "?")
        sites = self.sites.setdefault(t.tid, {})
        hidden = self.hidden.get(t.tid, ())
        held = [(s, m) for s, m in t.held if s.key not in hidden]
        if held:
            mine = self.deps.setdefault(t.tid, {})
            cls = lock_class(sem)
            held_info = tuple((lock_class(s), sites.get(s.key, "?")) for s, _m in held)
            for s, _m in held:
                edge = (lock_class(s), cls)
                if edge[0] == edge[1] or edge in mine:
                    continue  # same class nesting is annotated in the kernel; first record only
                mine[edge] = Dep(edge[0], cls, t.tid, t.comm, k.clock.now,
                                 (*t.stack, func), sites.get(s.key, "?"), held_info)
        sites[sem.key] = where

    def release(self, t: Task, sem: RwSem) -> None:
        sites = self.sites.get(t.tid)
        if sites is not None and not any(s is sem for s, _m in t.held):
            sites.pop(sem.key, None)

    def hide(self, t: Task, sems: Any) -> None:
        """``lockdep_sb_freeze_release``: the freezer keeps the levels, lockdep forgets them."""
        self.hidden.setdefault(t.tid, []).extend(s.key for s in sems)

    def unhide(self, t: Task, sems: Any) -> None:
        """``lockdep_sb_freeze_acquire``: taken back as a trylock (no dependency recorded)."""
        h = self.hidden.get(t.tid)
        if h:
            for s in sems:
                if s.key in h:
                    h.remove(s.key)

    def task_exit(self, t: Task) -> None:
        """The task ended: its dependencies join the ended tasks', its lock sites go."""
        _merge(self.ended, self.deps.pop(t.tid, {}))
        self.sites.pop(t.tid, None)
        self.hidden.pop(t.tid, None)

    # -- the graph and the report --------------------------------------------------------------
    def graph(self) -> dict[tuple[str, str], Dep]:
        """The union of every task's dependencies; for an edge recorded by several tasks, the
        earliest (time, task id)."""
        out = dict(self.ended)
        for tid in sorted(self.deps):
            _merge(out, self.deps[tid])
        return out

    def find(self) -> tuple[Dep, list[Dep]] | None:
        """The acquisition that closes a cycle and the existing chain it closes: (the closing
        dependency prev -> next, the path next -> ... -> prev)."""
        g = self.graph()
        succ: dict[str, list[str]] = {}
        for a, b in sorted(g):
            succ.setdefault(a, []).append(b)
        closing: list[tuple[Dep, list[Dep]]] = []
        for (prev, nxt), d in sorted(g.items()):
            path = _path(succ, nxt, prev)
            if path is not None:
                chain = [g[(path[i], path[i + 1])] for i in range(len(path) - 1)]
                closing.append((d, chain))
        if not closing:
            return None
        # the dependency recorded last is the one whose acquisition found the cycle
        return max(closing, key=lambda c: (c[0].time, c[0].tid, c[0].before, c[0].after))

    def report(self, k: Kernel) -> tuple[int, list[str]] | None:
        found = self.find()
        if found is None:
            return None
        d, chain = found
        src, tgt = d.after, d.before  # trying to acquire src while holding tgt
        ver = k.config.base[1:]
        lines = ["", BANNER, "WARNING: possible circular locking dependency detected",
                 f"{ver} #1 Not tainted", RULE,
                 f"{d.comm}/{d.tid} is trying to acquire lock:",
                 f"({src}), at: {_caller(d.stack)}", "", "but task is already holding lock:",
                 f"({tgt}), at: {d.before_at}", "",
                 "which lock already depends on the new lock.", "", "",
                 "the existing dependency chain (in reverse order) is:"]
        # entries from the target (prev) back to the source (next), as print_circular_bug does:
        # -> #N prev (the link that reached it), ..., -> #0 next (the current acquisition)
        entries: list[tuple[str, tuple[str, ...]]] = [(c.after, c.stack) for c in reversed(chain)]
        entries.append((src, d.stack))
        for depth, (cls, stack) in zip(range(len(entries) - 1, -1, -1), entries):
            lines += ["", f"-> #{depth} ({cls}):"]
            lines += [f"       {f}" for f in reversed(stack)][:8]
        parent = chain[-1].before if chain else src
        lines += ["", "other info that might help us debug this:", ""]
        if parent != src:
            lines += ["Chain exists of:", f"  {src} --> {parent} --> {tgt}", ""]
        lines += [" Possible unsafe locking scenario:", "",
                  "       CPU0                    CPU1",
                  "       ----                    ----",
                  f"  lock({tgt});",
                  f"                               lock({parent});",
                  f"                               lock({tgt});",
                  f"  lock({src});", "", " *** DEADLOCK ***", ""]
        n = len(d.held)
        lines.append(f"{n} lock{'s' if n != 1 else ''} held by {d.comm}/{d.tid}:")
        lines += [f" #{i}: ({cls}), at: {at}" for i, (cls, at) in enumerate(d.held)]
        lines += ["", "stack backtrace:"]
        lines += [f" {f}" for f in reversed(d.stack)]
        return d.time, lines


def _merge(into: dict[tuple[str, str], Dep], deps: dict[tuple[str, str], Dep]) -> None:
    """Add ``deps`` to ``into`` keeping, for each edge, the earliest (time, task id)."""
    for edge, d in deps.items():
        old = into.get(edge)
        if old is None or (d.time, d.tid) < (old.time, old.tid):
            into[edge] = d


def _caller(stack: tuple[str, ...]) -> str:
    return stack[-2] if len(stack) > 1 else (stack[-1] if stack else "?")


def _path(succ: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """Breadth-first, in name order: the shortest path start -> ... -> goal, or None."""
    prev: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        cur = queue.pop(0)
        if cur == goal:
            out = [cur]
            while prev[out[-1]] is not None:
                out.append(prev[out[-1]])  # type: ignore[arg-type]
            return list(reversed(out))
        for nx in succ.get(cur, ()):
            if nx not in prev:
                prev[nx] = cur
                queue.append(nx)
    return None
