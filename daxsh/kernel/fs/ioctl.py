"""Models fs/ioctl.c and fs/file_attr.c: ``chattr +x/-x`` (FS_IOC_FSSETXATTR, the per-file DAX
flag) through ``->fileattr_set``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import Ret
from ..sched import kfunc
from .namei import lookup_file, path_put
from .open import _errno
from .super import sb_end_write, sb_start_write

if TYPE_CHECKING:
    from ..sched import KGen, Task


@kfunc
def do_chattr(t: Task, path: str, on: bool) -> KGen:
    err, mnt, d = yield from lookup_file(t, path, want_dir=None)
    if err:
        return Ret(err)
    try:
        inode = d.inode
        t.k.trace(t, "ioctl", "FS_IOC_FSSETXATTR", inode, FS_XFLAG_DAX=on)
        yield from sb_start_write(t, inode.sb)  # mnt_want_write_file
        try:
            err = yield from inode.sb.ops.fileattr_set_dax(t, inode, on)
        finally:
            sb_end_write(t, inode.sb)
        return Ret(_errno(err))
    finally:
        yield from path_put(t, mnt, d)
