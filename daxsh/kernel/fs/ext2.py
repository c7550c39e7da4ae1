"""Models fs/ext2 (v4.13-v6.15): file.c (``ext2_dax_fault``) and inode.c (``ext2_setsize``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import INVALIDATE_LOCK
from ..errno import EOPNOTSUPP
from ..footprint import R
from ..mm.types import LLONG_MAX, VM_FAULT_FALLBACK
from ..sched import kfunc
from .dax import dax_iomap_fault
from .disk import size_to_blocks
from .ops import FsOps
from .super import sb_end_pagefault

if TYPE_CHECKING:
    from ..machine import Kernel
    from ..mm.types import Vmf
    from ..sched import KGen, Task
    from .inode import Inode

# ---------------------------------------------------------------------------------------------
# ext2
# ---------------------------------------------------------------------------------------------


class Ext2Ops(FsOps):
    name = "ext2"
    setup_inode_name = "ext2_set_inode_flags"
    has_huge_fault = False
    supports_punch = False
    mmap_sync = False

    def mmaplock_name(self, k: Kernel) -> str:
        return "invalidate_lock" if k.has(INVALIDATE_LOCK) else "dax_sem"

    def parse_dax_option(self, k: Kernel, opt: str | None) -> tuple[str, str]:
        if opt is not None and opt != "dax":
            return "", f'error: unrecognized mount option "{opt}"'
        return ("always" if opt else "never"), ""

    def fault(self, t: Task, vmf: Vmf) -> KGen:
        return ext2_dax_fault(t, self, vmf)

    def huge_fault(self, t: Task, vmf: Vmf, order: int) -> KGen:
        return VM_FAULT_FALLBACK  # type: ignore[return-value]

    def setattr_size(self, t: Task, inode: Inode, size: int) -> KGen:
        return ext2_setsize(t, self, inode, size)

    def punch(self, t: Task, inode: Inode, off: int, length: int) -> KGen:
        return EOPNOTSUPP  # type: ignore[return-value]


@kfunc
def ext2_dax_fault(t: Task, ops: Ext2Ops, vmf: Vmf) -> KGen:
    k = t.k
    inode = vmf.vma.file.inode
    write = vmf.write and vmf.vma.shared
    k.sched.note(("inode", inode.ino, "flags"), R)
    if not inode.dax:
        yield from ops.lock_mmap(t, inode, False)
        try:
            return (yield from ops.pagecache_fault(t, vmf, 0))
        finally:
            ops.unlock_mmap(t, inode, False)
    if write:
        yield from ops.sb_start_pagefault(t, inode.sb)
        k.trace(t, "file_update_time", inode)
    try:
        yield from ops.lock_mmap(t, inode, False)
        try:
            return (yield from dax_iomap_fault(t, vmf, 0))
        finally:
            ops.unlock_mmap(t, inode, False)
    finally:
        if write:
            sb_end_pagefault(t, inode.sb)


@kfunc
def ext2_setsize(t: Task, ops: Ext2Ops, inode: Inode, size: int) -> KGen:
    """No break-layouts step exists in ext2: blocks are freed under pins."""
    k = t.k
    k.trace(t, "inode_dio_wait", inode)
    ops.set_size(t, inode, size)
    yield from ops.truncate_pagecache(t, inode, size)
    yield from ops.lock_mmap(t, inode, True)
    try:
        yield from ops.free_blocks(t, inode, size_to_blocks(size), LLONG_MAX, "__ext2_truncate_blocks")
    finally:
        ops.unlock_mmap(t, inode, True)
    return 0
