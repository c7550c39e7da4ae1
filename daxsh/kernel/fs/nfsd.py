"""Models fs/nfsd/nfs4layouts.c and nfs4proc.c: a pNFS client's LAYOUTGET and LAYOUTRETURN of a
block layout (nfsd holds an FL_LAYOUT lease while the client holds the layout)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import EBUSY, EINVAL, EOPNOTSUPP, Ret
from ..footprint import R
from ..hint import Hint, HintKind
from ..sched import kfunc
from .file_table import File
from .locks import Lease, revoke_lease
from .namei import lookup_file, path_put

if TYPE_CHECKING:
    from ..sched import KGen, Task


@kfunc
def nfsd4_layoutget(t: Task, path: str) -> KGen:
    """A pNFS client gets a block layout of ``path``: nfsd opens it and holds an FL_LAYOUT lease."""
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    inode = d.inode
    if inode.sb.disk.fstype != "xfs":
        yield from path_put(t, mnt, d)
        return Ret(EOPNOTSUPP, None, ["only XFS exports pNFS block layouts"])
    t.k.sched.note(("inode", inode.ino, "lease"))
    if inode.lease is not None:
        yield from path_put(t, mnt, d)
        return Ret(EBUSY, None, [f"{path} already has a layout lease"])
    inode.lease = Lease(File(mnt, d))
    t.k.trace(t, "generic_setlease", inode, "F_LAYOUT")
    return Ret(0, None, [f"pNFS client holds a layout of {path}"])


@kfunc
def nfsd4_layoutreturn(t: Task, path: str) -> KGen:
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    try:
        t.k.sched.note(("inode", d.inode.ino, "lease"), R)
        if d.inode.lease is None:
            return Ret(EINVAL, None, [f"{path} has no layout lease"],
                       hint=Hint(HintKind.TAKE_LEASE, path=path))
        t.k.trace(t, "lease_modify", d.inode, "F_UNLCK")
        yield from revoke_lease(t, d.inode)
        return Ret(0)
    finally:
        yield from path_put(t, mnt, d)
