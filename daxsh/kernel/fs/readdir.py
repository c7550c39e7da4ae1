"""Models fs/readdir.c: ``ls`` (``iterate_dir``)."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from ..errno import Ret
from ..footprint import R
from ..locks import down_read, up_read
from ..sched import kfunc
from .namei import path_lookup, path_put

if TYPE_CHECKING:
    from ..sched import KGen, Task


@kfunc
def iterate_dir(t: Task, path: str) -> KGen:
    k = t.k
    err, mnt, d = yield from path_lookup(t, path)
    if err:
        return Ret(err)
    if mnt is None:
        k.sched.note(("mounts",), R)
        names = sorted({p[len(path.rstrip('/')) + 1:].split("/")[0] for p in k.rootdirs
                        if p.startswith(path.rstrip("/") + "/") and p != path})
        names += sorted(m[len(path.rstrip('/')) + 1:].split("/")[0] for m in k.mounts
                        if m.startswith(path.rstrip("/") + "/") and m != path and
                        m[len(path.rstrip('/')) + 1:].split("/")[0] not in names)
        return Ret(0, [(n + "/", 0) for n in sorted(set(names))])
    try:
        inode = d.inode
        if not inode.is_dir:
            return Ret(0, [(posixpath.basename(path), inode.size)])
        yield from down_read(t, inode.i_rwsem)
        try:
            out = []
            k.sched.note(("inode", inode.ino, "dir"), R)
            for name, ino in sorted(inode.di.entries.items()):
                k.sched.note(("inode", ino, "size"), R)
                di = inode.sb.disk.inodes[ino]
                out.append((name + ("/" if di.is_dir else ""), di.size))
            return Ret(0, out)
        finally:
            up_read(t, inode.i_rwsem)
    finally:
        yield from path_put(t, mnt, d)
