"""The VFS side: on-media filesystem state, superblocks, in-core inodes, dentries, files, mounts,
and the inode lifecycle (``iput_final``, ``evict``, ``evict_inodes``; shared/KERNEL.md 2.7, 2.8).

What lives on the pmem (``DiskFs``: inodes, directories, extents, free space, rmap) survives
umount, unbind and reboot; what is in core (``SuperBlock``, ``Inode``, ``Dentry``) does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import INODE_LRU_MAPPING_SHRINKABLE, INODE_RECLAIM_NEEDS_EMPTY_MAPPING
from .footprint import C, R
from .locks import RwSem, percpu_down_read, percpu_up_read
from .nvdimm import PAGE_SIZE
from .rangemap import RangeMap
from .sched import (
    TASK_UNINTERRUPTIBLE,
    KGen,
    Task,
    Wait,
    WaitQueue,
    finish_wait,
    kfunc,
    prepare_to_wait,
    schedule,
)

if TYPE_CHECKING:
    from .fsops import FsOps
    from .mm import VMA
    from .nvdimm import DaxDevice, PmemDisk

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


# -- in-core objects ----------------------------------------------------------------------------

I_NEW = "I_NEW"
I_FREEING = "I_FREEING"
I_WILL_FREE = "I_WILL_FREE"
I_CLEAR = "I_CLEAR"
I_DONTCACHE = "I_DONTCACHE"


class AddressSpace:
    """``struct address_space`` of an inode: ``i_pages`` (DAX entries or page-cache folios) and
    ``i_mmap`` (the VMAs mapping the file)."""

    __slots__ = ("a_ops", "host", "i_mmap", "i_pages", "wait_table")

    def __init__(self, host: Inode) -> None:
        self.host = host
        self.i_pages: dict[int, Any] = {}
        self.i_mmap: list[VMA] = []
        self.a_ops = "dax" if host.dax else "aops"
        self.wait_table: dict[int, WaitQueue] = {}

    def tr(self) -> str:
        return f"mapping ino {self.host.ino}"

    def mapped(self) -> bool:
        """``mapping_mapped()``: has VMAs."""
        return bool(self.i_mmap)

    def entry_wq(self, index: int) -> WaitQueue:
        wq = self.wait_table.get(index)
        if wq is None:
            wq = self.wait_table[index] = WaitQueue(f"dax entry {self.host.ino}:{index}")
        return wq


class Inode:
    __slots__ = ("dax", "di", "dontcache", "i_aops_sem", "i_count", "i_rwsem", "i_state", "ino",
                 "lease", "mapping", "mmaplock", "on_lru", "sb")

    def __init__(self, sb: SuperBlock, di: DiskInode, dax: bool) -> None:
        self.sb = sb
        self.di = di
        self.ino = di.ino
        self.i_count = 0
        self.i_state: set[str] = {I_NEW}
        self.dax = dax  # S_DAX
        self.dontcache = False
        self.on_lru = False
        label = f"ino {di.ino}"
        # directories' i_rwsem is a lockdep class of its own (i_mutex_dir_key)
        self.i_rwsem = RwSem("i_rwsem", label,
                             "&sb->s_type->i_mutex_dir_key" if di.is_dir else "")
        self.mmaplock = RwSem(sb.ops.mmaplock_name(sb.k), label)
        self.i_aops_sem = RwSem("i_aops_sem", label)
        self.mapping = AddressSpace(self)
        self.lease: Any = None  # a pNFS layout lease

    def tr(self) -> str:
        return f"ino {self.ino}"

    @property
    def is_dir(self) -> bool:
        return self.di.is_dir

    @property
    def size(self) -> int:
        return self.di.size

    @property
    def path(self) -> str:
        return self.sb.mountpoint.rstrip("/") + self.sb.disk.path_of(self.ino)


class Dentry:
    """Footprint keys: ``key`` its reference count, ``fkey`` its flags; its dcache slot is
    ``("dcache", sb, parent ino, name)``."""

    __slots__ = ("d_count", "dontcache", "fkey", "inode", "key", "name", "parent_ino")

    def __init__(self, parent_ino: int, name: str, inode: Inode) -> None:
        self.parent_ino = parent_ino
        self.name = name
        self.inode = inode
        self.d_count = 0
        self.dontcache = False  # DCACHE_DONTCACHE
        self.key = ("dentry", inode.sb.name, parent_ino, name)
        self.fkey = ("dentry", inode.sb.name, parent_ino, name, "flags")


class File:
    """``struct file``: holds its dentry and its mount."""

    __slots__ = ("dentry", "f_count", "inode", "mnt")

    def __init__(self, mnt: Mount, dentry: Dentry) -> None:
        self.mnt = mnt
        self.dentry = dentry
        self.inode = dentry.inode
        self.f_count = 1


class Mount:
    def __init__(self, path: str, sb: SuperBlock, root: Dentry) -> None:
        self.path = path
        self.sb = sb
        self.root = root
        self.mnt_count = 0  # files open and paths held through this mount


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

    def tr(self) -> str:
        return f"sb {self.bdev.name}"

    @property
    def name(self) -> str:
        return self.bdev.name


# -- inode cache and lifecycle ------------------------------------------------------------------


def iget(t: Task, sb: SuperBlock, ino: int) -> KGen:
    """``iget_locked`` + fs setup: find or instantiate the in-core inode, waiting out one
    that is being freed (``__wait_on_freeing_inode``)."""
    k = t.k
    sched = k.sched
    while True:
        sched.note(("icache", sb.name, ino), R)
        inode = sb.icache.get(ino)
        if inode is None:
            break
        sched.note(("inode", ino, "state"), R)
        if I_FREEING in inode.i_state or I_WILL_FREE in inode.i_state:
            prepare_to_wait(t, sb.ifree_wq, TASK_UNINTERRUPTIBLE,
                            Wait("inode", inode, f"ino {ino} being freed", "__wait_on_freeing_inode",
                                 "I_FREEING cleared"))
            yield from schedule(t)
            finish_wait(t, sb.ifree_wq)
            continue
        sched.note(("inode", ino, "count"), C)
        inode.i_count += 1
        if inode.on_lru:
            sched.note(("inode", ino, "state"))
            sched.note(("lru", sb.name), C)
            inode.on_lru = False
            sb.lru.pop(ino, None)
        return inode
    di = sb.disk.inodes[ino]
    sched.note(("inode", ino, "flags"), R)  # the on-disk DAX flag
    sched.note(sb.key, R)  # the dax= mode
    dax = sb.ops.inode_should_enable_dax(k, sb, di)
    inode = Inode(sb, di, dax)
    inode.i_count = 1
    sched.note(("icache", sb.name, ino))
    sched.note(("icache", sb.name), C)
    sb.icache[ino] = inode
    k.trace(t, sb.ops.setup_inode_name, inode, S_DAX=dax)
    inode.i_state.discard(I_NEW)
    return inode


def iput(t: Task, inode: Inode) -> KGen:
    t.k.sched.note(("inode", inode.ino, "count"))  # drop and test for zero
    inode.i_count -= 1
    if inode.i_count == 0:
        yield from iput_final(t, inode)


def dax_value_entries(mapping: AddressSpace) -> list[int]:
    """The indices of the DAX (xarray value) entries of a mapping, sorted.  Page-cache folios
    are not counted: an unused inode's clean folios are dropped by ``invalidate_mapping_pages``
    (drop_caches, page reclaim), which requeues the inode on the LRU; DAX value entries never
    are (6.1 mm/truncate.c ``invalidate_exceptional_entry``: "for DAX we do nothing")."""
    from .dax import DaxEntry
    return sorted(i for i, e in mapping.i_pages.items() if isinstance(e, DaxEntry))


def mapping_shrinkable(k: Any, mapping: AddressSpace) -> bool:
    """``mapping_shrinkable()`` (v5.16, 51b8c1fe250d; tl:include/linux/pagemap.h@v6.1 lines
    163-190): true when the xarray is empty or holds one value entry in its head, i.e. one
    order-0 entry at index 0 (a PMD entry is multi-order and needs a node).  No CONFIG_HIGHMEM."""
    k.sched.note(("i_pages", mapping.host.ino), R)
    idx = dax_value_entries(mapping)
    if not idx:
        return True
    return idx == [0] and not mapping.i_pages[0].pmd


def inode_add_lru_ok(k: Any, inode: Inode) -> bool:
    """``__inode_add_lru``'s mapping test: from v5.16 an inode that is not shrinkable stays off
    the LRU (tl:fs/inode.c@v6.1 lines 456-470)."""
    if not k.has(INODE_LRU_MAPPING_SHRINKABLE):
        return True
    return mapping_shrinkable(k, inode.mapping)


def inode_lru_isolate(t: Task, inode: Inode) -> str:
    """What the inode shrinker does with an unused inode on the LRU (tl:fs/inode.c@v6.1 lines
    860-925): ``"free"`` (I_FREEING, to the dispose list), ``"removed"`` (LRU_REMOVED: taken
    off the LRU, v5.16+ when not ``mapping_shrinkable``) or ``"retry"`` (LRU_RETRY after
    ``invalidate_mapping_pages``, which leaves DAX entries: v5.13+ needs ``mapping_empty``).
    Up to v5.12 the test was ``inode->i_data.nrpages`` and DAX entries were counted in
    ``nrexceptional`` (7f0e07fb0289 moved them into nrpages, 7716506adac4 added mapping_empty),
    so an unused DAX inode with entries was freed."""
    k = t.k
    if k.has(INODE_LRU_MAPPING_SHRINKABLE) and not mapping_shrinkable(k, inode.mapping):
        return "removed"
    if k.has(INODE_RECLAIM_NEEDS_EMPTY_MAPPING):
        k.sched.note(("i_pages", inode.ino), R)
        if dax_value_entries(inode.mapping):
            return "retry"
    return "free"


@kfunc
def iput_final(t: Task, inode: Inode) -> KGen:
    """Last reference: keep the inode on the LRU, or evict it now."""
    sb = inode.sb
    sched = t.k.sched
    sched.note(("inode", inode.ino, "nlink"), R)
    sched.note(("inode", inode.ino, "flags"), R)
    sched.note(sb.key, R)
    drop = inode.di.nlink == 0  # generic_drop_inode (the model has no unhashed inodes)
    if not drop and not inode.dontcache and sb.active:
        if not inode_add_lru_ok(t.k, inode):
            t.k.trace(t, "inode_add_lru", inode, "!mapping_shrinkable: kept off the LRU")
            return
        sched.note(("inode", inode.ino, "state"))
        sched.note(("lru", sb.name), C)
        inode.on_lru = True
        sb.lru[inode.ino] = inode
        t.k.trace(t, "inode_add_lru", inode)
        return
    sched.note(("inode", inode.ino, "state"))
    inode.i_state.add(I_FREEING)
    yield from evict(t, inode)


@kfunc
def evict(t: Task, inode: Inode) -> KGen:
    sb = inode.sb
    sched = t.k.sched
    sched.note(("inode", inode.ino, "state"))
    if inode.on_lru:
        sched.note(("lru", sb.name), C)
        inode.on_lru = False
        sb.lru.pop(inode.ino, None)
    inode.i_state.add(I_FREEING)
    yield from sb.ops.evict_inode(t, inode)
    sched.note(("inode", inode.ino, "state"))
    inode.i_state.add(I_CLEAR)
    sched.note(("icache", sb.name, inode.ino))
    sched.note(("icache", sb.name), C)
    sb.icache.pop(inode.ino, None)
    yield from sb.ops.destroy_inode(t, inode)
    sb.ifree_wq.wake_up(t.k)


@kfunc
def evict_inodes(t: Task, sb: SuperBlock) -> KGen:
    """At umount: evict every inode with ``i_count == 0``."""
    yield from _dispose_unused(t, sb)


@kfunc
def invalidate_inodes(t: Task, sb: SuperBlock) -> KGen:
    """Device removal: walk ``s_inodes`` and evict every unused inode, on the LRU or not
    (tl:fs/inode.c@v6.1 lines 806-847; ``kill_dirty`` is true from ``__invalidate_device`` and
    the model has no dirty inodes).  Unlike the inode shrinker it never looks at the mapping,
    so unused DAX inodes that hold entries are evicted on every version."""
    yield from _dispose_unused(t, sb)


def _dispose_unused(t: Task, sb: SuperBlock) -> KGen:
    sched = t.k.sched
    sched.note(("icache", sb.name), R)
    if sched.footprint is not None:
        for i in sb.icache.values():
            sched.note(("inode", i.ino, "count"), R)
            sched.note(("inode", i.ino, "state"), R)
    victims = [i for i in sorted(sb.icache.values(), key=lambda i: i.ino)
               if i.i_count == 0 and I_FREEING not in i.i_state]
    for inode in victims:
        sched.note(("inode", inode.ino, "state"))
        inode.i_state.add(I_FREEING)
    t.k.trace(t, "dispose_list", n=len(victims))
    for inode in victims:
        yield from evict(t, inode)


def dget(d: Dentry) -> Dentry:
    d.inode.sb.k.sched.note(d.key, C)
    d.d_count += 1
    return d


def dput(t: Task, d: Dentry) -> KGen:
    """Drop a reference; the last one kills a dentry marked DONTCACHE or of an unlinked inode.

    Footprint: when the flags say the last reference would not kill it, dropping one is a
    commuting update (whoever drops the last one, nothing happens); otherwise dropping reads
    the count too, since who drops the last one decides who kills it."""
    sched = t.k.sched
    sched.note(d.fkey, R)
    sched.note(("inode", d.inode.ino, "nlink"), R)
    sched.note(("inode", d.inode.ino, "flags"), R)
    kill = d.dontcache or d.inode.di.nlink == 0 or d.inode.dontcache
    sched.note(d.key, (R | C) if kill else C)
    d.d_count -= 1
    if d.d_count > 0:
        return
    sb = d.inode.sb
    if kill:
        yield from dentry_kill(t, sb, d)


@kfunc
def dentry_kill(t: Task, sb: SuperBlock, d: Dentry) -> KGen:
    if sb.dcache.get((d.parent_ino, d.name)) is d:
        t.k.sched.note(d.key)
        t.k.sched.note(("dcache", sb.name, d.parent_ino, d.name))
        t.k.sched.note(("dcache", sb.name), C)
        del sb.dcache[(d.parent_ino, d.name)]
    yield from iput(t, d.inode)


@kfunc
def shrink_dcache_sb(t: Task, sb: SuperBlock) -> KGen:
    """Drop every unused dentry (``prune_dcache_sb`` / ``shrink_dcache_for_umount``)."""
    sched = t.k.sched
    sched.note(("dcache", sb.name), R)
    for key, d in sorted(sb.dcache.items()):
        sched.note(d.key, R)
        if d.d_count == 0 and sb.dcache.get(key) is d:
            yield from dentry_kill(t, sb, d)


def d_lookup(t: Task, sb: SuperBlock, parent_ino: int, name: str) -> KGen:
    """Find or instantiate a dentry (and its inode); returns it with a reference held."""
    sched = t.k.sched
    sched.note(("dcache", sb.name, parent_ino, name), R)
    d = sb.dcache.get((parent_ino, name))
    if d is not None:
        return dget(d)
    sched.note(("inode", parent_ino, "dir"), R)
    parent = sb.disk.inodes[parent_ino]
    ino = parent.entries.get(name)
    if ino is None:
        return None
    inode = yield from iget(t, sb, ino)
    d = Dentry(parent_ino, name, inode)
    sched.note(("dcache", sb.name, parent_ino, name))
    sched.note(("dcache", sb.name), C)
    sb.dcache[(parent_ino, name)] = d
    return dget(d)


def d_mark_dontcache(inode: Inode) -> None:
    sched = inode.sb.k.sched
    sched.note(("dcache", inode.sb.name), R)
    for d in inode.sb.dcache.values():
        if d.inode is inode:
            sched.note(d.fkey)
            d.dontcache = True
    sched.note(("inode", inode.ino, "flags"))
    sched.note(("inode", inode.ino, "state"))
    inode.dontcache = True
    inode.i_state.add(I_DONTCACHE)


def inode_blocks(inode: Inode) -> int:
    return inode.di.extents.total()


def size_to_blocks(size: int) -> int:
    return (size + PAGE_SIZE - 1) // PAGE_SIZE


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
