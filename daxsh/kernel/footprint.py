"""Footprints: what one step of a task reads and writes, and the one rule of dependency.

A step is the work a task does between two preemption points (``sched.Point``) or sleeps.  While
the explorer records (``Scheduler.footprint`` is a dict), every kernel path notes each shared
object it touches with :meth:`Scheduler.note` -- a *key* naming the object at the kernel's own
granularity, and a *mode*:

``R``  read: the step's effect depends on the value (a PTE looked up, i_size compared, a lock's
       owner checked).  Two reads commute.
``W``  write: the step changes the value, or reads and changes it.  Depends on every access.
``C``  commuting update: the step changes the value in a way that commutes with every other
       ``C`` of the same key and depends on nothing about it (a reference taken, a reader joining
       an rwsem's reader set, an entry added to an xarray, a line appended to the kernel log).
       ``C`` depends on ``R`` and ``W``.

A step that reads and updates the same key has both bits: only ``R`` alone, or ``C`` alone,
commutes.  Two steps of different tasks are *dependent* when they share a key and their modes of
it do not commute; independent steps can run in either order and leave the same state (that
property is tested, not assumed: ``tests/explore/test_soundness.py``).

The keys, each written where its object is (grep for the key's first word):

==================================  ============================================================
``("task", tid)``                   a task's run state and pending signals: each step of a task
                                    reads it (the runner adds that), a wake-up, a signal or the
                                    task's creation writes it
``("sem", name, label)``            an rwsem's owner and queue of waiters (``locks.RwSem``)
``("sem", name, label, "r")``       its set of readers
``("wq", name)``                    a wait queue's list of sleepers
``("vmas", mm)``                    a process's list of VMAs
``("pte", mm, addr)``               one PTE (and the private COW copy behind it)
``("pmd", mm, haddr)``              one PMD entry
``("pt", mm, haddr)``               the page table of a 2 MiB region: ``C`` to add or remove one
                                    entry, ``R`` for a walk that must see every entry in it
``("i_mmap", ino)``                 the VMAs that map a file
``("i_pages", ino)``                which entries a file's xarray holds: ``C`` to add or remove
                                    one, ``R`` to scan them all
``("entry", ino, index)``           one DAX entry or page-cache folio (kind, pfn, lock, dirty)
``("page", pfn)``                   a struct page's mapping, index, order, hwpoison
``("ref", pfn)``                    its reference count, mapcount and pin count
``("inode", ino, field)``           an in-core inode field: size, flags (S_DAX, a_ops,
                                    I_DONTCACHE, the on-disk DAX flag), count, nlink, lease,
                                    extents (the file's block map), dir (its entries), state
``("icache", sb, ino)``             the inode cache slot of an inode number
``("lru", sb)``                     a superblock's inode LRU list
``("dentry", sb, parent, name)``    one dentry (its count, flags) and its dcache slot
``("alloc", fs)``                   the free-space map: the model's allocator hands out the
                                    lowest free block of one free list, so every allocation and
                                    free serialises, as within one XFS AG or ext4 group
``("block", b)``                    one block: its owner (rmap) and what was written into it
``("ino_alloc", fs)``               the next inode number
``("sb", name)``                    a superblock's state (active, dying, frozen, shutdown)
``("mnt", path)``                   a mount's count of open files and held paths (``C``/``R``)
``("mounts",)``                     the mount table and the root directories
``("pins",)`` / ``("pin", name)``   the table of pins and its counter / one pin's state
``("procs",)`` / ``("proc", name)`` the process table / one process (dying, files, cwd)
``("nvdimm",)``                     the pfn device, pmem disk, dax_device and memmap
``("memory",)``                     low memory, the DRAM page counter
``("dmesg",)`` ``("events",)``      the kernel log and the detectors' events (appended: ``C``)
``("warn", key)``                   a WARN_ONCE site
``CRASH``                           the kernel crashed: written by an oops, read by every step
                                    (a crash disables every other task)
``EVERYTHING``                      a step whose effects the model cannot name (a query that
                                    reads the whole machine; time passing): it reads or writes
                                    every key
==================================  ============================================================
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

R = 1
W = 2
C = 4

CRASH: tuple[str] = ("crash",)
EVERYTHING: tuple[str] = ("*",)


class Footprint:
    """The keys a step touched, split by how: ``w`` written (or read and changed), ``r`` only
    read, ``c`` only updated commutatively; ``all`` is their union.  ``reads_all``/``writes_all``
    stand for :data:`EVERYTHING`."""

    __slots__ = ("all", "c", "r", "reads_all", "w", "writes_all")

    def __init__(self, w: frozenset[Any], r: frozenset[Any], c: frozenset[Any],
                 reads_all: bool = False, writes_all: bool = False) -> None:
        self.w = w
        self.r = r
        self.c = c
        self.all = w | r | c
        self.reads_all = reads_all
        self.writes_all = writes_all

    @classmethod
    def of(cls, modes: Mapping[Hashable, int]) -> Footprint:
        w: list[Any] = []
        r: list[Any] = []
        c: list[Any] = []
        reads_all = writes_all = False
        for key, m in modes.items():
            if key is EVERYTHING or key == EVERYTHING:
                reads_all = True
                writes_all = writes_all or bool(m & (W | C))
                continue
            if m == R:
                r.append(key)
            elif m == C:
                c.append(key)
            else:
                w.append(key)
        return cls(frozenset(w), frozenset(r), frozenset(c), reads_all, writes_all)

    def dep(self, o: Footprint) -> bool:
        """Do the two steps fail to commute (one changes what the other touches)?"""
        if self.writes_all:
            return bool(o.all) or o.reads_all
        if o.writes_all:
            return bool(self.all) or self.reads_all
        if self.reads_all:
            return bool(o.w) or bool(o.c)
        if o.reads_all:
            return bool(self.w) or bool(self.c)
        return not (self.w.isdisjoint(o.all) and o.w.isdisjoint(self.all)
                    and self.r.isdisjoint(o.c) and self.c.isdisjoint(o.r))

    def keys(self) -> frozenset[Any]:
        return self.all

    def modes(self) -> dict[Any, int]:
        out: dict[Any, int] = dict.fromkeys(self.r, R)
        out.update(dict.fromkeys(self.c, C))
        out.update(dict.fromkeys(self.w, W))
        if self.reads_all:
            out[EVERYTHING] = W if self.writes_all else R
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Footprint) and self.w == other.w and self.r == other.r and \
            self.c == other.c and self.reads_all == other.reads_all and \
            self.writes_all == other.writes_all

    def __hash__(self) -> int:
        return hash((self.w, self.r, self.c, self.reads_all, self.writes_all))

    def __repr__(self) -> str:
        parts = [f"W{sorted(map(str, self.w))}" if self.w else "",
                 f"R{sorted(map(str, self.r))}" if self.r else "",
                 f"C{sorted(map(str, self.c))}" if self.c else "",
                 ("W*" if self.writes_all else "R*") if self.reads_all else ""]
        return "Footprint(" + " ".join(p for p in parts if p) + ")"


EMPTY = Footprint(frozenset(), frozenset(), frozenset())
