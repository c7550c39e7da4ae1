"""Models fs/stat.c: ``stat`` (``do_stat``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import DAX_DONTCACHE, EXT4_DAX_DONTCACHE
from ..errno import Ret
from ..footprint import R
from ..sched import kfunc
from .dax import DaxEntry
from .disk import inode_blocks
from .namei import path_lookup, path_put

if TYPE_CHECKING:
    from ..sched import KGen, Task


@kfunc
def do_stat(t: Task, path: str) -> KGen:
    k = t.k
    err, mnt, d = yield from path_lookup(t, path)
    if err:
        return Ret(err)
    if mnt is None:
        return Ret(0, {"path": path, "type": "directory", "fs": "rootfs"})
    try:
        inode = d.inode
        # what vfs_getattr reads; `i_count`, `mapped` and `dax_entries` are printed as a
        # debugging aid, read beside the kernel's getattr and ordered by nothing (the explorer
        # does not count them as reads: they change no state)
        sched = k.sched
        if sched.footprint is not None:
            for f in ("size", "extents", "nlink", "flags"):
                sched.note(("inode", inode.ino, f), R)
        flags = []
        if inode.dax:
            flags.append("S_DAX")
        if inode.dontcache:
            flags.append("I_DONTCACHE")
        statx_dax = k.has(DAX_DONTCACHE) or (inode.sb.disk.fstype == "ext4" and k.has(EXT4_DAX_DONTCACHE))
        info = {
            "path": path,
            "type": "directory" if inode.is_dir else "regular file",
            "ino": inode.ino,
            "size": inode.size,
            "blocks": inode_blocks(inode),
            "nlink": inode.di.nlink,
            "S_DAX": inode.dax,
            "STATX_ATTR_DAX": inode.dax if statx_dax else None,
            "FS_XFLAG_DAX": inode.di.dax_flag,
            "i_count": inode.i_count - 1,  # not counting this lookup's own reference
            "flags": flags,
            "fs": inode.sb.disk.fstype,
            "mapped": len(inode.mapping.i_mmap),
            "dax_entries": sum(1 for e in inode.mapping.i_pages.values() if isinstance(e, DaxEntry)),
        }
        return Ret(0, info)
    finally:
        yield from path_put(t, mnt, d)
