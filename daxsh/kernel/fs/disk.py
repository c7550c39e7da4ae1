"""daxsh's model of what a filesystem keeps on the media (no single kernel file: the
on-disk formats of fs/xfs/libxfs, fs/ext4 and fs/ext2), and ``mkfs``.

What lives on the pmem (``DiskFs``: inodes, directories, extents, free space, rmap) survives
umount, unbind and reboot; what is in core (``SuperBlock``, ``Inode``, ``Dentry``) does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import EBUSY, ENOENT, Ret
from ..hint import Hint, HintKind
from ..mm.types import PAGE_SIZE
from ..rangemap import RangeMap
from ..sched import kfunc

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .inode import Inode

META_BLOCKS = 16  # superblock, AG/group headers, btree roots: never handed to files


class DiskInode:
    __slots__ = ("dax_flag", "entries", "extents", "gen", "ino", "is_dir", "nlink", "parent", "size")

    def __init__(self, ino: int, is_dir: bool, gen: int, parent: int) -> None:
        self.ino = ino
        self.is_dir = is_dir
        self.gen = gen
        self.parent = parent
        self.size = 0
        self.nlink = 2 if is_dir else 1
        self.extents = RangeMap()  # file block -> disk block
        self.dax_flag = False  # FS_XFLAG_DAX / EXT4_DAX_FL
        self.entries: dict[str, int] = {}


class DiskFs:
    """A filesystem as mkfs wrote it onto the pmem, with a lowest-first block allocator."""

    def __init__(self, fstype: str, nblocks: int, uuid: int, rmapbt: bool, su: int) -> None:
        self.fstype = fstype
        self.uuid = uuid
        self.nblocks = nblocks
        self.rmapbt = rmapbt
        self.su = su  # stripe unit in blocks (1 = none): 2 MiB-aligned allocations for PMDs
        self.free = RangeMap()
        self.free.add(META_BLOCKS, nblocks - META_BLOCKS, "free", META_BLOCKS)
        self.rmap = RangeMap()  # disk block -> (ino, file block); kept for every fs (owner)
        self.inodes: dict[int, DiskInode] = {}
        self.next_ino = 128 if fstype == "xfs" else 12
        self.root = self.new_inode(True, 0)
        self.root.parent = self.root.ino
        self.foreign: dict[int, str] = {}  # block -> whose data landed there uninvited

    def new_inode(self, is_dir: bool, parent: int) -> DiskInode:
        ino = self.next_ino
        self.next_ino += 1
        di = DiskInode(ino, is_dir, gen=self.uuid, parent=parent)
        self.inodes[ino] = di
        return di

    def alloc(self, di: DiskInode, fblock: int, count: int) -> list[tuple[int, int, int]]:
        """Allocate ``count`` blocks for file blocks [fblock, fblock+count), lowest free first.

        With a stripe unit (``-d su=2m``), a 2 MiB-aligned piece of the file gets a 2 MiB-aligned
        run when one is free, so PMD faults can map it.
        """
        out: list[tuple[int, int, int]] = []
        while count > 0:
            got = None
            su = self.su
            if su > 1 and fblock % su == 0 and count >= su:
                for s, ln, _t, _b in self.free.items():
                    a = -(-s // su) * su
                    if a + su <= s + ln:
                        got = (a, su)
                        break
            if got is None:
                first = next(iter(self.free.items()), None)
                if first is None:
                    break
                s, ln, _t, _b = first
                got = (s, min(ln, count))
            start, n = got
            self.free.remove(start, n)
            di.extents.add(fblock, n, None, start)
            self.rmap.add(start, n, di.ino, fblock)
            for b in range(start, start + n) if self.foreign else ():
                self.foreign.pop(b, None)
            out.append((fblock, start, n))
            fblock += n
            count -= n
        return out

    def free_range(self, di: DiskInode, fblock: int, count: int) -> list[tuple[int, int]]:
        """Free the blocks behind file blocks [fblock, fblock+count); returns (block, n)."""
        freed = []
        for fs, n, _tag, block in di.extents.overlapping(fblock, count):
            di.extents.remove(fs, n)
            self.rmap.remove(block, n)
            self.free.add(block, n, "free", block)
            freed.append((block, n))
        return freed

    def owner(self, block: int) -> tuple[int, int] | None:
        v = self.rmap.lookup(block)
        return None if v is None else (v[0], v[1])

    def path_of(self, ino: int) -> str:
        parts = []
        di = self.inodes.get(ino)
        while di is not None and di.ino != self.root.ino:
            parent = self.inodes.get(di.parent)
            if parent is None:
                break
            name = next((n for n, i in parent.entries.items() if i == di.ino), f"#{di.ino}")
            parts.append(name)
            di = parent
        return "/" + "/".join(reversed(parts))


def inode_blocks(inode: Inode) -> int:
    return inode.di.extents.total()


def size_to_blocks(size: int) -> int:
    return (size + PAGE_SIZE - 1) // PAGE_SIZE


# -- mkfs ----------------------------------------------------------------------------------------


@kfunc
def mkfs(t: Task, fstype: str, dev: str, rmapbt: bool | None, su: int) -> KGen:
    k = t.k
    k.sched.note(("nvdimm",))
    disk = k.nvdimm.disk
    if disk is None or not k.nvdimm.pfn.bound or dev != disk.path:
        return Ret(ENOENT)
    if disk.sb is not None:
        return Ret(EBUSY, None, [f"{dev} is mounted on {disk.sb.mountpoint}"],
                   hint=Hint(HintKind.UMOUNT, path=disk.sb.mountpoint))
    yield from ()
    k.fs_uuid += 1
    if rmapbt is None:
        rmapbt = False
    fs = DiskFs(fstype, disk.nblocks, k.fs_uuid, rmapbt and fstype == "xfs", max(su, 1))
    k.media_fs = fs
    k.trace(t, f"mkfs.{fstype}", dev, blocks=disk.nblocks, rmapbt=fs.rmapbt, su=fs.su)
    desc = f"{fstype} on {dev}: {disk.nblocks} blocks of 4096"
    if fstype == "xfs":
        desc += f", rmapbt={int(fs.rmapbt)}" + (f", su={fs.su * 4}k" if fs.su > 1 else "")
    return Ret(0, desc)
