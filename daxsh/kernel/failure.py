"""Device unbind and memory failure: ``kill_dax`` and the holder's ``notify_failure`` by era,
``memory_failure`` on fsdax pages, ``mf_dax_kill_procs`` (shared/KERNEL.md 2.9, 2.10, 9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import dax
from .config import (
    DAX_HOLDER_NOTIFY_FAILURE,
    DAX_PAGE_MAPPING,
    FREEZE_HOLDERS,
    FS_BDEV_MARK_DEAD,
    KILL_DAX_NOTIFY,
    MEMORY_FAILURE_DEV_PAGEMAP,
    MEMUNMAP_WAITS,
    MF_MEM_PRE_REMOVE,
    ZONE_DEVICE_REFCOUNT,
)
from .footprint import R
from .fs import (
    SB_FREEZE_COMPLETE,
    SB_FREEZE_FS,
    SB_FREEZE_PAGEFAULT,
    SB_FREEZE_WRITE,
    invalidate_inodes,
    shrink_dcache_sb,
)
from .locks import (
    WRITE,
    _down,
    _release,
    down_read,
    down_write,
    percpu_down_write,
    percpu_up_write,
    up_read,
    up_write,
)
from .mm import do_user_access, lookup_pte, note_lookup, unmap_mapping_range
from .nvdimm import PAGE_SIZE
from .sched import (
    TASK_UNINTERRUPTIBLE,
    KGen,
    Task,
    TaskExit,
    Wait,
    finish_wait,
    kfunc,
    prepare_to_wait,
    schedule,
)
from .syscalls import Ret

if TYPE_CHECKING:
    from .fs import AddressSpace, SuperBlock
    from .mm import Process
    from .nvdimm import PmemDisk

# enum mf_flags (tl:include/linux/mm.h@v6.1 lines 3411-3419; MF_MEM_PRE_REMOVE = 1 << 7 after
# MF_NO_RETRY = 1 << 6 from fa422b353d21, v6.8)
MF_COUNT_INCREASED = 1 << 0
MF_ACTION_REQUIRED = 1 << 1
MF_MUST_KILL = 1 << 2
MF_SW_SIMULATED = 1 << 5
MF_MEM_PRE_REMOVE_FLAG = 1 << 7
ENODEV, EOPNOTSUPP, EIO = 19, 95, 5


@kfunc
def unbind_store(t: Task, name: str) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    if name != nv.pfn.name:
        return Ret(ENODEV)
    if not nv.pfn.bound:
        return Ret(ENODEV, None, [f"{name} is not bound; `bind {name}`"])
    # drivers/base/dd.c: the release runs under device_lock(dev) and __device_release_driver()
    # releases dev->driver only if it is still set, so a concurrent unbind that got there first
    # wins and the second returns having done nothing (unbind_store() still returns count)
    pfn = nv.pfn
    yield from _down(t, pfn.mutex, WRITE, "mutex_lock")  # a mutex: one owner, as a writer
    try:
        k.sched.note(("nvdimm",))
        if pfn.bound:
            yield from device_release_driver(t)
    finally:
        _release(t, pfn.mutex, WRITE, "mutex_unlock")
    return Ret(0)


@kfunc
def device_release_driver(t: Task) -> KGen:
    # devres runs in LIFO order: pmem_release_disk, then the memmap
    yield from pmem_release_disk(t)
    yield from memunmap_pages(t)
    t.k.sched.note(("nvdimm",))
    t.k.nvdimm.pfn.bound = False


@kfunc
def pmem_release_disk(t: Task) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.trace(t, "dax_remove_host", "pmem0")
    if nv.dax is not None:
        yield from kill_dax(t)
    k.trace(t, "put_dax", "dax0")
    yield from del_gendisk(t)
    k.sched.note(("nvdimm",))
    nv.disk = None
    nv.dax = None


@kfunc
def del_gendisk(t: Task) -> KGen:
    """The disk goes away; the filesystem on it is told, and its unused inodes are evicted
    while the memmap still exists (shared/KERNEL.md 9.3 [R] on 6.1 and 6.12).

    Up to v6.5: ``fsync_bdev``, ``__invalidate_device(bdev, true)`` -> ``get_super``
    (``down_read(&sb->s_umount)``, skipped unless ``s_root`` and SB_BORN) ->
    ``shrink_dcache_sb`` -> ``invalidate_inodes(sb, true)`` (tl:block/genhd.c@v6.1 lines
    625-629, tl:block/bdev.c@v6.1 lines 1020-1038).  From v6.6 (fs-bdev-mark-dead):
    ``blk_report_disk_dead`` -> ``bdev_mark_dead`` -> the holder's ``fs_bdev_mark_dead``
    (``sync_filesystem``, ``shrink_dcache_sb``, ``invalidate_inodes``, ``->shutdown``)."""
    k = t.k
    disk = k.nvdimm.disk
    k.sched.note(("nvdimm",), R)
    if disk is None:
        return
    if k.has(FS_BDEV_MARK_DEAD):
        k.trace(t, "blk_report_disk_dead", disk.name)
        k.trace(t, "bdev_mark_dead", disk.name, surprise=False)
        yield from fs_bdev_mark_dead(t, disk, False)
    else:
        yield from fsync_bdev(t, disk)
        yield from __invalidate_device(t, disk)


@kfunc
def fsync_bdev(t: Task, disk: PmemDisk) -> KGen:
    """``get_super`` + ``sync_filesystem`` (the DAX entries' writeback)."""
    from .syscalls import sync_sb
    sb = yield from _get_super(t, disk)
    if sb is None:
        return
    try:
        t.k.trace(t, "sync_filesystem", sb)
        yield from sync_sb(t, sb)
    finally:
        up_read(t, sb.s_umount)


def _get_super(t: Task, disk: PmemDisk) -> KGen:
    """``get_super`` / ``bdev_super_lock_shared``: the superblock on ``disk`` with ``s_umount``
    held for read, or None when it is being torn down (``s_root`` gone)."""
    k = t.k
    k.sched.note(("mounts",), R)
    sb = disk.sb
    if sb is None:
        sb = next((s for s in k.dying_sbs if s.bdev is disk), None)
    if sb is None:
        return None
    yield from down_read(t, sb.s_umount)
    k.sched.note(sb.key, R)
    if sb.dying or not sb.born or sb.root is None:
        up_read(t, sb.s_umount)
        return None
    return sb


@kfunc
def __invalidate_device(t: Task, disk: PmemDisk) -> KGen:
    sb = yield from _get_super(t, disk)
    if sb is None:
        return
    try:
        yield from shrink_dcache_sb(t, sb)
        yield from invalidate_inodes(t, sb)
    finally:
        up_read(t, sb.s_umount)


@kfunc
def fs_bdev_mark_dead(t: Task, disk: PmemDisk, surprise: bool) -> KGen:
    """fs/super.c ``fs_bdev_mark_dead`` (v6.6+), the ``mark_dead`` of ``fs_holder_ops``."""
    from .syscalls import sync_sb
    sb = yield from _get_super(t, disk)
    if sb is None:
        return
    try:
        if not surprise:
            t.k.trace(t, "sync_filesystem", sb)
            yield from sync_sb(t, sb)
        yield from shrink_dcache_sb(t, sb)
        yield from invalidate_inodes(t, sb)
        fstype = sb.disk.fstype
        if fstype == "xfs":
            t.k.trace(t, "xfs_fs_shutdown", sb)
            xfs_force_shutdown(t, sb, "SHUTDOWN_DEVICE_REMOVED")
        elif fstype == "ext4":
            ext4_force_shutdown(t, sb, "EXT4_GOING_FLAGS_NOLOGFLUSH")
        # ext2 has no ->shutdown
    finally:
        up_read(t, sb.s_umount)


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


@kfunc
def kill_dax(t: Task) -> KGen:
    k = t.k
    dax_dev = k.nvdimm.dax
    assert dax_dev is not None
    if k.has(KILL_DAX_NOTIFY) and dax_dev.holder is not None:
        flags = MF_MEM_PRE_REMOVE_FLAG if k.has(MF_MEM_PRE_REMOVE) else 0
        yield from dax_holder_notify_failure(t, 0, 1 << 64, flags)
    k.sched.note(("nvdimm",))
    dax_dev.alive = False
    k.trace(t, "synchronize_srcu", "dax_srcu")
    dax_dev.holder = None
    dax_dev.holder_ops = None


@kfunc
def memunmap_pages(t: Task) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    pg = nv.pgmap
    if pg is None:
        return
    if k.has(MEMUNMAP_WAITS) and not k.has(ZONE_DEVICE_REFCOUNT):
        # each referenced page holds a pgmap reference: wait_for_completion(&pgmap->done)
        while True:
            if k.sched.footprint is not None:
                for p in pg.pages.values():
                    k.sched.note(("ref", p.pfn), R)
            busy = next((p for p in sorted(pg.pages.values(), key=lambda p: p.pfn)
                         if p.refcount > pg.idle), None)
            if busy is None:
                break
            wq = k.var_wq(busy.pfn)
            prepare_to_wait(t, wq, TASK_UNINTERRUPTIBLE,
                            Wait("var", busy, f"page pfn {busy.pfn:#x}", "memunmap_pages",
                                 "wait_for_completion(&pgmap->done)"))
            if busy.refcount > pg.idle:
                yield from schedule(t)
            finish_wait(t, wq)
    k.trace(t, "arch_remove_memory", f"pfn {pg.first_pfn:#x}", npfns=pg.npfns)
    k.sched.note(("nvdimm",))
    pg.present = False
    nv.removed_pgmaps.append(pg)
    nv.pgmap = None


@kfunc
def bind_store(t: Task, name: str) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    if name != nv.pfn.name:
        return Ret(ENODEV)
    if nv.pfn.bound:
        return Ret(16, None, [f"{name} is already bound"])
    yield from ()
    nv.attach()
    k.trace(t, "pmem_attach_disk", name)
    k.printk(t, f"pmem0: detected capacity change from 0 to {nv.ns.npfns * 8}")
    return Ret(0)


# -- the holder's notify_failure (XFS) ---------------------------------------------------------


@kfunc
def dax_holder_notify_failure(t: Task, off: int, length: int, mf_flags: int) -> KGen:
    k = t.k
    k.sched.note(("nvdimm",), R)
    dax_dev = k.nvdimm.dax
    if dax_dev is None or not dax_dev.alive:
        return -6  # ENXIO
    sb = dax_dev.holder
    if sb is None:
        return -EOPNOTSUPP
    return (yield from xfs_dax_notify_failure(t, sb, off, length, mf_flags))


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
                yield from dax.invalidate_inode_pages2_range(t, inode.mapping, fblock, fblock + n)
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
        # at" is the caller, fs_bdev_mark_dead (6.12: fs/xfs/xfs_super.c:1178, KERNEL.md 9.3 [R])
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


@kfunc
def freeze_super(t: Task, sb: SuperBlock, holder: str) -> KGen:
    """``freeze_super`` (tl:fs/super.c@v6.1 lines 1734-1800; v6.6+ adds the holder): raise
    ``s_writers.frozen`` level by level and take each level's percpu rwsem for write
    (``sb_wait_write``), which waits for every holder of that level: SB_FREEZE_WRITE
    (``sb_start_write``: a truncate or an unlink under ``mnt_want_write``, a write) with
    ``s_umount`` dropped "to preserve sb_start_write -> s_umount ordering", then under
    ``s_umount`` SB_FREEZE_PAGEFAULT (write faults), ``sync_filesystem``, SB_FREEZE_FS,
    ``->freeze_fs``.  The levels stay held until ``thaw_super``.  Returns whether this call froze
    the filesystem (a frozen one gives -EBUSY, which the callers modelled ignore).  Waiting on
    SB_FREEZE_WRITE is where real 6.12 was seen sleeping (``percpu_down_write <- freeze_super
    <- xfs_dax_notify_ddev_failure``, shared/KERNEL.md 9.4 [R])."""
    k = t.k
    k.trace(t, "freeze_super", sb, holder if k.has(FREEZE_HOLDERS) else "")
    yield from down_write(t, sb.s_umount)
    k.sched.note(sb.key)
    if sb.frozen:
        up_write(t, sb.s_umount)
        return False
    sb.frozen = SB_FREEZE_WRITE
    up_write(t, sb.s_umount)
    yield from percpu_down_write(t, sb.s_writers[SB_FREEZE_WRITE - 1])
    yield from down_write(t, sb.s_umount)
    try:
        k.sched.note(sb.key)
        sb.frozen = SB_FREEZE_PAGEFAULT
        yield from percpu_down_write(t, sb.s_writers[SB_FREEZE_PAGEFAULT - 1])
        from .syscalls import sync_sb
        k.trace(t, "sync_filesystem", sb)
        yield from sync_sb(t, sb)
        k.sched.note(sb.key)
        sb.frozen = SB_FREEZE_FS
        yield from percpu_down_write(t, sb.s_writers[SB_FREEZE_FS - 1])
        if sb.disk.fstype == "xfs":
            k.trace(t, "xfs_fs_freeze", sb)
        k.sched.note(sb.key)
        sb.frozen = SB_FREEZE_COMPLETE
        sb.freeze_holders.append(holder)
        k.lockdep.hide(t, sb.s_writers)  # lockdep_sb_freeze_release
        return True
    finally:
        up_write(t, sb.s_umount)


@kfunc
def thaw_super(t: Task, sb: SuperBlock, holder: str) -> KGen:
    """``thaw_super``: when the last holder thaws, drop the levels in reverse order."""
    k = t.k
    k.trace(t, "thaw_super", sb, holder if k.has(FREEZE_HOLDERS) else "")
    yield from down_write(t, sb.s_umount)
    try:
        k.sched.note(sb.key)
        if holder not in sb.freeze_holders:
            return
        sb.freeze_holders.remove(holder)
        if sb.freeze_holders:
            return
        sb.frozen = 0
        k.lockdep.unhide(t, sb.s_writers)  # lockdep_sb_freeze_acquire (a trylock)
        for sem in reversed(sb.s_writers):
            if sem.writer is not None:
                percpu_up_write(t, sem)
        sb.freeze_wq.wake_up(k)
    finally:
        up_write(t, sb.s_umount)


# -- memory failure -------------------------------------------------------------------------------


def collect_procs_fsdax(t: Task, mapping: AddressSpace, pgoff: int, pre_remove: bool
                        ) -> list[tuple[Process, int, int]]:
    """Tasks mapping ``pgoff`` whose page is actually mapped: every one in pre-remove,
    else only the current task (``task_early_kill(tsk, force_early=1)``)."""
    out: list[tuple[Process, int, int]] = []
    cur = t.proc
    k = t.k
    k.sched.note(("i_mmap", mapping.host.ino), R)
    for vma in mapping.i_mmap:
        if not vma.pgoff <= pgoff < vma.pgoff + (vma.end - vma.start) // PAGE_SIZE:
            continue
        p = vma.mm.owner
        if p is not None:
            k.sched.note(("proc", p.name), R)
        if p is None or p.dying:
            continue
        addr = vma.addr_of(pgoff)
        note_lookup(k, vma.mm, addr)
        pte = lookup_pte(vma.mm, addr)
        if pte is None:
            continue  # size_shift 0: not mapped, skipped
        if not pre_remove and p is not cur:
            continue
        shift = 21 if pte.pmd else 12
        if all(x[0] is not p for x in out):
            out.append((p, addr, shift))
    return out


@kfunc
def mf_dax_kill_procs(t: Task, mapping: AddressSpace, index: int, count: int, mf_flags: int) -> KGen:
    """Since it came (v6.0, "mm: introduce mf_dax_kill_procs() for fsdax case") it adds
    MF_ACTION_REQUIRED | MF_MUST_KILL to the caller's flags (tl:mm/memory-failure.c@v6.1 line
    1675, v6.12 line 1847): the current task, if it maps the page, gets BUS_MCEERR_AR."""
    k = t.k
    pre_remove = bool(mf_flags & MF_MEM_PRE_REMOVE_FLAG)
    mf_flags |= MF_ACTION_REQUIRED | MF_MUST_KILL
    for pg in range(index, index + count):
        dax.note_entry(k, mapping, pg)
        found = dax.lookup_entry(mapping, pg)
        if found is None or not isinstance(found[1], dax.DaxEntry) or found[1].kind != dax.NORMAL:
            continue
        base, e = found
        got = yield from dax.get_unlocked_entry(t, mapping, pg)  # dax_lock_mapping_entry
        if got is None:
            continue
        pfn = e.pfn + (pg - base)
        if not pre_remove:
            page = k.pfn_to_page(t, pfn)
            k.sched.note(("page", pfn))
            page.hwpoison = True
            k.trace(t, "SetPageHWPoison", page)
        to_kill = collect_procs_fsdax(t, mapping, pg, pre_remove)
        unmap_and_kill(t, to_kill, pfn, mapping, pg, mf_flags)


def unmap_and_kill(t: Task, to_kill: list[tuple[Process, int, int]], pfn: int,
                   mapping: AddressSpace, index: int, flags: int) -> None:
    k = t.k
    size = max((1 << s for _p, _a, s in to_kill), default=0)
    if size:
        pages = size // PAGE_SIZE
        start = index - index % pages
        unmap_mapping_range(t, mapping, start, pages, False)
    for p, addr, shift in to_kill:
        ar = bool(flags & MF_ACTION_REQUIRED) and p is t.proc
        code = "BUS_MCEERR_AR" if ar else "BUS_MCEERR_AO"
        k.printk(t, f"Memory failure: {pfn:#x}: Sending SIGBUS to {p.name}:{p.pid} due to "
                    "hardware memory corruption")
        k.trace(t, "force_sig_mceerr" if ar else "send_sig_mceerr", p, code,
                addr=f"{addr:#x}", si_addr_lsb=shift)
        k.kill_process(p, "SIGBUS", code, f"(memory failure at pfn {pfn:#x})")


@kfunc
def memory_failure(t: Task, pfn: int, flags: int) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",), R)
    if not k.is_pmem_pfn(pfn) or nv.pgmap is None:
        k.printk(t, f"Memory failure: {pfn:#x}: memory outside the pmem data area")
        return Ret(22, None, [f"pfn {pfn:#x} is not in pfn0.1's data area (`show blocks`)"])
    if not k.has(MEMORY_FAILURE_DEV_PAGEMAP):
        k.printk(t, f"Memory failure: {pfn:#x}: unhandlable page.")
        return Ret(0, None, ["this kernel has no memory_failure() support for fsdax pages"])
    disk = nv.disk
    if disk is not None and not flags & MF_SW_SIMULATED:
        # a hardware error: the media is bad, and the nfit driver's machine-check notifier
        # (nfit_handle_mce) records it in the pmem's badblocks.  An injected one
        # (MF_SW_SIMULATED) leaves the memory good: pmem_pagemap_memory_failure marks nothing
        # (tl:drivers/nvdimm/pmem.c@v6.1 lines 456-465)
        k.sched.note(("page", pfn))  # badblocks
        disk.badblocks[pfn] = True
    rc = -EOPNOTSUPP
    if k.has(DAX_HOLDER_NOTIFY_FAILURE) and nv.dax is not None and nv.dax.holder is not None:
        k.trace(t, "pmem_pagemap_memory_failure", pfn=pfn)
        block = pfn - nv.ns.data_pfn
        rc = yield from dax_holder_notify_failure(t, block * PAGE_SIZE, PAGE_SIZE, flags)
    if rc == -EOPNOTSUPP:
        yield from mf_generic_kill_procs(t, pfn, flags)
    k.printk(t, f"Memory failure: {pfn:#x}: recovery action for dax page: Recovered")
    return Ret(0)


@kfunc
def mf_generic_kill_procs(t: Task, pfn: int, flags: int) -> KGen:
    k = t.k
    page = k.pfn_to_page(t, pfn)
    k.sched.note(("page", pfn))
    mapping = page.mapping if k.has(DAX_PAGE_MAPPING) else None
    if mapping is None:
        page.hwpoison = True
        return
    yield from ()
    page.hwpoison = True
    k.trace(t, "SetPageHWPoison", page)
    flags |= MF_ACTION_REQUIRED | MF_MUST_KILL
    to_kill = collect_procs_fsdax(t, mapping, page.index, False)  # type: ignore[arg-type]
    unmap_and_kill(t, to_kill, pfn, mapping, page.index, flags)  # type: ignore[arg-type]



@kfunc
def madvise_inject_error(t: Task, proc: Process, addr: int) -> KGen:
    """``madvise(addr, PAGE_SIZE, MADV_HWPOISON)`` by ``proc`` (tl:mm/madvise.c@v6.1 lines
    1108-1151): ``get_user_pages_fast(start, 1, 0, &page)`` faults the page in (a read), then
    ``memory_failure(pfn, MF_COUNT_INCREASED | MF_SW_SIMULATED)``;
    ``memory_failure_dev_pagemap`` drops the GUP reference (v6.12 passes MF_ACTION_REQUIRED as
    well, tl:mm/madvise.c@v6.12 line 1174, which both fsdax paths add anyway) (tl:mm/memory-failure.c@v6.1 lines
    1962-1966) and hands the page to the holder.  With the rmap btree XFS calls
    ``mf_dax_kill_procs``, which adds MF_ACTION_REQUIRED | MF_MUST_KILL (line 1675):
    ``collect_procs_fsdax`` takes the current task (``task_early_kill(tsk, true)``) and others
    only with early kill (lines 588-609; vm.memory_failure_early_kill is 0 and no task here
    sets PF_MCE_EARLY), ``unmap_and_kill`` zaps every mapping of the page (the current task
    maps it) and ``kill_proc`` sends the current task BUS_MCEERR_AR (lines 270-297).  The
    memory stays good, so another mapper's next access faults the page in again and works
    (real 6.1 and 6.12, scenarios/real/memory-failure-sigbus.toml)."""
    k = t.k
    sig = yield from do_user_access(t, proc, addr, False)  # get_user_pages_fast -> the fault
    if sig is not None:
        return Ret(14)  # EFAULT
    mm = proc.mm
    note_lookup(k, mm, addr)
    pte = lookup_pte(mm, addr)
    if pte is None:
        return Ret(14)
    pfn = pte.pfn
    if not k.is_pmem_pfn(pfn):
        return Ret(22, None, [f"{addr:#x} maps no pmem page (pfn {pfn:#x})"])
    k.printk(t, f"Injecting memory failure for pfn {pfn:#x} at process virtual address {addr:#x}")
    r = yield from memory_failure(t, pfn, MF_COUNT_INCREASED | MF_SW_SIMULATED)
    k.sched.note(("proc", proc.name), R)
    if proc.dying:  # the SIGBUS force_sig_mceerr queued is delivered on the way out
        raise TaskExit("SIGBUS")
    return r
