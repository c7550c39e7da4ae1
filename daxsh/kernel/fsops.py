"""Per-filesystem paths: XFS, ext4, ext2 (shared/KERNEL.md 2.3, 2.5, 2.7, 2.11, section 5).

Each class holds one filesystem's locking and call chains under the kernel's function names.  The
VFS calls the same methods on each (``setattr_size``, ``punch``, ``fault``, ``huge_fault``,
``mmap``, ``evict_inode``, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import dax
from .config import (
    DAX_BREAK_LAYOUT,
    DAX_BREAK_LAYOUT_FINAL,
    DAX_DONTCACHE,
    EXT4_BREAK_LAYOUTS,
    EXT4_DAX_DONTCACHE,
    INVALIDATE_LOCK,
    MAP_SYNC,
    PROPOSED_DAX_AOPS_SWITCH,
    PROPOSED_DAX_BREAK_MAPPING_UNINTERRUPTIBLE,
    PROPOSED_XFS_EVICT_BREAK_LAYOUTS,
    XFS_BREAK_DAX_LAYOUTS,
    XFS_DISABLE_PER_INODE_DAX,
    XFS_PER_INODE_DAX,
)
from .dax import VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, Vmf
from .footprint import R
from .fs import DiskInode, Inode, SuperBlock, d_mark_dontcache, sb_end_pagefault, size_to_blocks
from .fs import sb_start_pagefault as fs_sb_start_pagefault
from .leases import EWOULDBLOCK, break_layout
from .locks import down_read, down_write, up_read, up_write
from .mm import unmap_mapping_range
from .nvdimm import LLONG_MAX, PAGE_SIZE
from .sched import (
    KGen,
    Task,
    kfunc,
    preempt,
    schedule,
)

if TYPE_CHECKING:
    from .fs import File
    from .machine import Kernel
    from .mm import VMA

EIO, EINVAL, EBUSY, EOPNOTSUPP, ENOSPC, EINTR = 5, 22, 16, 95, 28, 4

BREAK_WRITE = "BREAK_WRITE"
BREAK_UNMAP = "BREAK_UNMAP"
BREAK_UNMAP_FINAL = "BREAK_UNMAP_FINAL"


def note_allocated(k: Kernel, inode: Inode, got: list[tuple[int, int, int]]) -> None:
    """Footprint of an allocation: the file's block map and every block it now owns."""
    sched = k.sched
    if sched.footprint is not None:
        sched.note(("inode", inode.ino, "extents"))
        for _fb, block, n in got:
            for b in range(block, block + n):
                sched.note(("block", b))


