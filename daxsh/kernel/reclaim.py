"""Memory pressure and direct reclaim: an allocation that finds memory low runs the shrinkers,
and the inode shrinker evicts (shared/KERNEL.md 2.7 item 3, 3.3).

``mem low`` makes every GFP_KERNEL allocation enter direct reclaim until ``mem normal``; the
eviction it runs is the eviction the 2022 thread argues about.
"""

from __future__ import annotations

from .sched import KGen, Task, kfunc


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
            yield from super_cache_scan(t, mnt.sb)
    finally:
        t.memalloc = False


@kfunc
def super_cache_scan(t: Task, sb: object) -> KGen:
    from .fs import shrink_dcache_sb
    from .syscalls import prune_icache_sb

    yield from shrink_dcache_sb(t, sb)
    yield from prune_icache_sb(t, sb)
