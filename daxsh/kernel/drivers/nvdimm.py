"""Models drivers/nvdimm (region.c, namespace_devs.c, pfn_devs.c, pmem.c) and the driver
core's bind/unbind (drivers/base/dd.c): region, namespace, pfn device and its memmap, the
pmem block device (shared/KERNEL.md 1.1-1.3), and device removal (``unbind_store`` ->
``pmem_release_disk``, ``memunmap_pages``).

The pfn device keeps its memmap on the pmem itself (PFN_MODE_PMEM): the data area starts after
an info block and the memmap, rounded up to 2 MiB, so removing the device removes the struct
pages too.  Pages exist only once touched (sparse).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..block import del_gendisk
from ..errno import EBUSY, ENODEV, Ret
from ..hint import Hint, HintKind
from ..locks import WRITE, RwSem, _down, _release
from ..mm.memremap import DevPagemap, DevPagemapOps, memunmap_pages
from ..mm.types import PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, STRUCT_PAGE_SIZE, align_up
from ..sched import kfunc
from .dax import DaxDevice, dax_holder_notify_failure, kill_dax

if TYPE_CHECKING:
    from ..fs.super import SuperBlock
    from ..sched import KGen, Task

REGION_PHYS_BASE = 0x1_0000_0000  # pmem at 4 GiB physical, pfn 0x100000


class Namespace:
    def __init__(self, name: str, size: int, phys: int) -> None:
        self.name = name
        self.size = size
        self.phys = phys
        self.mode = "fsdax"
        info_and_memmap = 8192 + (size // PAGE_SIZE) * STRUCT_PAGE_SIZE
        self.dataoff = align_up(info_and_memmap, PMD_SIZE)
        self.data_pfn = (phys + self.dataoff) >> PAGE_SHIFT
        self.npfns = (size - self.dataoff) // PAGE_SIZE


class PfnDevice:
    def __init__(self, name: str, ns: Namespace) -> None:
        self.name = name
        self.ns = ns
        self.bound = True
        # device_lock(dev): struct device's mutex, held (as a writer) across a driver release
        self.mutex = RwSem("dev->mutex", name)


class PmemDisk:
    """``/dev/pmem0``: fs block ``b`` is pfn ``data_pfn + b``."""

    def __init__(self, name: str, ns: Namespace) -> None:
        self.name = name
        self.ns = ns
        self.data_pfn = ns.data_pfn
        self.nblocks = ns.npfns
        self.badblocks: dict[int, bool] = {}  # poisoned pfns (pmem badblocks)
        self.sb: SuperBlock | None = None  # the superblock that has it open

    @property
    def path(self) -> str:
        return f"/dev/{self.name}"

    def block_to_pfn(self, block: int) -> int:
        return self.data_pfn + block



class Nvdimm:
    """region0 / namespace0.0 / pfn0.1 / pmem0 / dax0 and the memmap while bound."""

    def __init__(self, size: int, idle: int) -> None:
        self.region = "region0"
        self.ns = Namespace("namespace0.0", size, REGION_PHYS_BASE)
        self.pfn = PfnDevice("pfn0.1", self.ns)
        self.idle = idle
        self.pgmap: DevPagemap | None = None
        self.disk: PmemDisk | None = None
        self.dax: DaxDevice | None = None
        self.removed_pgmaps: list[DevPagemap] = []
        self.attach()

    def attach(self) -> None:
        """``pmem_attach_disk``: devm_memremap_pages, alloc_dax, device_add_disk."""
        self.pgmap = DevPagemap(self.ns.data_pfn, self.ns.npfns, self.idle)
        self.pgmap.ops = PMEM_PAGEMAP_OPS
        self.dax = DaxDevice("dax0")
        self.disk = PmemDisk("pmem0", self.ns)
        self.pfn.bound = True


@kfunc
def unbind_store(t: Task, name: str) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    if name != nv.pfn.name:
        return Ret(ENODEV)
    if not nv.pfn.bound:
        return Ret(ENODEV, None, [f"{name} is not bound"], hint=Hint(HintKind.BIND, dev=name))
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
def bind_store(t: Task, name: str) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    if name != nv.pfn.name:
        return Ret(ENODEV)
    if nv.pfn.bound:
        return Ret(EBUSY, None, [f"{name} is already bound"])
    yield from ()
    nv.attach()
    k.trace(t, "pmem_attach_disk", name)
    k.printk(t, f"pmem0: detected capacity change from 0 to {nv.ns.npfns * 8}")
    return Ret(0)


def pmem_pagemap_memory_failure(t: Task, pgmap: DevPagemap, pfn: int, nr_pages: int, mf_flags: int) -> KGen:
    """``pmem_pagemap_memory_failure`` (drivers/nvdimm/pmem.c), the ``->memory_failure`` of the
    pmem's ``dev_pagemap_ops``: hand the failed range to the dax device's holder."""
    k = t.k
    k.trace(t, "pmem_pagemap_memory_failure", pfn=pfn)
    block = pfn - k.nvdimm.ns.data_pfn
    return (yield from dax_holder_notify_failure(t, block * PAGE_SIZE, nr_pages * PAGE_SIZE, mf_flags))


PMEM_PAGEMAP_OPS = DevPagemapOps(memory_failure=pmem_pagemap_memory_failure)
