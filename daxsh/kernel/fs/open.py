"""Models fs/open.c: ``truncate`` (``do_sys_truncate``, ``do_truncate``) and ``fallocate``
(``vfs_fallocate``, punch hole)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import EINTR, EOPNOTSUPP, ERESTARTSYS, Ret
from ..locks import down_write, up_write
from ..sched import kfunc
from .namei import lookup_file, path_put
from .super import sb_end_write, sb_start_write

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .inode import Inode


@kfunc
def do_sys_truncate(t: Task, path: str, size: int) -> KGen:
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    try:
        # vfs_truncate: mnt_want_write -> sb_start_write, held across do_truncate (and so
        # across a wait in xfs_break_dax_layouts); do_ftruncate takes sb_start_write itself
        yield from sb_start_write(t, d.inode.sb)
        try:
            err = yield from do_truncate(t, d.inode, size)
        finally:
            sb_end_write(t, d.inode.sb)
        return Ret(_errno(err))
    finally:
        yield from path_put(t, mnt, d)


@kfunc
def do_truncate(t: Task, inode: Inode, size: int) -> KGen:
    """``inode_lock`` (XFS_IOLOCK_EXCL), ``notify_change(ATTR_SIZE)``, unlock; returns 0 or an
    errno (negative for -ERESTARTSYS)."""
    yield from down_write(t, inode.i_rwsem)
    try:
        t.k.trace(t, "notify_change", inode, ATTR_SIZE=size)
        return (yield from inode.sb.ops.setattr_size(t, inode, size))
    finally:
        up_write(t, inode.i_rwsem)


def _errno(err: int) -> int:
    if err == -ERESTARTSYS or err == ERESTARTSYS:
        return EINTR
    return abs(err)


@kfunc
def vfs_fallocate(t: Task, path: str, off: int, length: int) -> KGen:
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    try:
        inode = d.inode
        if not inode.sb.ops.supports_punch:
            return Ret(EOPNOTSUPP, None, [f"{inode.sb.disk.fstype} has no fallocate"])
        t.k.trace(t, "vfs_fallocate", inode, "FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE",
                  off=off, len=length)
        yield from sb_start_write(t, inode.sb)  # file_start_write
        try:
            err = yield from inode.sb.ops.punch(t, inode, off, length)
        finally:
            sb_end_write(t, inode.sb)
        return Ret(_errno(err))
    finally:
        yield from path_put(t, mnt, d)
