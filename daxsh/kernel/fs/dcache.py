"""Models fs/dcache.c: dentries, ``dget``/``dput``, ``d_lookup``, ``shrink_dcache_sb`` and
``d_mark_dontcache``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..footprint import C, R
from ..sched import kfunc
from .inode import I_DONTCACHE, iget, iput

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .inode import Inode
    from .super import SuperBlock


class Dentry:
    """Footprint keys: ``key`` its reference count, ``fkey`` its flags; its dcache slot is
    ``("dcache", sb, parent ino, name)``."""

    __slots__ = ("d_count", "dontcache", "fkey", "inode", "key", "name", "parent_ino")

    def __init__(self, parent_ino: int, name: str, inode: Inode) -> None:
        self.parent_ino = parent_ino
        self.name = name
        self.inode = inode
        self.d_count = 0
        self.dontcache = False  # DCACHE_DONTCACHE
        self.key = ("dentry", inode.sb.name, parent_ino, name)
        self.fkey = ("dentry", inode.sb.name, parent_ino, name, "flags")


def dget(d: Dentry) -> Dentry:
    d.inode.sb.k.sched.note(d.key, C)
    d.d_count += 1
    return d


def dput(t: Task, d: Dentry) -> KGen:
    """Drop a reference; the last one kills a dentry marked DONTCACHE or of an unlinked inode.

    Footprint: when the flags say the last reference would not kill it, dropping one is a
    commuting update (whoever drops the last one, nothing happens); otherwise dropping reads
    the count too, since who drops the last one decides who kills it."""
    sched = t.k.sched
    sched.note(d.fkey, R)
    sched.note(("inode", d.inode.ino, "nlink"), R)
    sched.note(("inode", d.inode.ino, "flags"), R)
    kill = d.dontcache or d.inode.di.nlink == 0 or d.inode.dontcache
    sched.note(d.key, (R | C) if kill else C)
    d.d_count -= 1
    if d.d_count > 0:
        return
    sb = d.inode.sb
    if kill:
        yield from dentry_kill(t, sb, d)


@kfunc
def dentry_kill(t: Task, sb: SuperBlock, d: Dentry) -> KGen:
    if sb.dcache.get((d.parent_ino, d.name)) is d:
        t.k.sched.note(d.key)
        t.k.sched.note(("dcache", sb.name, d.parent_ino, d.name))
        t.k.sched.note(("dcache", sb.name), C)
        del sb.dcache[(d.parent_ino, d.name)]
    yield from iput(t, d.inode)


@kfunc
def shrink_dcache_sb(t: Task, sb: SuperBlock) -> KGen:
    """Drop every unused dentry (``prune_dcache_sb`` / ``shrink_dcache_for_umount``)."""
    sched = t.k.sched
    sched.note(("dcache", sb.name), R)
    for key, d in sorted(sb.dcache.items()):
        sched.note(d.key, R)
        if d.d_count == 0 and sb.dcache.get(key) is d:
            yield from dentry_kill(t, sb, d)


def d_lookup(t: Task, sb: SuperBlock, parent_ino: int, name: str) -> KGen:
    """Find or instantiate a dentry (and its inode); returns it with a reference held."""
    sched = t.k.sched
    sched.note(("dcache", sb.name, parent_ino, name), R)
    d = sb.dcache.get((parent_ino, name))
    if d is not None:
        return dget(d)
    sched.note(("inode", parent_ino, "dir"), R)
    parent = sb.disk.inodes[parent_ino]
    ino = parent.entries.get(name)
    if ino is None:
        return None
    inode = yield from iget(t, sb, ino)
    d = Dentry(parent_ino, name, inode)
    sched.note(("dcache", sb.name, parent_ino, name))
    sched.note(("dcache", sb.name), C)
    sb.dcache[(parent_ino, name)] = d
    return dget(d)


def d_mark_dontcache(inode: Inode) -> None:
    sched = inode.sb.k.sched
    sched.note(("dcache", inode.sb.name), R)
    for d in inode.sb.dcache.values():
        if d.inode is inode:
            sched.note(d.fkey)
            d.dontcache = True
    sched.note(("inode", inode.ino, "flags"))
    sched.note(("inode", inode.ino, "state"))
    inode.dontcache = True
    inode.i_state.add(I_DONTCACHE)
