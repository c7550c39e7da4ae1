"""Detectors over the whole machine (daxsh's own, no kernel file): who waits for whom,
deadlock cycles, corruption (``stray_write``: a device or a stale mapping writes a block that
now belongs to another file; ``blocks_freed``, ``media_write``, ``media_read``), and the
outcome of a run (oops > deadlock > corruption > hung > clean).  Hung tasks are reported by
``hung_task`` (kernel/hung_task.c).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from .config import DAX_REFCOUNT_0
from .footprint import R
from .hint import AgentKind, Hint, HintKind
from .locks import RwSem
from .sched import TASK_RUNNING, TASK_UNINTERRUPTIBLE, Task

if TYPE_CHECKING:
    from collections.abc import Callable

    from .fs.disk import DiskFs
    from .fs.inode import Inode
    from .machine import Kernel
    from .mm.mmap import VMA

OUTCOMES = ("clean", "corruption", "oops", "deadlock", "hung", "lockdep")
# lockdep: "possible circular locking dependency detected" (a WARNING; lockdep.py)
SEVERITY = ("oops", "deadlock", "corruption", "hung", "lockdep", "clean")


def holds(t: Task) -> str:
    """The sleeping locks a task holds, for the one-line summary.  Freeze protection
    (``sb_writers``, taken by ``sb_start_write``/``sb_start_pagefault`` around nearly every
    modification) is left out here; `why` names it when a freezer waits for it."""
    held = [(s, m) for s, m in t.held if s.name != "sb_writers"]
    if not held:
        return "holds nothing"
    return "holds " + ", ".join(f"{s.name} ({m})" for s, m in held)


def describe_wait(t: Task) -> str:
    """One line: where the task sleeps and on what, and what it holds."""
    return "; ".join(wait_parts(t))


def wait_parts(t: Task) -> tuple[str, str]:
    """(where the task sleeps and on what, what it holds)."""
    return _waiting(t), holds(t)


def _waiting(t: Task) -> str:
    w = t.wait
    where = next((f for f in reversed(t.stack) if f not in ("schedule",)), "?")
    if t.stopped and (t.state == TASK_RUNNING or w is None):
        return f"{t.stop_reason or 'stopped'} in {where}"
    if w is None:
        return f"runnable in {where}"
    if w.kind == "var":
        s = f"wait_var_event({w.text}) in {w.func}"
    elif w.kind == "lock":
        s = f"{w.func}({w.text}) in {where}, {w.cond}"
    elif w.kind == "timer":
        s = f"sleeping in {where}"
    else:
        s = f"{w.func}({w.text}) in {where}"
    state = "D" if t.state == TASK_UNINTERRUPTIBLE else "S"
    stop = "; stopped" if t.stopped else ""
    return f"{s} [{state}]{stop}"


@dataclass
class Edge:
    """``waiter`` waits for ``what``; ``task`` can end the wait, or (None) an agent outside the
    kernel: ``kind`` says which, ``agent`` describes it in kernel terms, ``hint`` is what would
    help (data; the language renders it in command syntax)."""

    waiter: Task
    what: str
    task: Task | None  # None: an agent outside the kernel (a device, the user, time)
    agent: str = ""
    kind: AgentKind = AgentKind.TASK
    hint: Hint | None = None


def agent_text(e: Edge) -> str:
    """The agent of an edge with no task, in kernel terms (no hint)."""
    return e.agent


def waits_for(k: Kernel) -> list[Edge]:
    """For each sleeping task, what it waits for and who can end the wait."""
    edges: list[Edge] = []
    for t in k.sched.blocked():
        w = t.wait
        if w is None:
            continue
        if w.kind == "lock" and isinstance(w.obj, RwSem):
            sem: RwSem = w.obj
            hs = [h for h, _m in sem.holders()]
            if not hs:
                ahead = [x for x, _m in sem.waiting if x is not t]
                hs = ahead[:1]
            for h in hs:
                edges.append(Edge(t, w.text, h))
            if not hs:
                edges.append(Edge(t, w.text, None, "nobody (lock free)", AgentKind.NOBODY))
        elif w.kind == "var":
            pfn = getattr(w.obj, "pfn", None)
            found = False
            for pin in k.pins.values():
                if pfn in pin.heads:
                    found = True
                    if pin.releasing is not None and not pin.releasing.done:
                        edges.append(Edge(t, f"{w.text} pinned by {pin.name}", pin.releasing))
                    else:
                        edges.append(Edge(t, f"{w.text} pinned by {pin.name}", None,
                                          f"the device holding {pin.name}", AgentKind.PIN_HOLDER,
                                          Hint(HintKind.UNPIN, pin=pin.name)))
            idle = 0 if k.has(DAX_REFCOUNT_0) else 1
            if not found and getattr(w.obj, "refcount", None) == idle:
                # idle, yet still asleep: the put that made it idle woke no one (a 6.1.y bio's
                # folio_put_refs, stable-bio-put-refs), and nothing else will
                edges.append(Edge(t, w.text, None,
                                  f"nobody: the page is idle (refcount {idle}) but the put that "
                                  "made it idle woke no one; no wake-up will come",
                                  AgentKind.LOST_WAKEUP))
            elif not found:
                edges.append(Edge(t, w.text, None, "a reference nobody holds (mapping refcount)",
                                  AgentKind.STRAY_REFERENCE))
        elif w.kind == "entry":
            owner = getattr(w.obj, "owner", None)
            if isinstance(owner, Task):
                edges.append(Edge(t, w.text, owner, "entry lock"))
            else:
                edges.append(Edge(t, w.text, None, "entry lock", AgentKind.ENTRY_LOCK))
        elif w.kind == "timer":
            edges.append(Edge(t, "timer", None, "time", AgentKind.TIME, Hint(HintKind.PASS_TIME)))
        elif w.kind == "lease":
            edges.append(Edge(t, w.text, None, "the pNFS client or time", AgentKind.PNFS_CLIENT,
                              Hint(HintKind.RETURN_LEASE)))
        elif w.kind == "freeze":
            edges.append(Edge(t, w.text, None, "thaw", AgentKind.THAW))
        elif w.kind == "inode":
            ev = next((x for x in k.sched.tasks if x is not t and "evict" in x.stack), None)
            if ev is not None:
                edges.append(Edge(t, w.text, ev))
            else:
                edges.append(Edge(t, w.text, None, "eviction", AgentKind.EVICTION))
        else:
            edges.append(Edge(t, w.text, None, w.kind, AgentKind.OTHER))
    return edges


def find_cycle(k: Kernel) -> list[Task]:
    succ: dict[int, list[Task]] = {}
    for e in waits_for(k):
        if e.task is not None:
            succ.setdefault(e.waiter.tid, []).append(e.task)
    for start in k.sched.blocked():
        path: list[Task] = [start]
        seen = {start.tid}
        cur = start
        while True:
            nxt = succ.get(cur.tid)
            if not nxt:
                break
            cur = nxt[0]
            if cur.tid == start.tid:
                return path
            if cur.tid in seen:
                break
            seen.add(cur.tid)
            path.append(cur)
    return []


def chain_links(k: Kernel, t: Task, agent: Callable[[Edge], str] = agent_text) -> list[ChainLink]:
    """The waits-for chain from ``t`` to its root (or around its cycle).  ``agent`` words an
    edge's agent when no task holds it: kernel terms by default; the language passes its own,
    which adds the hint in command syntax."""
    edges = waits_for(k)
    by: dict[int, list[Edge]] = {}
    for e in edges:
        by.setdefault(e.waiter.tid, []).append(e)
    out: list[ChainLink] = []
    seen: set[int] = set()
    cur: Task | None = t
    while cur is not None:
        if cur.tid in seen:
            out.append(ChainLink(f"-> {cur.comm}:{cur.tid}  (DEADLOCK: the chain closes on itself)",
                                 "", True))
            break
        seen.add(cur.tid)
        es = by.get(cur.tid, [])
        if not es:
            state = "done" if cur.done else (f"stopped ({cur.stop_reason})" if cur.stopped else "runnable")
            if cur is not t:
                out.append(ChainLink(f"-> {cur.comm}:{cur.tid} ({cur.cmdline}) is {state}", "", False))
            break
        e = es[0]
        who = f"{e.task.comm}:{e.task.tid} ({e.task.cmdline})" if e.task else agent(e)
        since = (k.clock.now - cur.blocked_since) / 1e9
        out.append(ChainLink(f"{cur.comm}:{cur.tid} waits for {e.what}",
                             f"{who} (since {since:.6f}s ago)", False))
        cur = e.task
    return out


class ChainLink(NamedTuple):
    """One link of a waits-for chain: the waiter and what it waits for, and who holds that
    (empty for the chain's end)."""

    head: str
    by: str
    deadlock: bool


def chain(k: Kernel, t: Task, agent: Callable[[Edge], str] = agent_text) -> list[str]:
    """The waits-for chain as lines (``why``, ``show waiters``)."""
    return [f"  {c.head}, held by {c.by}" if c.by else f"  {c.head}" for c in chain_links(k, t, agent)]


@dataclass
class Outcome:
    outcome: str
    found: list[str] = field(default_factory=list)  # every outcome kind seen
    details: list[str] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)


