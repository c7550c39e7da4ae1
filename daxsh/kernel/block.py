"""Models block/genhd.c and block/bdev.c: ``del_gendisk`` tells the filesystem on the disk
that it is going (up to v6.5 ``fsync_bdev`` and ``__invalidate_device``, from v6.6 the
holder's ``mark_dead``, ``fs_bdev_mark_dead`` in fs/super.c)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import FS_BDEV_MARK_DEAD
from .footprint import R
from .fs.dcache import shrink_dcache_sb
from .fs.inode import invalidate_inodes
from .fs.super import _get_super, fs_bdev_mark_dead
from .fs.sync import sync_sb
from .locks import up_read
from .sched import kfunc

if TYPE_CHECKING:
    from .drivers.nvdimm import PmemDisk
    from .sched import KGen, Task


@kfunc
def del_gendisk(t: Task) -> KGen:
    """The disk goes away; the filesystem on it is told, and its unused inodes are evicted
    while the memmap still exists (the real-kernel runs, scenarios/real, on 6.1 and 6.12).

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
    sb = yield from _get_super(t, disk)
    if sb is None:
        return
    try:
        t.k.trace(t, "sync_filesystem", sb)
        yield from sync_sb(t, sb)
    finally:
        up_read(t, sb.s_umount)


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
