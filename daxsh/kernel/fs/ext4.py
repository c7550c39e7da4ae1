"""Models fs/ext4 (v4.13-v6.15): file.c (DAX faults), inode.c (setattr, truncate, punch,
evict, break layouts), ioctl.c (``chattr``, ``ext4_force_shutdown``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import (
    DAX_BREAK_LAYOUT,
    DAX_BREAK_LAYOUT_FINAL,
    EXT4_BREAK_LAYOUTS,
    EXT4_DAX_DONTCACHE,
    INVALIDATE_LOCK,
    PROPOSED_DAX_BREAK_MAPPING_UNINTERRUPTIBLE,
)
from ..errno import EINVAL, EIO, EOPNOTSUPP
from ..footprint import R
from ..locks import down_write, up_write
from ..mm.types import LLONG_MAX, PAGE_SIZE, VM_FAULT_FALLBACK
from ..sched import kfunc, schedule
from .dax import (
    dax_break_layout,
    dax_break_layout_final,
    dax_break_mapping_uninterruptible,
    dax_iomap_fault,
    dax_layout_busy_page,
    truncate_inode_pages_final,
    wait_page_idle,
)
from .dcache import d_mark_dontcache
from .disk import size_to_blocks
from .ops import FsOps
from .super import sb_end_pagefault

if TYPE_CHECKING:
    from ..machine import Kernel
    from ..mm.types import Vmf
    from ..sched import KGen, Task
    from .inode import Inode
    from .super import SuperBlock

# ---------------------------------------------------------------------------------------------
# ext4
# ---------------------------------------------------------------------------------------------


class Ext4Ops(FsOps):
    name = "ext4"
    setup_inode_name = "ext4_set_inode_flags"

    def mmaplock_name(self, k: Kernel) -> str:
        return "invalidate_lock" if k.has(INVALIDATE_LOCK) else "i_mmap_sem"

    def parse_dax_option(self, k: Kernel, opt: str | None) -> tuple[str, str]:
        if opt in ("dax=always", "dax=never", "dax=inode") and k.has(EXT4_DAX_DONTCACHE):
            return opt.split("=")[1], ""
        if opt is not None and opt not in ("dax", "dax=always"):
            return "", f'Unrecognized mount option "{opt}" or missing value'
        return super().parse_dax_option(k, opt)

    def per_file_dax(self, k: Kernel) -> bool:
        return k.has(EXT4_DAX_DONTCACHE)

    def fault(self, t: Task, vmf: Vmf) -> KGen:
        return ext4_dax_huge_fault(t, self, vmf, 0)

    def huge_fault(self, t: Task, vmf: Vmf, order: int) -> KGen:
        return ext4_dax_huge_fault(t, self, vmf, order)

    def setattr_size(self, t: Task, inode: Inode, size: int) -> KGen:
        return ext4_setattr(t, self, inode, size)

    def punch(self, t: Task, inode: Inode, off: int, length: int) -> KGen:
        return ext4_punch_hole(t, self, inode, off, length)

    def evict_inode(self, t: Task, inode: Inode) -> KGen:
        return ext4_evict_inode(t, self, inode)

    def shutdown(self, t: Task, sb: SuperBlock) -> None:
        """``ext4_shutdown``: ext4_force_shutdown(sb, EXT4_GOING_FLAGS_NOLOGFLUSH)."""
        ext4_force_shutdown(t, sb, "EXT4_GOING_FLAGS_NOLOGFLUSH")

    def fileattr_set_dax(self, t: Task, inode: Inode, on: bool) -> KGen:
        return ext4_fileattr_set(t, self, inode, on)


@kfunc
def ext4_dax_huge_fault(t: Task, ops: Ext4Ops, vmf: Vmf, order: int) -> KGen:
    k = t.k
    inode = vmf.vma.file.inode
    write = vmf.write and vmf.vma.shared
    k.sched.note(("inode", inode.ino, "flags"), R)
    if not inode.dax:
        if order:
            return VM_FAULT_FALLBACK
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
            if write:
                k.trace(t, "ext4_journal_start_sb", inode)
            return (yield from dax_iomap_fault(t, vmf, order))
        finally:
            ops.unlock_mmap(t, inode, False)
    finally:
        if write:
            sb_end_pagefault(t, inode.sb)


@kfunc
def ext4_wait_dax_page(t: Task, ops: Ext4Ops, inode: Inode) -> KGen:
    ops.unlock_mmap(t, inode, True)
    yield from schedule(t)
    yield from ops.lock_mmap(t, inode, True)


@kfunc
def ext4_break_layouts(t: Task, ops: Ext4Ops, inode: Inode) -> KGen:
    k = t.k
    cb = lambda tt: ext4_wait_dax_page(tt, ops, inode)  # noqa: E731
    if not inode.mmaplock.held_by(t):
        k.warn(t, "fs/ext4/inode.c", "ext4_break_layouts",
               "WARN_ON_ONCE(!rwsem_is_locked(&mapping->invalidate_lock))")
        return EINVAL
    if k.has(DAX_BREAK_LAYOUT):
        return (yield from dax_break_layout(t, inode, 0, LLONG_MAX, cb, "ext4_break_layouts"))
    while True:
        page = yield from dax_layout_busy_page(t, inode.mapping)
        if page is None:
            return 0
        err = yield from wait_page_idle(t, page, cb, "ext4_break_layouts")
        if err:
            return err


@kfunc
def ext4_setattr(t: Task, ops: Ext4Ops, inode: Inode, size: int) -> KGen:
    k = t.k
    k.trace(t, "inode_dio_wait", inode)
    yield from ops.lock_mmap(t, inode, True)
    try:
        if k.has(EXT4_BREAK_LAYOUTS):
            err = yield from ext4_break_layouts(t, ops, inode)
            if err:
                return err
        k.sched.note(inode.sb.key, R)
        if inode.sb.shutdown:
            return EIO
        ops.set_size(t, inode, size)
        yield from ops.truncate_pagecache(t, inode, size)
        yield from ext4_truncate(t, ops, inode, size)
        return 0
    finally:
        ops.unlock_mmap(t, inode, True)


@kfunc
def ext4_truncate(t: Task, ops: Ext4Ops, inode: Inode, size: int) -> KGen:
    yield from ops.free_blocks(t, inode, size_to_blocks(size), LLONG_MAX, "ext4_free_blocks")


@kfunc
def ext4_punch_hole(t: Task, ops: Ext4Ops, inode: Inode, off: int, length: int) -> KGen:
    k = t.k
    yield from down_write(t, inode.i_rwsem)
    try:
        k.trace(t, "inode_dio_wait", inode)
        yield from ops.lock_mmap(t, inode, True)
        try:
            if k.has(EXT4_BREAK_LAYOUTS):
                err = yield from ext4_break_layouts(t, ops, inode)
                if err:
                    return err
            first = -(-off // PAGE_SIZE)
            k.sched.note(("inode", inode.ino, "size"), R)
            last = min((off + length) // PAGE_SIZE, size_to_blocks(inode.size))
            if last > first:
                yield from ops.truncate_pagecache_range(t, inode, first, last - first)
                yield from ops.free_blocks(t, inode, first, last - first, "ext4_free_blocks")
            return 0
        finally:
            ops.unlock_mmap(t, inode, True)
    finally:
        up_write(t, inode.i_rwsem)


@kfunc
def ext4_evict_inode(t: Task, ops: Ext4Ops, inode: Inode) -> KGen:
    k = t.k
    if k.has(PROPOSED_DAX_BREAK_MAPPING_UNINTERRUPTIBLE):
        # 2025 v6: the callback cycles an invalidate_lock that eviction does not hold
        yield from dax_break_mapping_uninterruptible(
            t, inode, lambda tt: ext4_wait_dax_page(tt, ops, inode))
    elif k.has(DAX_BREAK_LAYOUT_FINAL):
        yield from dax_break_layout_final(t, inode)
    yield from truncate_inode_pages_final(t, inode.mapping)
    k.trace(t, "clear_inode", inode)


@kfunc
def ext4_fileattr_set(t: Task, ops: Ext4Ops, inode: Inode, on: bool) -> KGen:
    k = t.k
    if not k.has(EXT4_DAX_DONTCACHE):
        return EOPNOTSUPP
    yield from down_write(t, inode.i_rwsem)
    try:
        k.sched.note(("inode", inode.ino, "flags"))
        if not inode.is_dir and inode.sb.dax_mode == "inode" and on != inode.di.dax_flag:
            d_mark_dontcache(inode)
            k.trace(t, "ext4_dax_dontcache", inode)
        inode.di.dax_flag = on
        return 0
    finally:
        up_write(t, inode.i_rwsem)


def ext4_force_shutdown(t: Task, sb: SuperBlock, how: str) -> None:
    """``ext4_shutdown`` -> ``ext4_force_shutdown(sb, EXT4_GOING_FLAGS_NOLOGFLUSH)`` (v6.6;
    the message is ``ext4_msg(sb, KERN_ALERT, "shut down requested (%d)", flags)``,
    tl:fs/ext4/ioctl.c@v6.1 line 817, NOLOGFLUSH = 2)."""
    k = t.k
    k.sched.note(sb.key)
    if sb.shutdown:
        return
    k.printk(t, f"EXT4-fs ({sb.name}): shut down requested (2)")
    k.trace(t, "ext4_force_shutdown", sb, how)
    sb.shutdown = how