class FsOps:
    """What every filesystem shares; subclasses override the fs-specific chains."""

    name = ""

    def tr(self) -> str:
        return ""  # the ops table is not an argument of the kernel's functions
    has_huge_fault = True
    setup_inode_name = ""
    supports_punch = True
    # file_operations.mmap_supported_flags = MAP_SYNC: xfs and ext4, not ext2
    # (tl:fs/xfs/xfs_file.c@v6.1 line 1486, tl:fs/ext4/file.c@v6.1 line 915; ext2_file_operations
    # has none, so do_mmap's MAP_SHARED_VALIDATE check fails with EOPNOTSUPP, mm/mmap.c line 1346)
    mmap_sync = True

    # -- naming -------------------------------------------------------------------------------
    def mmaplock_name(self, k: Kernel) -> str:
        return "invalidate_lock"

    # -- mount / S_DAX --------------------------------------------------------------------------
    def parse_dax_option(self, k: Kernel, opt: str | None) -> tuple[str, str]:
        """Return (dax mode, error message)."""
        if opt is None:
            return "inode", ""
        if opt in ("dax", "dax=always"):
            return "always", ""
        return "", f"unknown mount option [{opt}]"

    def per_file_dax(self, k: Kernel) -> bool:
        return False

    def inode_should_enable_dax(self, k: Kernel, sb: SuperBlock, di: DiskInode) -> bool:
        if di.is_dir or sb.dax_mode == "never":
            return False
        if sb.dax_mode == "always":
            return True
        return self.per_file_dax(k) and di.dax_flag

    # -- locking helpers ------------------------------------------------------------------------
    def lock_mmap(self, t: Task, inode: Inode, write: bool) -> KGen:
        if write:
            yield from down_write(t, inode.mmaplock)
        else:
            yield from down_read(t, inode.mmaplock)

    def unlock_mmap(self, t: Task, inode: Inode, write: bool) -> None:
        if write:
            up_write(t, inode.mmaplock)
        else:
            up_read(t, inode.mmaplock)

    @staticmethod
    def sb_start_pagefault(t: Task, sb: SuperBlock) -> KGen:
        """Write faults hold SB_FREEZE_PAGEFAULT (``fs.sb_start_pagefault``)."""
        yield from fs_sb_start_pagefault(t, sb)

    # -- block mapping --------------------------------------------------------------------------
    def iomap_begin(self, t: Task, inode: Inode, pgoff: int, write: bool) -> KGen:
        """``->iomap_begin`` for one page: (block or None for a hole, new, error)."""
        k = t.k
        k.sched.note(inode.sb.key, R)
        if inode.sb.shutdown:
            return None, False, EIO
        yield from preempt(t, f"{self.name}_iomap_begin")
        k.sched.note(("inode", inode.ino, "extents"), R)
        v = inode.di.extents.lookup(pgoff)
        if v is not None:
            return v[1], False, 0
        if not write:
            return None, False, 0
        k.sched.note(("alloc", inode.sb.disk.uuid))
        got = inode.sb.disk.alloc(inode.di, pgoff, 1)
        if not got:
            return None, False, ENOSPC
        note_allocated(k, inode, got)
        k.trace(t, f"{self.name}_alloc_blocks", inode, fblock=pgoff, block=got[0][1], n=1)
        return got[0][1], True, 0

    def alloc_range(self, t: Task, inode: Inode, first: int, n: int) -> KGen:
        """Allocate every hole in file blocks [first, first+n) as whole extents (as the fs's
        ->iomap_begin does for a write), so a stripe unit can align them."""
        k = t.k
        fs = inode.sb.disk
        pos = first
        k.sched.note(("inode", inode.ino, "extents"), R)
        for fs_start, cnt, _tag, _b in [*inode.di.extents.overlapping(first, n), (first + n, 0, None, 0)]:
            if fs_start > pos:
                yield from preempt(t, f"{self.name}_iomap_begin")
                k.sched.note(("alloc", fs.uuid))
                got = fs.alloc(inode.di, pos, fs_start - pos)
                note_allocated(k, inode, got)
                for fb, block, m in got:
                    k.trace(t, f"{self.name}_alloc_blocks", inode, fblock=fb, block=block, n=m)
                    for b in range(block, block + m) if fs.foreign else ():
                        fs.foreign.pop(b, None)
            pos = max(pos, fs_start + cnt)

    def iomap_extent(self, t: Task, inode: Inode, pgoff: int, n: int, write: bool) -> KGen:
        """A contiguous extent for a PMD fault: (first block, new) or None."""
        k = t.k
        k.sched.note(inode.sb.key, R)
        if inode.sb.shutdown:
            return None
        yield from preempt(t, f"{self.name}_iomap_begin")
        k.sched.note(("inode", inode.ino, "extents"), R)
        pieces = inode.di.extents.overlapping(pgoff, n)
        if pieces and len(pieces) == 1 and pieces[0][1] == n:
            return pieces[0][3], False
        if not pieces and write:
            k.sched.note(("alloc", inode.sb.disk.uuid))
            got = inode.sb.disk.alloc(inode.di, pgoff, n)
            note_allocated(k, inode, got)
            if len(got) == 1:
                t.k.trace(t, f"{self.name}_alloc_blocks", inode, fblock=pgoff, block=got[0][1], n=n)
                return got[0][1], True
            for fb, _b, cnt in got:
                inode.sb.disk.free_range(inode.di, fb, cnt)
        return None

    def free_blocks(self, t: Task, inode: Inode, fblock: int, count: int, func: str) -> KGen:
        k = t.k
        yield from preempt(t, func)
        k.sched.note(("alloc", inode.sb.disk.uuid))
        k.sched.note(("inode", inode.ino, "extents"))
        freed = inode.sb.disk.free_range(inode.di, fblock, count)
        sched = k.sched
        if sched.footprint is not None:
            for block, n in freed:
                for b in range(block, block + n):
                    sched.note(("block", b))
        for block, n in freed:
            k.trace(t, func, inode, block=block, n=n)
            k.blocks_freed(t, inode, block, n)

    # -- faults ---------------------------------------------------------------------------------
    def fault(self, t: Task, vmf: Vmf) -> KGen:
        raise NotImplementedError

    def huge_fault(self, t: Task, vmf: Vmf, order: int) -> KGen:
        raise NotImplementedError

    def pfn_mkwrite(self, t: Task, vmf: Vmf) -> KGen:
        return self.fault(t, vmf)

    def pagecache_fault(self, t: Task, vmf: Vmf, order: int) -> KGen:
        """``filemap_fault`` / ``iomap_page_mkwrite``: the page-cache path (no huge pages)."""
        k = t.k
        inode = vmf.vma.file.inode
        k.sched.note(("inode", inode.ino, "size"), R)
        if order != 0:
            # S_DAX changed after ->huge_fault checked it (shared/KERNEL.md 3.2: "kernel BUG/oops
            # in the fault path", no log of it survives).  A huge-fault vmf carries no page:
            # iomap_page_mkwrite's lock_page(vmf->page) dereferences NULL (write); filemap_fault
            # has no PMD path (read).  The text is the model's, marked as inferred.
            why = (f"(daxsh, inferred: a PMD-sized fault (order {order}) of ino {inode.ino} reached "
                   "the page-cache path after S_DAX changed under ->huge_fault; no kernel log "
                   "of this crash exists)")
            if vmf.write:
                raise k.make_oops(t, "BUG: unable to handle kernel NULL pointer dereference at "
                                  "0000000000000000", ("IP: iomap_page_mkwrite", why))
            raise k.make_oops(t, "kernel BUG: PMD fault on the page-cache path", ("IP: filemap_fault", why))
        if vmf.pgoff * PAGE_SIZE >= inode.size:
            return VM_FAULT_SIGBUS
        if vmf.write:
            _b, _new, err = yield from self.iomap_begin(t, inode, vmf.pgoff, True)
            if err:
                return VM_FAULT_SIGBUS
        pfn = k.pagecache_get(t, inode.mapping, vmf.pgoff)
        k.trace(t, "filemap_map_pages" if not vmf.write else "iomap_page_mkwrite", inode,
                index=vmf.pgoff)
        k.mm_insert_pte(t, vmf.vma, vmf.addr, pfn, vmf.write)
        return VM_FAULT_NOPAGE

    def mmap(self, t: Task, file: File, vma: VMA) -> KGen:
        k = t.k
        inode = file.inode
        k.sched.note(("inode", inode.ino, "flags"), R)
        if vma.sync and k.has(MAP_SYNC) and not self.mmap_sync:
            k.trace(t, "do_mmap", inode, "MAP_SYNC not in mmap_supported_flags")
            return EOPNOTSUPP
        if vma.sync and (not k.has(MAP_SYNC) or not inode.dax):
            k.trace(t, f"{self.name}_file_mmap", inode, "MAP_SYNC refused")
            return EOPNOTSUPP if k.has(MAP_SYNC) else EINVAL
        dax = inode.dax  # IS_DAX, read once: VM_HUGEPAGE follows it
        k.trace(t, f"{self.name}_file_mmap", inode, IS_DAX=dax)
        yield from preempt(t, f"{self.name}_file_mmap")
        if dax and self.has_huge_fault:
            vma.hugepage = True
        return 0

    def fsync(self, t: Task, inode: Inode) -> KGen:
        yield from dax.dax_writeback_mapping_range(t, inode.mapping)

    # -- truncate, punch ------------------------------------------------------------------------
    def setattr_size(self, t: Task, inode: Inode, size: int) -> KGen:
        raise NotImplementedError

    def punch(self, t: Task, inode: Inode, off: int, length: int) -> KGen:
        raise NotImplementedError

    def truncate_pagecache(self, t: Task, inode: Inode, newsize: int) -> KGen:
        """``truncate_setsize`` -> ``truncate_pagecache``: zap PTEs, then delete entries."""
        k = t.k
        k.trace(t, "truncate_pagecache", inode, newsize=newsize)
        first = size_to_blocks(newsize)
        unmap_mapping_range(t, inode.mapping, first, LLONG_MAX, True)
        yield from preempt(t, "truncate_pagecache")
        yield from dax.truncate_inode_pages_range(t, inode.mapping, first, LLONG_MAX)
        unmap_mapping_range(t, inode.mapping, first, LLONG_MAX, True)

    def truncate_pagecache_range(self, t: Task, inode: Inode, first: int, n: int) -> KGen:
        t.k.trace(t, "truncate_pagecache_range", inode, first=first, n=n)
        unmap_mapping_range(t, inode.mapping, first, n, True)
        yield from preempt(t, "truncate_pagecache_range")
        yield from dax.truncate_inode_pages_range(t, inode.mapping, first, first + n)

    def set_size(self, t: Task, inode: Inode, size: int) -> None:
        t.k.trace(t, "i_size_write", inode, size=size)
        t.k.sched.note(("inode", inode.ino, "size"))
        inode.di.size = size

    # -- read / write syscalls ------------------------------------------------------------------
    def write_iter(self, t: Task, inode: Inode, off: int, length: int) -> KGen:
        yield from down_write(t, inode.i_rwsem)
        try:
            yield from self.write_checks(t, inode)
            err = yield from self.rw(t, inode, off, length, True)
            t.k.sched.note(("inode", inode.ino, "size"), R)
            if not err and off + length > inode.size:
                self.set_size(t, inode, off + length)
            return err
        finally:
            up_write(t, inode.i_rwsem)

    def write_checks(self, t: Task, inode: Inode) -> KGen:
        return
        yield

    def read_iter(self, t: Task, inode: Inode, off: int, length: int) -> KGen:
        yield from down_read(t, inode.i_rwsem)
        try:
            return (yield from self.rw(t, inode, off, length, False))
        finally:
            up_read(t, inode.i_rwsem)

    def rw(self, t: Task, inode: Inode, off: int, length: int, write: bool) -> KGen:
        """``dax_iomap_rw`` (or buffered I/O for a non-DAX file): returns 0 or an errno."""
        k = t.k
        k.sched.note(("inode", inode.ino, "flags"), R)
        k.sched.note(("inode", inode.ino, "size"), R)
        k.sched.note(inode.sb.key, R)
        fn = "dax_iomap_rw" if inode.dax else ("iomap_file_buffered_write" if write else "filemap_read")
        k.trace(t, fn, inode, off=off, len=length)
        end = off + length
        if not write:
            end = min(end, inode.size)
        pg = off // PAGE_SIZE
        if write and not inode.sb.shutdown:
            yield from self.alloc_range(t, inode, pg, -(-end // PAGE_SIZE) - pg)
        while pg * PAGE_SIZE < end:
            block, _new, err = yield from self.iomap_begin(t, inode, pg, write)
            if err:
                return err
            if inode.dax and block is not None:
                pfn, derr = dax._direct_access(t, inode, block)
                if derr == "EHWPOISON":
                    return EIO
                if pfn is None:
                    return EIO
                if write:
                    # a write over a hole that the zero page maps invalidates that entry first
                    dax.note_entry(k, inode.mapping, pg)
                    found = dax.lookup_entry(inode.mapping, pg)
                    if found is not None and isinstance(found[1], dax.DaxEntry) and found[1].kind == dax.ZERO:
                        yield from dax.dax_invalidate_mapping_entry_sync(t, inode.mapping, found[0])
                    k.media_write(t, inode.sb.disk, block, f"write to ino {inode.ino}")
                else:
                    k.media_read(t, inode, pg, block)
            elif block is not None and write:
                k.media_write(t, inode.sb.disk, block, f"write to ino {inode.ino}")
            elif block is not None:
                k.media_read(t, inode, pg, block)
            pg += 1
        return 0

    # -- eviction -------------------------------------------------------------------------------
    def evict_inode(self, t: Task, inode: Inode) -> KGen:
        """No ``->evict_inode``: the generic ``truncate_inode_pages_final`` + ``clear_inode``."""
        yield from dax.truncate_inode_pages_final(t, inode.mapping)
        t.k.trace(t, "clear_inode", inode)

    def destroy_inode(self, t: Task, inode: Inode) -> KGen:
        """Free the blocks of an unlinked inode (xfs inactivation / ext4/ext2 evict)."""
        t.k.sched.note(("inode", inode.ino, "nlink"), R)
        if inode.di.nlink == 0:
            di = inode.di
            yield from self.free_blocks(t, inode, 0, LLONG_MAX, f"{self.name}_free_eofblocks"
                                        if self.name == "xfs" else f"{self.name}_truncate")
            t.k.sched.note(("ino_alloc", inode.sb.disk.uuid))
            inode.sb.disk.inodes.pop(di.ino, None)
            t.k.trace(t, f"{self.name}_ifree", inode)

    # -- per-file DAX ---------------------------------------------------------------------------
    def fileattr_set_dax(self, t: Task, inode: Inode, on: bool) -> KGen:
        return EOPNOTSUPP
        yield


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
    def fileattr_set_dax(self, t: Task, inode: Inode, on: bool) -> KGen:
        return xfs_ioctl_setattr(t, self, inode, on)


@kfunc
def xfs_filemap_huge_fault(t: Task, ops: XfsOps, vmf: Vmf, order: int) -> KGen:
    inode = vmf.vma.file.inode
    t.k.sched.note(("inode", inode.ino, "flags"), R)
    if not inode.dax:  # checked without any lock (seed 004)
        return dax.VM_FAULT_FALLBACK
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
                ret = yield from dax.dax_iomap_fault(t, vmf, order)
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
        err = yield from dax.dax_break_layout(t, inode, 0, LLONG_MAX, cb, "xfs_break_dax_layouts")
        return err, False
    page = yield from dax.dax_layout_busy_page(t, inode.mapping)
    if page is None:
        return 0, False
    err = yield from dax.wait_page_idle(t, page, cb, "xfs_break_dax_layouts")
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
                    page = yield from dax.dax_layout_busy_page(t, inode.mapping, unmapped=True)
                    if page is None:
                        break
                    yield from dax.wait_page_idle(
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
        yield from dax.dax_break_layout_final(t, inode)
    yield from dax.truncate_inode_pages_final(t, inode.mapping)
    t.k.trace(t, "clear_inode", inode)


@kfunc
def xfs_fs_evict_inode_2022(t: Task, ops: XfsOps, inode: Inode) -> KGen:
    """PROPOSED, NOT MERGED (2022 v2 05/18): locks and BREAK_UNMAP_FINAL for every inode."""
    iolock = "IOLOCK_EXCL|MMAPLOCK_EXCL"
    yield from ops.xfs_ilock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
    yield from xfs_break_layouts(t, ops, inode, iolock, BREAK_UNMAP_FINAL)
    ops.xfs_iunlock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
    yield from dax.truncate_inode_pages_final(t, inode.mapping)
    t.k.trace(t, "clear_inode", inode)


@kfunc
def xfs_fs_evict_inode_2025v6(t: Task, ops: XfsOps, inode: Inode) -> KGen:
    """PROPOSED (2025 v6 07/26): IOLOCK_EXCL|MMAPLOCK_EXCL and xfs_wait_dax_page."""
    t.k.sched.note(("inode", inode.ino, "flags"), R)
    if inode.dax:
        yield from ops.xfs_ilock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
        yield from dax.dax_break_mapping_uninterruptible(
            t, inode, lambda tt: xfs_wait_dax_page(tt, ops, inode))
        ops.xfs_iunlock(t, inode, "IOLOCK_EXCL|MMAPLOCK_EXCL")
    yield from dax.truncate_inode_pages_final(t, inode.mapping)
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
        yield from dax.dax_writeback_mapping_range(t, inode.mapping)
        yield from dax.invalidate_inode_pages2_range(t, inode.mapping, 0, LLONG_MAX)
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
            yield from dax.dax_writeback_mapping_range(t, inode.mapping)
            yield from dax.invalidate_inode_pages2_range(t, inode.mapping, 0, LLONG_MAX)
            yield from xfs_diflags_to_linux(t, ops, inode, on)
        finally:
            ops.xfs_iunlock(t, inode, "MMAPLOCK_EXCL|IOLOCK_EXCL")
        return 0
    finally:
        up_write(t, inode.i_aops_sem)


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
            return dax.VM_FAULT_FALLBACK
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
            return (yield from dax.dax_iomap_fault(t, vmf, order))
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
        return (yield from dax.dax_break_layout(t, inode, 0, LLONG_MAX, cb, "ext4_break_layouts"))
    while True:
        page = yield from dax.dax_layout_busy_page(t, inode.mapping)
        if page is None:
            return 0
        err = yield from dax.wait_page_idle(t, page, cb, "ext4_break_layouts")
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
        yield from dax.dax_break_mapping_uninterruptible(
            t, inode, lambda tt: ext4_wait_dax_page(tt, ops, inode))
    elif k.has(DAX_BREAK_LAYOUT_FINAL):
        yield from dax.dax_break_layout_final(t, inode)
    yield from dax.truncate_inode_pages_final(t, inode.mapping)
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
        return dax.VM_FAULT_FALLBACK  # type: ignore[return-value]

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
            return (yield from dax.dax_iomap_fault(t, vmf, 0))
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


FS_TYPES: dict[str, type[FsOps]] = {"xfs": XfsOps, "ext4": Ext4Ops, "ext2": Ext2Ops}
