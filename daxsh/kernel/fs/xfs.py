"""Models fs/xfs (v4.13-v6.15): xfs_file.c (faults, fallocate, layouts), xfs_iops.c
(setattr), xfs_ioctl.c (the per-file DAX flag), xfs_super.c (evict, shutdown), xfs_fsops.c
(``xfs_force_shutdown``) and xfs_notify_failure.c (``xfs_dax_notify_failure``, the dax
holder's ``notify_failure``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import (
    DAX_BREAK_LAYOUT,
    DAX_BREAK_LAYOUT_FINAL,
    DAX_DONTCACHE,
    INVALIDATE_LOCK,
    PROPOSED_DAX_AOPS_SWITCH,
    PROPOSED_DAX_BREAK_MAPPING_UNINTERRUPTIBLE,
    PROPOSED_XFS_EVICT_BREAK_LAYOUTS,
    XFS_BREAK_DAX_LAYOUTS,
    XFS_DISABLE_PER_INODE_DAX,
    XFS_PER_INODE_DAX,
)
from ..errno import EBUSY, EIO, EOPNOTSUPP, EWOULDBLOCK
from ..footprint import R
from ..locks import down_read, down_write, up_read, up_write
from ..mm.memory_failure import MF_MEM_PRE_REMOVE_FLAG, mf_dax_kill_procs
from ..mm.types import LLONG_MAX, PAGE_SIZE, VM_FAULT_FALLBACK, Vmf
from ..sched import kfunc, preempt, schedule
from .dax import (
    DaxHolderOperations,
    dax_break_layout,
    dax_break_layout_final,
    dax_break_mapping_uninterruptible,
    dax_iomap_fault,
    dax_layout_busy_page,
    dax_writeback_mapping_range,
    invalidate_inode_pages2_range,
    truncate_inode_pages_final,
    wait_page_idle,
)
from .dcache import d_mark_dontcache
from .disk import size_to_blocks
from .locks import break_layout
from .ops import BREAK_UNMAP, BREAK_UNMAP_FINAL, BREAK_WRITE, FsOps
from .super import freeze_super, sb_end_pagefault, thaw_super

if TYPE_CHECKING:
    from ..machine import Kernel
    from ..sched import KGen, Task
    from .inode import Inode
    from .super import SuperBlock

# ---------------------------------------------------------------------------------------------
# XFS
# ---------------------------------------------------------------------------------------------


class XfsOps(FsOps):
    name = "xfs"
    setup_inode_name = "xfs_setup_inode"

    def mmaplock_name(self, k: Kernel) -> str:
        return "invalidate_lock" if k.has(INVALIDATE_LOCK) else "i_mmaplock"

    def parse_dax_option(self, k: Kernel, opt: str | None) -> tuple[str, str]:
        if opt in ("dax=always", "dax=never", "dax=inode") and k.has(DAX_DONTCACHE):
            return opt.split("=")[1], ""
        return super().parse_dax_option(k, opt)

    def per_file_dax(self, k: Kernel) -> bool:
        """Does the on-disk flag choose S_DAX at inode load?  v5.8's design, the per-inode
        flag of v4.5-v4.13, and the 2020 V4 proposal, whose series made the load honour the
        flag too ("fs/xfs: Create function xfs_inode_enable_dax()") besides flipping it live."""
        if k.has(DAX_DONTCACHE) or k.has(PROPOSED_DAX_AOPS_SWITCH):
            return True
        return k.has(XFS_PER_INODE_DAX) and not k.has(XFS_DISABLE_PER_INODE_DAX)

    # xfs_ilock/xfs_iunlock name the locks the way XFS does
    def xfs_ilock(self, t: Task, inode: Inode, flags: str) -> KGen:
        t.k.trace(t, "xfs_ilock", inode, flags)
        if "IOLOCK_EXCL" in flags:
            yield from down_write(t, inode.i_rwsem)
        elif "IOLOCK_SHARED" in flags:
            yield from down_read(t, inode.i_rwsem)
        if "MMAPLOCK_EXCL" in flags:
            yield from down_write(t, inode.mmaplock)
        elif "MMAPLOCK_SHARED" in flags:
            yield from down_read(t, inode.mmaplock)

    def xfs_iunlock(self, t: Task, inode: Inode, flags: str) -> None:
        t.k.trace(t, "xfs_iunlock", inode, flags)
        if "MMAPLOCK_EXCL" in flags:
            up_write(t, inode.mmaplock)
        elif "MMAPLOCK_SHARED" in flags:
            up_read(t, inode.mmaplock)
        if "IOLOCK_EXCL" in flags:
            up_write(t, inode.i_rwsem)
        elif "IOLOCK_SHARED" in flags:
            up_read(t, inode.i_rwsem)

    # -- faults ---------------------------------------------------------------------------------
    def fault(self, t: Task, vmf: Vmf) -> KGen:
        inode = vmf.vma.file.inode
        write = inode.dax and vmf.write and vmf.vma.shared
        return xfs_filemap_fault(t, self, vmf, write)

    def huge_fault(self, t: Task, vmf: Vmf, order: int) -> KGen:
        return xfs_filemap_huge_fault(t, self, vmf, order)

    def pfn_mkwrite(self, t: Task, vmf: Vmf) -> KGen:
        return xfs_filemap_fault_common(t, self, vmf, 0, True)

    # -- truncate / punch -----------------------------------------------------------------------
    def setattr_size(self, t: Task, inode: Inode, size: int) -> KGen:
        return xfs_vn_setattr(t, self, inode, size)

    def punch(self, t: Task, inode: Inode, off: int, length: int) -> KGen:
        return xfs_file_fallocate(t, self, inode, off, length)

    def write_checks(self, t: Task, inode: Inode) -> KGen:
        iolock = "IOLOCK_EXCL"
        err = yield from xfs_break_layouts(t, self, inode, iolock, BREAK_WRITE)
        return err

    # -- eviction -------------------------------------------------------------------------------
    def evict_inode(self, t: Task, inode: Inode) -> KGen:
        k = t.k
        if k.has(PROPOSED_XFS_EVICT_BREAK_LAYOUTS):
            return xfs_fs_evict_inode_2022(t, self, inode)
        if k.has(PROPOSED_DAX_BREAK_MAPPING_UNINTERRUPTIBLE):
            return xfs_fs_evict_inode_2025v6(t, self, inode)
        if k.has(DAX_BREAK_LAYOUT_FINAL):
            return xfs_fs_evict_inode(t, self, inode)
        return super().evict_inode(t, inode)

    # -- per-file DAX ---------------------------------------------------------------------------
    def shutdown(self, t: Task, sb: SuperBlock) -> None:
        """``xfs_fs_shutdown``: xfs_force_shutdown(mp, SHUTDOWN_DEVICE_REMOVED)."""
        t.k.trace(t, "xfs_fs_shutdown", sb)
        xfs_force_shutdown(t, sb, "SHUTDOWN_DEVICE_REMOVED")

    def fileattr_set_dax(self, t: Task, inode: Inode, on: bool) -> KGen:
        return xfs_ioctl_setattr(t, self, inode, on)


@kfunc
def xfs_filemap_huge_fault(t: Task, ops: XfsOps, vmf: Vmf, order: int) -> KGen:
    inode = vmf.vma.file.inode
    t.k.sched.note(("inode", inode.ino, "flags"), R)
    if not inode.dax:  # checked without any lock (seed 004)
        return VM_FAULT_FALLBACK
    yield from preempt(t, "xfs_filemap_huge_fault after IS_DAX")
    return (yield from __xfs_filemap_fault(t, ops, vmf, order, vmf.write and vmf.vma.shared))


@kfunc
def xfs_filemap_fault(t: Task, ops: XfsOps, vmf: Vmf, write_fault: bool) -> KGen:
    return (yield from __xfs_filemap_fault(t, ops, vmf, 0, write_fault))


@kfunc
def __xfs_filemap_fault(t: Task, ops: XfsOps, vmf: Vmf, order: int, write_fault: bool) -> KGen:
    k = t.k
    inode = vmf.vma.file.inode
    sb = inode.sb
    if write_fault:
        yield from ops.sb_start_pagefault(t, sb)
        k.trace(t, "file_update_time", inode)
    try:
        yield from ops.xfs_ilock(t, inode, "MMAPLOCK_SHARED")
        try:
            k.sched.note(("inode", inode.ino, "flags"), R)
            if inode.dax:
                if write_fault and not vmf.write:
                    vmf = Vmf(vmf.vma, vmf.addr, True)
                ret = yield from dax_iomap_fault(t, vmf, order)
            else:
                ret = yield from ops.pagecache_fault(t, vmf, order)
            return ret
        finally:
            ops.xfs_iunlock(t, inode, "MMAPLOCK_SHARED")
    finally:
        if write_fault:
            sb_end_pagefault(t, sb)


xfs_filemap_fault_common = __xfs_filemap_fault  # callable from class bodies (no name mangling)


@kfunc
def xfs_wait_dax_page(t: Task, ops: XfsOps, inode: Inode) -> KGen:
    """Drop MMAPLOCK_EXCL around ``schedule()``; IOLOCK_EXCL stays held."""
    ops.xfs_iunlock(t, inode, "MMAPLOCK_EXCL")
    yield from schedule(t)
    yield from ops.xfs_ilock(t, inode, "MMAPLOCK_EXCL")


@kfunc
def xfs_break_dax_layouts(t: Task, ops: XfsOps, inode: Inode) -> KGen:
    """Returns (error, retry)."""
    k = t.k
    cb = lambda tt: xfs_wait_dax_page(tt, ops, inode)  # noqa: E731
    if k.has(DAX_BREAK_LAYOUT):
        err = yield from dax_break_layout(t, inode, 0, LLONG_MAX, cb, "xfs_break_dax_layouts")
        return err, False
    page = yield from dax_layout_busy_page(t, inode.mapping)
    if page is None:
        return 0, False
    err = yield from wait_page_idle(t, page, cb, "xfs_break_dax_layouts")
    return err, True


@kfunc
def xfs_break_leased_layouts(t: Task, ops: XfsOps, inode: Inode, iolock: str) -> KGen:
    """Recall a pNFS layout lease, dropping every lock in ``iolock`` while waiting.
    Returns (error, did_unlock)."""
    did_unlock = False
    while True:
        err = yield from break_layout(t, inode, False)
        if err != -EWOULDBLOCK:
            break
        ops.xfs_iunlock(t, inode, iolock)
        did_unlock = True
        err = yield from break_layout(t, inode, True)
        # (the kernel upgrades IOLOCK_SHARED to EXCL here; every caller modelled holds EXCL)
        yield from ops.xfs_ilock(t, inode, iolock)
        if err:
            break
    return err, did_unlock


@kfunc
def xfs_break_layouts(t: Task, ops: XfsOps, inode: Inode, iolock: str, reason: str) -> KGen:
    k = t.k
    while True:
        retry = False
        err = 0
        if reason in (BREAK_UNMAP, BREAK_UNMAP_FINAL) and k.has(XFS_BREAK_DAX_LAYOUTS):
            if reason == BREAK_UNMAP_FINAL:
                # the 2022 series zaps and checks every DAX page at eviction ("Fix the DAX-gup
                # mistake": 0-based refcounts), so files without VMAs are scanned too
                while True:
                    page = yield from dax_layout_busy_page(t, inode.mapping, unmapped=True)
                    if page is None:
                        break
                    yield from wait_page_idle(
                        t, page, lambda tt: xfs_wait_dax_page(tt, ops, inode),
                        "xfs_break_layouts(BREAK_UNMAP_FINAL)", interruptible=False)
            else:
                err, retry = yield from xfs_break_dax_layouts(t, ops, inode)
        if not err and not retry:
            err, retry = yield from xfs_break_leased_layouts(t, ops, inode, iolock)
        if err or not retry:
            return err


@kfunc
def xfs_vn_setattr(t: Task, ops: XfsOps, inode: Inode, size: int) -> KGen:
    """ATTR_SIZE with i_rwsem (XFS_IOLOCK_EXCL) held by do_truncate."""
    k = t.k
    if k.has(XFS_BREAK_DAX_LAYOUTS):
        # c63a8eae63d3: take MMAPLOCK first, then break layouts
        yield from ops.xfs_ilock(t, inode, "MMAPLOCK_EXCL")
        err = yield from xfs_break_layouts(t, ops, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL", BREAK_UNMAP)
        if err:
            ops.xfs_iunlock(t, inode, "MMAPLOCK_EXCL")
            return err
    else:
        err = yield from xfs_break_layouts(t, ops, inode, "IOLOCK_EXCL", BREAK_UNMAP)
        yield from ops.xfs_ilock(t, inode, "MMAPLOCK_EXCL")
    try:
        return (yield from xfs_setattr_size(t, ops, inode, size))
    finally:
        ops.xfs_iunlock(t, inode, "MMAPLOCK_EXCL")


@kfunc
def xfs_setattr_size(t: Task, ops: XfsOps, inode: Inode, size: int) -> KGen:
    k = t.k
    k.sched.note(inode.sb.key, R)
    if inode.sb.shutdown:
        return EIO
    k.trace(t, "inode_dio_wait", inode)
    k.sched.note(("inode", inode.ino, "size"), R)
    old = inode.size
    ops.set_size(t, inode, size)
    yield from ops.truncate_pagecache(t, inode, size)
    k.sched.note(("inode", inode.ino, "extents"), R)
    if size < old or inode.di.extents.total():
        yield from xfs_itruncate_extents(t, ops, inode, size)
    return 0


@kfunc
def xfs_itruncate_extents(t: Task, ops: XfsOps, inode: Inode, size: int) -> KGen:
    yield from ops.free_blocks(t, inode, size_to_blocks(size), LLONG_MAX, "xfs_bmap_del_extent")


@kfunc
def xfs_file_fallocate(t: Task, ops: XfsOps, inode: Inode, off: int, length: int) -> KGen:
    k = t.k
    if k.has(XFS_BREAK_DAX_LAYOUTS):
        iolock = "IOLOCK_EXCL|MMAPLOCK_EXCL"
        yield from ops.xfs_ilock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
        err = yield from xfs_break_layouts(t, ops, inode, iolock, BREAK_UNMAP)
    else:
        iolock = "IOLOCK_EXCL"
        yield from ops.xfs_ilock(t, inode, "IOLOCK_EXCL")
        err = yield from xfs_break_layouts(t, ops, inode, iolock, BREAK_UNMAP)
        yield from ops.xfs_ilock(t, inode, "MMAPLOCK_EXCL")
    try:
        if err:
            return err
        k.sched.note(inode.sb.key, R)
        if inode.sb.shutdown:
            return EIO
        k.trace(t, "inode_dio_wait", inode)
        return (yield from xfs_free_file_space(t, ops, inode, off, length))
    finally:
        ops.xfs_iunlock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")


@kfunc
def xfs_free_file_space(t: Task, ops: XfsOps, inode: Inode, off: int, length: int) -> KGen:
    first = -(-off // PAGE_SIZE)
    last = (off + length) // PAGE_SIZE
    if last <= first:
        return 0
    t.k.trace(t, "xfs_flush_unmap_range", inode, first=first, n=last - first)
    yield from ops.truncate_pagecache_range(t, inode, first, last - first)
    yield from ops.free_blocks(t, inode, first, last - first, "xfs_unmap_extent")
    return 0


@kfunc
def xfs_fs_evict_inode(t: Task, ops: XfsOps, inode: Inode) -> KGen:
    """v6.15 (0e2f80afcfa6): no locks, no callback."""
    t.k.sched.note(("inode", inode.ino, "flags"), R)
    if inode.dax:
        yield from dax_break_layout_final(t, inode)
    yield from truncate_inode_pages_final(t, inode.mapping)
    t.k.trace(t, "clear_inode", inode)


@kfunc
def xfs_fs_evict_inode_2022(t: Task, ops: XfsOps, inode: Inode) -> KGen:
    """PROPOSED, NOT MERGED (2022 v2 05/18): locks and BREAK_UNMAP_FINAL for every inode."""
    iolock = "IOLOCK_EXCL|MMAPLOCK_EXCL"
    yield from ops.xfs_ilock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
    yield from xfs_break_layouts(t, ops, inode, iolock, BREAK_UNMAP_FINAL)
    ops.xfs_iunlock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
    yield from truncate_inode_pages_final(t, inode.mapping)
    t.k.trace(t, "clear_inode", inode)


@kfunc
def xfs_fs_evict_inode_2025v6(t: Task, ops: XfsOps, inode: Inode) -> KGen:
    """PROPOSED (2025 v6 07/26): IOLOCK_EXCL|MMAPLOCK_EXCL and xfs_wait_dax_page."""
    t.k.sched.note(("inode", inode.ino, "flags"), R)
    if inode.dax:
        yield from ops.xfs_ilock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
        yield from dax_break_mapping_uninterruptible(
            t, inode, lambda tt: xfs_wait_dax_page(tt, ops, inode))
        ops.xfs_iunlock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
    yield from truncate_inode_pages_final(t, inode.mapping)
    t.k.trace(t, "clear_inode", inode)


@kfunc
def xfs_ioctl_setattr(t: Task, ops: XfsOps, inode: Inode, on: bool) -> KGen:
    """FS_IOC_FSSETXATTR with FS_XFLAG_DAX, by kernel era."""
    k = t.k
    k.sched.note(("inode", inode.ino, "flags"))
    if inode.is_dir:
        inode.di.dax_flag = on  # only inherited by new children
        return 0
    if k.has(PROPOSED_DAX_AOPS_SWITCH):
        return (yield from xfs_ioctl_setattr_aops_switch(t, ops, inode, on))
    if k.has(DAX_DONTCACHE):
        # xfs_ioctl_setattr_prepare_dax: the new mode applies at the next inode load
        if inode.sb.dax_mode == "inode" and on != inode.di.dax_flag:
            d_mark_dontcache(inode)
            k.trace(t, "d_mark_dontcache", inode)
        yield from ops.xfs_ilock(t, inode, "ILOCK_EXCL")
        k.sched.note(("inode", inode.ino, "flags"))
        inode.di.dax_flag = on
        k.trace(t, "xfs_diflags_to_iflags", inode, init=False, S_DAX=inode.dax)
        return 0
    if k.has(XFS_PER_INODE_DAX) and not k.has(XFS_DISABLE_PER_INODE_DAX):
        return (yield from xfs_ioctl_setattr_dax_invalidate(t, ops, inode, on))
    inode.di.dax_flag = on  # v4.14 - v5.7: stored, S_DAX untouched
    return 0


@kfunc
def xfs_ioctl_setattr_dax_invalidate(t: Task, ops: XfsOps, inode: Inode, on: bool) -> KGen:
    """<= v4.13: lock, flush, invalidate, then flip S_DAX on the live inode."""
    k = t.k
    inode.di.dax_flag = on
    if on == inode.dax or inode.sb.dax_mode == "always":
        return 0
    yield from ops.xfs_ilock(t, inode, "MMAPLOCK_EXCL|IOLOCK_EXCL")
    try:
        k.trace(t, "filemap_write_and_wait", inode)
        yield from dax_writeback_mapping_range(t, inode.mapping)
        yield from invalidate_inode_pages2_range(t, inode.mapping, 0, LLONG_MAX)
        yield from xfs_diflags_to_linux(t, ops, inode, on)
        return 0
    finally:
        ops.xfs_iunlock(t, inode, "MMAPLOCK_EXCL|IOLOCK_EXCL")


@kfunc
def xfs_diflags_to_linux(t: Task, ops: XfsOps, inode: Inode, on: bool) -> KGen:
    yield from preempt(t, "xfs_diflags_to_linux")
    t.k.sched.note(("inode", inode.ino, "flags"))
    inode.dax = on
    inode.mapping.a_ops = "dax" if on else "aops"
    t.k.trace(t, "S_DAX", inode, "set" if on else "cleared")


@kfunc
def xfs_ioctl_setattr_aops_switch(t: Task, ops: XfsOps, inode: Inode, on: bool) -> KGen:
    """PROPOSED, NOT MERGED (2020 V4): flip S_DAX and a_ops under i_aops_sem, refused while
    the file is mmapped; the mmap and huge-fault paths still sample S_DAX unlocked."""
    k = t.k
    inode.di.dax_flag = on
    if on == inode.dax or inode.sb.dax_mode == "always":
        return 0
    yield from down_write(t, inode.i_aops_sem)
    try:
        k.sched.note(("i_mmap", inode.ino), R)
        if inode.mapping.mapped():
            k.trace(t, "dax_mapping_mapped", inode, "refuse DAX change while mmapped")
            return EBUSY
        yield from ops.xfs_ilock(t, inode, "MMAPLOCK_EXCL|IOLOCK_EXCL")
        try:
            yield from dax_writeback_mapping_range(t, inode.mapping)
            yield from invalidate_inode_pages2_range(t, inode.mapping, 0, LLONG_MAX)
            yield from xfs_diflags_to_linux(t, ops, inode, on)
        finally:
            ops.xfs_iunlock(t, inode, "MMAPLOCK_EXCL|IOLOCK_EXCL")
        return 0
    finally:
        up_write(t, inode.i_aops_sem)


@kfunc
def xfs_dax_notify_failure(t: Task, sb: SuperBlock, off: int, length: int, mf_flags: int) -> KGen:
    k = t.k
    name = sb.name
    pre_remove = bool(mf_flags & MF_MEM_PRE_REMOVE_FLAG)
    k.sched.note(sb.key, R)
    if not sb.born:
        return -EIO
    fs = sb.disk
    if not fs.rmapbt:
        k.trace(t, "xfs_dax_notify_failure", "no rmapbt: -EOPNOTSUPP")
        return -EOPNOTSUPP
    whole = length >= 1 << 63
    froze = False
    if pre_remove:
        k.printk(t, f"XFS ({name}): Device is about to be removed!")
        froze = yield from freeze_super(t, sb, "FREEZE_HOLDER_KERNEL")
    first = 0 if whole else off // PAGE_SIZE
    count = fs.nblocks if whole else max(1, length // PAGE_SIZE)
    want_shutdown = whole and not pre_remove  # metadata owners in range
    k.sched.note(("alloc", fs.uuid), R)  # the rmap walk (every rmap change writes the allocator)
    for _start, n, ino, fblock in list(fs.rmap.overlapping(first, count)):
        k.sched.note(("icache", sb.name, ino), R)
        inode = sb.icache.get(ino)
        if inode is None:
            continue  # xfs_iget(XFS_IGET_INCORE): not in core -> skipped
        k.trace(t, "xfs_dax_failure_fn", inode, fblock=fblock, n=n)
        k.sched.note(("inode", ino, "flags"), R)
        if inode.mapping.a_ops == "dax":
            yield from mf_dax_kill_procs(t, inode.mapping, fblock, n, mf_flags)
            if pre_remove:
                yield from invalidate_inode_pages2_range(t, inode.mapping, fblock, fblock + n)
    if pre_remove:
        xfs_force_shutdown(t, sb, "SHUTDOWN_FORCE_UMOUNT")
        if froze:
            yield from thaw_super(t, sb, "FREEZE_HOLDER_KERNEL")
        yield from thaw_super(t, sb, "FREEZE_HOLDER_USERSPACE")
    elif want_shutdown:
        xfs_force_shutdown(t, sb, "SHUTDOWN_CORRUPT_ONDISK")
    return 0


def xfs_force_shutdown(t: Task, sb: SuperBlock, reason: str) -> None:
    k = t.k
    k.sched.note(sb.key)
    if sb.shutdown:
        return
    sb.shutdown = reason
    k.trace(t, "xfs_force_shutdown", sb, reason)
    if reason == "SHUTDOWN_DEVICE_REMOVED":
        # xfs_fs_shutdown -> xfs_force_shutdown(mp, SHUTDOWN_DEVICE_REMOVED); the "detected
        # at" is the caller, fs_bdev_mark_dead (6.12: fs/xfs/xfs_super.c:1178, the real-kernel runs)
        k.printk(t, f"XFS ({sb.name}): Block device removal (0x20) detected at "
                    "fs_bdev_mark_dead (fs/xfs/xfs_super.c).  Shutting down filesystem.")
    elif reason == "SHUTDOWN_FORCE_UMOUNT":
        k.printk(t, f"XFS ({sb.name}): User initiated shutdown received.")
        k.printk(t, f"XFS ({sb.name}): Metadata I/O Error (0x4) detected at "
                    "xfs_dax_notify_ddev_failure (fs/xfs/xfs_notify_failure.c).  Shutting down filesystem.")
    else:
        k.printk(t, f"XFS ({sb.name}): Corruption of on-disk metadata (0x10) detected at "
                    "xfs_dax_notify_failure (fs/xfs/xfs_notify_failure.c).  Shutting down filesystem.")
    k.printk(t, f"XFS ({sb.name}): Please unmount the filesystem and rectify the problem(s)")


xfs_dax_holder_operations = DaxHolderOperations("xfs_dax_holder_operations", xfs_dax_notify_failure)
