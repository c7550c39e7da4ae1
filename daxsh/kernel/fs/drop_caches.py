"""Models fs/drop_caches.c: ``echo 2 > /proc/sys/vm/drop_caches``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import Ret
from ..footprint import R
from ..sched import kfunc
from .dcache import shrink_dcache_sb
from .inode import prune_icache_sb

if TYPE_CHECKING:
    from ..sched import KGen, Task


@kfunc
def drop_caches(t: Task) -> KGen:
    """``echo 3 > /proc/sys/vm/drop_caches``: page cache (DAX entries untouched), then the
    dentry and inode caches; unused inodes are evicted."""
    k = t.k
    n = 0
    k.sched.note(("mounts",), R)
    for mnt in list(k.mounts.values()):
        sb = mnt.sb
        yield from shrink_dcache_sb(t, sb)
        n += yield from prune_icache_sb(t, sb)
    return Ret(0, None, [f"evicted {n} inode{'s' if n != 1 else ''}"])
