"""Models fs/super.c: the superblock, freeze protection (``sb_start_write``,
``sb_start_pagefault``; include/linux/fs.h) and ``freeze_super``/``thaw_super``,
``generic_shutdown_super``, ``get_super``, the superblock shrinker (``super_cache_scan``) and
``fs_bdev_mark_dead`` (v6.6+, the ``mark_dead`` of ``fs_holder_ops``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import FREEZE_HOLDERS
from ..footprint import R
from ..locks import (
    RwSem,
    down_read,
    down_write,
    percpu_down_read,
    percpu_down_write,
    percpu_up_read,
    percpu_up_write,
    up_read,
    up_write,
)
from ..messages import umount_lines
from ..sched import WaitQueue, kfunc
from .dcache import shrink_dcache_sb
from .inode import evict_inodes, invalidate_inodes, prune_icache_sb
from .sync import sync_sb

if TYPE_CHECKING:
    from typing import Any

    from ..drivers.dax import DaxDevice
    from ..drivers.nvdimm import PmemDisk
    from ..sched import KGen, Task
    from .dcache import Dentry
    from .disk import DiskFs
    from .inode import Inode
    from .ops import FsOps


class SuperBlock:
    def __init__(self, k: Any, disk: PmemDisk, fs: DiskFs, ops: FsOps, dax_mode: str,
                 mountpoint: str) -> None:
        self.k = k
        self.disk = fs
        self.bdev = disk
        self.ops = ops
        self.dax_mode = dax_mode  # "always", "never", "inode"
        self.mountpoint = mountpoint
        self.born = False
        self.active = False
        self.dying = False
        self.frozen = 0  # SB_UNFROZEN .. SB_FREEZE_COMPLETE
        self.freeze_holders: list[str] = []
        self.freeze_wq = WaitQueue(f"sb freeze {disk.name}")
        self.shutdown = ""  # xfs_force_shutdown reason
        self.key = ("sb", disk.name)  # footprint key of its state (active, frozen, shutdown...)
        self.s_umount = RwSem("s_umount", f"{disk.name}")
        # sb->s_writers.rw_sem[SB_FREEZE_WRITE-1 .. SB_FREEZE_FS-1] (percpu rwsems)
        self.s_writers = tuple(RwSem("sb_writers", f"{disk.name} {lvl}")
                               for lvl in ("SB_FREEZE_WRITE", "SB_FREEZE_PAGEFAULT", "SB_FREEZE_FS"))
        self.icache: dict[int, Inode] = {}
        self.lru: dict[int, Inode] = {}
        self.dcache: dict[tuple[int, str], Dentry] = {}
        self.root: Dentry | None = None
        self.dax_dev: DaxDevice | None = None
        self.holder = False
        self.ifree_wq = WaitQueue(f"inode freeing {disk.name}")
        self.s_shrink = super_cache_scan  # its shrinker's ->scan_objects (alloc_super)

    def tr(self) -> str:
        return f"sb {self.bdev.name}"

    @property
    def name(self) -> str:
        return self.bdev.name


# -- freeze protection (include/linux/fs.h) -----------------------------------------------------

SB_FREEZE_WRITE = 1
SB_FREEZE_PAGEFAULT = 2
SB_FREEZE_FS = 3
SB_FREEZE_COMPLETE = 4


@kfunc
def sb_start_write(t: Task, sb: SuperBlock) -> KGen:
    """``sb_start_write`` (``mnt_want_write``, ``file_start_write``): a read hold of
    ``s_writers.rw_sem[SB_FREEZE_WRITE-1]``; it sleeps while ``freeze_super`` holds or waits
    for that level, and ``freeze_super`` waits for every holder (tl:include/linux/fs.h@v6.1
    ``__sb_start_write``, fs/super.c ``sb_wait_write``)."""
    yield from percpu_down_read(t, sb.s_writers[SB_FREEZE_WRITE - 1])


def sb_end_write(t: Task, sb: SuperBlock) -> None:
    percpu_up_read(t, sb.s_writers[SB_FREEZE_WRITE - 1])
    t.k.trace(t, "sb_end_write", sb)


@kfunc
def sb_start_pagefault(t: Task, sb: SuperBlock) -> KGen:
    """``sb_start_pagefault``: write faults hold the SB_FREEZE_PAGEFAULT level; they wait while
    the filesystem is frozen (read faults take nothing: "Freezing doesn't stop the creation of
    new mappings")."""
    yield from percpu_down_read(t, sb.s_writers[SB_FREEZE_PAGEFAULT - 1])


def sb_end_pagefault(t: Task, sb: SuperBlock) -> None:
    percpu_up_read(t, sb.s_writers[SB_FREEZE_PAGEFAULT - 1])
    t.k.trace(t, "sb_end_pagefault", sb)


@kfunc
def super_cache_scan(t: Task, sb: object) -> KGen:

    yield from shrink_dcache_sb(t, sb)
    yield from prune_icache_sb(t, sb)


@kfunc
def generic_shutdown_super(t: Task, sb: SuperBlock) -> KGen:
    k = t.k
    if sb.root is not None:
        k.sched.note(sb.root.key)
        sb.root.d_count -= 1
    yield from shrink_dcache_sb(t, sb)
    k.trace(t, "sync_filesystem", sb)
    yield from sync_sb(t, sb)
    k.sched.note(sb.key)
    sb.active = False
    yield from evict_inodes(t, sb)
    if sb.root is not None and sb.root.inode.i_count > 0:
        sb.root.inode.i_count = 0
        yield from evict_inodes(t, sb)
    k.trace(t, "put_super", sb)
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    if sb.holder and nv.dax is not None and nv.dax.holder is sb:
        nv.dax.holder = None
        nv.dax.holder_ops = None
        k.trace(t, "fs_put_dax", sb.name, holder="mp")
    if sb.bdev.sb is sb:
        sb.bdev.sb = None
    for line in umount_lines(k.config.base, sb.disk.fstype, sb.name, sb.disk.uuid):
        k.printk(t, line)


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
def fs_bdev_mark_dead(t: Task, disk: PmemDisk, surprise: bool) -> KGen:
    """fs/super.c ``fs_bdev_mark_dead`` (v6.6+), the ``mark_dead`` of ``fs_holder_ops``."""
    sb = yield from _get_super(t, disk)
    if sb is None:
        return
    try:
        if not surprise:
            t.k.trace(t, "sync_filesystem", sb)
            yield from sync_sb(t, sb)
        yield from shrink_dcache_sb(t, sb)
        yield from invalidate_inodes(t, sb)
        sb.ops.shutdown(t, sb)  # sb->s_op->shutdown (ext2 has none)
    finally:
        up_read(t, sb.s_umount)


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
    <- xfs_dax_notify_ddev_failure``; the real-kernel runs, scenarios/real)."""
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
