"""Models fs/read_write.c: ``read``/``write`` into a file (``do_rw`` -> ``->read_iter`` /
``->write_iter``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import Ret
from ..sched import kfunc
from .namei import lookup_file, path_put
from .super import sb_end_write, sb_start_write

if TYPE_CHECKING:
    from ..sched import KGen, Task


@kfunc
def do_rw(t: Task, path: str, off: int, length: int, write: bool) -> KGen:
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    try:
        inode = d.inode
        if write:
            yield from sb_start_write(t, inode.sb)  # file_start_write (vfs_write)
            try:
                err = yield from inode.sb.ops.write_iter(t, inode, off, length)
            finally:
                sb_end_write(t, inode.sb)
        else:
            err = yield from inode.sb.ops.read_iter(t, inode, off, length)
        if err:
            return Ret(err)
        lines = [t.note] if t.note else []
        if not write:
            n = max(0, min(off + length, inode.size) - off)
            return Ret(0, f"read {n} bytes", lines)
        return Ret(0, None, lines)
    finally:
        yield from path_put(t, mnt, d)