def outcome(k: Kernel) -> Outcome:
    found: dict[str, list[str]] = {}
    for ev in k.events:
        if ev.kind == "corruption":
            found.setdefault("corruption", []).append(ev.text)
        elif ev.kind == "oops":
            found.setdefault("oops", []).append(ev.text)
    if not k.crashed:
        cyc = find_cycle(k)
        if cyc:
            found.setdefault("deadlock", []).append(
                " -> ".join(f"{t.comm}:{t.tid}" for t in cyc) + f" -> {cyc[0].comm}:{cyc[0].tid}")
        stuck = [e for e in waits_for(k) if e.task is None and e.kind is not AgentKind.TIME]
        for e in stuck:
            found.setdefault("hung", []).append(
                f"{e.waiter.comm}:{e.waiter.tid} ({e.waiter.cmdline}) still waits for {e.what}")
        for t in k.sched.blocked():
            if t.state == TASK_UNINTERRUPTIBLE and t.hung_reported and "hung" not in found:
                found.setdefault("hung", []).append(f"{t.comm}:{t.tid} blocked past the hung-task limit")
    found_ld = k.lockdep.find()
    if found_ld is not None:
        d, _chain = found_ld
        found.setdefault("lockdep", []).append(
            f"possible circular locking dependency: {d.comm}/{d.tid} acquires ({d.after}) "
            f"while holding ({d.before})")
    kind = next((s for s in SEVERITY if s in found), "clean")
    details = [f"{kd}: {d}" for kd in SEVERITY if kd in found for d in found[kd]]
    killed = [ev.text for ev in k.events if ev.kind == "killed"]
    return Outcome(kind, [s for s in SEVERITY if s in found], details, killed)

