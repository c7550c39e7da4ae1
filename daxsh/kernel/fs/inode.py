"""Models fs/inode.c (v4.13-v6.15): in-core inodes and their ``address_space``
(include/linux/fs.h), ``iget``/``iput``, the inode lifecycle (``iput_final``, ``evict``,
``evict_inodes``, ``invalidate_inodes``) and the inode LRU and its
shrinker (``inode_lru_isolate``, ``prune_icache_sb``, ``mapping_shrinkable`` of
include/linux/pagemap.h).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import INODE_LRU_MAPPING_SHRINKABLE, INODE_RECLAIM_NEEDS_EMPTY_MAPPING
from ..footprint import C, R
from ..locks import RwSem
from ..sched import TASK_UNINTERRUPTIBLE, Wait, WaitQueue, finish_wait, kfunc, prepare_to_wait, schedule
from .dax import DaxEntry

if TYPE_CHECKING:
    from typing import Any

    from ..mm.mmap import VMA
    from ..sched import KGen, Task
    from .disk import DiskInode
    from .super import SuperBlock

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


@kfunc
def prune_icache_sb(t: Task, sb: SuperBlock) -> KGen:
    sched = t.k.sched
    sched.note(("lru", sb.name), R)
    if sched.footprint is not None:
        for i in sb.lru.values():
            sched.note(("inode", i.ino, "count"), R)
    victims = []
    for inode in sorted(sb.lru.values(), key=lambda i: i.ino):
        if inode.i_count:
            continue
        how = inode_lru_isolate(t, inode)
        if how == "removed":
            sched.note(("inode", inode.ino, "state"))
            sched.note(("lru", sb.name), C)
            sb.lru.pop(inode.ino, None)
            inode.on_lru = False
            t.k.trace(t, "inode_lru_isolate", inode, "LRU_REMOVED (!mapping_shrinkable)")
        elif how == "retry":
            t.k.trace(t, "inode_lru_isolate", inode,
                      "LRU_RETRY (!mapping_empty: invalidate_mapping_pages leaves DAX entries)")
        else:
            victims.append(inode)
    for inode in victims:
        sched.note(("inode", inode.ino, "state"))
        sched.note(("lru", sb.name), C)
        inode.i_state.add(I_FREEING)
        sb.lru.pop(inode.ino, None)
        inode.on_lru = False
    t.k.trace(t, "dispose_list", n=len(victims))
    for inode in victims:
        yield from evict(t, inode)
    return len(victims)
