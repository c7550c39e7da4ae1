"""Models fs/sync.c: ``sync`` (``ksys_sync``) and ``sync_filesystem``'s DAX writeback
(``sync_sb``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import Ret
from ..footprint import R
from ..sched import kfunc
from .dax import DaxEntry, dax_writeback_mapping_range

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .super import SuperBlock


def sync_sb(t: Task, sb: SuperBlock) -> KGen:
    sched = t.k.sched
    sched.note(("icache", sb.name), R)
    for inode in sorted(sb.icache.values(), key=lambda i: i.ino):
        sched.note(("inode", inode.ino, "flags"), R)
        if not inode.dax:
            continue
        if sched.footprint is not None:
            sched.note(("i_pages", inode.ino), R)
            for i in inode.mapping.i_pages:
                sched.note(("entry", inode.ino, i), R)
        if any(isinstance(e, DaxEntry) and e.dirty for e in inode.mapping.i_pages.values()):
            yield from dax_writeback_mapping_range(t, inode.mapping)


@kfunc
def ksys_sync(t: Task) -> KGen:
    t.k.sched.note(("mounts",), R)
    for mnt in list(t.k.mounts.values()):
        yield from sync_sb(t, mnt.sb)
    return Ret(0)