def block_origin(k: Kernel, vma: VMA, vaddr: int, pfn: int) -> tuple[int, int, int, str] | None:
    fs = k.media_fs
    disk = k.nvdimm.disk
    if fs is None or disk is None:
        return None
    block = pfn - k.nvdimm.ns.data_pfn
    k.sched.note(("block", block), R)
    owner = fs.owner(block)
    if owner is None:
        return None
    return fs.uuid, owner[0], owner[1], k.ino_path(fs, owner[0])


def media_write(t: Task, fs: DiskFs, block: int, who: str) -> None:
    k = t.k
    k.sched.note(("block", block))
    fs.foreign.pop(block, None)


def media_read(t: Task, inode: Inode, fblock: int, block: int) -> None:
    k = t.k
    k.sched.note(("block", block), R)
    bad = inode.sb.disk.foreign.get(block)
    if bad is not None:
        k.trace(t, "read_foreign_data", inode, fblock=fblock, block=block, data=bad)
        t.note = f"block {block} holds {bad}"


def stray_write(t: Task, pfn: int, writer: str,
                origin: tuple[int, int, int, str] | None) -> str:
    """A device or a stale mapping writes ``pfn``: corruption if its block now belongs to
    another file than the one it was pinned or mapped from."""
    k = t.k
    fs = k.media_fs
    ns = k.nvdimm.ns
    block = pfn - ns.data_pfn
    k.sched.note(("block", block))  # the device's data lands in it
    k.sched.note(("nvdimm",), R)
    if fs is None or not 0 <= block < ns.npfns:
        return f"{writer} wrote pfn {pfn:#x} (not a filesystem block)"
    owner = fs.owner(block)
    if origin is not None and owner is not None and (fs.uuid, owner[0], owner[1]) == origin[:3]:
        return f"{writer} wrote block {block} (pfn {pfn:#x}) of {origin[3]}, its own"
    was = origin[3] + f" index {origin[2]}" if origin else "no file"
    if owner is None:
        k.trace(t, "dma_to_free_block", block=block, pfn=pfn)
        return f"{writer} wrote block {block} (pfn {pfn:#x}), now free; it was pinned from {was}"
    if block < 16:
        now = f"{fs.fstype} metadata"
    else:
        now = f"{k.ino_path(fs, owner[0])} (ino {owner[0]}) index {owner[1]}"
    fs.foreign[block] = f"data from {writer}"
    text = (f"{writer} wrote block {block} (pfn {pfn:#x}), which now belongs to {now}; "
            f"it was pinned from {was}")
    k.trace(t, "CORRUPTION", text)
    k.event("corruption", text)
    return "CORRUPTION: " + text


def blocks_freed(t: Task, inode: Inode, block: int, n: int) -> None:
    """Note pinned pages whose blocks were just freed: the danger the threads are about."""
    k = t.k
    k.sched.note(("nvdimm",), R)
    pg = k.nvdimm.pgmap
    if pg is None or not pg.present:
        return
    first = k.nvdimm.ns.data_pfn + block
    sched = k.sched
    if sched.footprint is not None:  # the pin counts of the freed range's pages
        for pfn in range(first, first + n):
            sched.note(("ref", pfn), R)
    for pfn, page in sorted(pg.pages.items()):
        if first <= pfn < first + n and page.pincount > 0:
            k.freed_busy[pfn] = f"freed from ino {inode.ino} by {t.comm}:{t.tid}"
            k.trace(t, "block_freed_while_pinned", page, block=pfn - k.nvdimm.ns.data_pfn)
    for pfn in [p for p in k.freed_busy if first <= p < first + n and
                (p not in pg.pages or pg.pages[p].pincount == 0)]:
        k.freed_busy.pop(pfn, None)
