"""Models mm/vmscan.c and mm/page_alloc.c's slow path: an allocation that finds memory low
runs the shrinkers (``sb.s_shrink``: ``super_cache_scan``), and the inode shrinker evicts
the unused inodes it may (fs/inode.c ``inode_lru_isolate``: which DAX inodes, by version).

``mem low`` makes every GFP_KERNEL allocation enter direct reclaim until ``mem normal``; the
eviction it runs is the eviction the 2022 thread argues about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..sched import kfunc

if TYPE_CHECKING:
    from ..sched import KGen, Task


@kfunc
def kmalloc(t: Task, size: int) -> KGen:
    """A GFP_KERNEL allocation; under pressure it enters direct reclaim first."""
    k = t.k
    k.sched.note(("memory",), 1)  # R: is memory low?
    if not k.memory_low:
        return 0
    yield from __alloc_pages_slowpath(t)
    return 0


@kfunc
def __alloc_pages_slowpath(t: Task) -> KGen:
    yield from __alloc_pages_direct_reclaim(t)


@kfunc
def __alloc_pages_direct_reclaim(t: Task) -> KGen:
    k = t.k
    if t.memalloc:  # PF_MEMALLOC: reclaim does not recurse
        return
    t.memalloc = True
    try:
        k.sched.note(("mounts",), 1)  # R
        for mnt in list(k.mounts.values()):
            yield from mnt.sb.s_shrink(t, mnt.sb)
    finally:
        t.memalloc = False
