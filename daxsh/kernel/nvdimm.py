"""The nvdimm side: region, namespace, pfn device, its memmap of ``struct page``, the pmem block
device and its ``dax_device`` (shared/KERNEL.md 1.1-1.3).

The pfn device keeps its memmap on the pmem itself (PFN_MODE_PMEM): the data area starts after
an info block and the memmap, rounded up to 2 MiB, so removing the device removes the struct
pages too.  Pages exist only once touched (sparse).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fs import SuperBlock

PAGE_SIZE = 4096
PAGE_SHIFT = 12
PMD_SIZE = 2 << 20
PMD_PAGES = PMD_SIZE // PAGE_SIZE
PMD_ORDER = 9
STRUCT_PAGE_SIZE = 64
VMEMMAP_START = 0xFFFFEA0000000000
REGION_PHYS_BASE = 0x1_0000_0000  # pmem at 4 GiB physical, pfn 0x100000
GUP_PIN_COUNTING_BIAS = 1024
LLONG_MAX = (1 << 63) - 1


def align_up(x: int, a: int) -> int:
    return (x + a - 1) // a * a


class Page:
    """``struct page`` of one pfn (the fields the DAX paths use)."""

    __slots__ = ("hwpoison", "index", "mapcount", "mapping", "order", "pfn", "pincount",
                 "refcount", "share")

    def __init__(self, pfn: int, refcount: int) -> None:
        self.pfn = pfn
        self.refcount = refcount
        self.mapcount = 0  # v6.15: page-table mappings (folio_mapcount)
        self.mapping: object | None = None  # the address_space (dax_associate_entry)
        self.index = 0
        self.share = 0
        self.hwpoison = False
        self.order = 0  # v6.15: a PMD entry makes a compound folio of order 9 at its head
        self.pincount = 0  # pins counted (FOLL_PIN), for display

    def tr(self) -> str:
        return f"pfn {self.pfn:#x}"


class DevPagemap:
    """``struct dev_pagemap`` of the pfn device: MEMORY_DEVICE_FS_DAX pages."""

    def __init__(self, first_pfn: int, npfns: int, idle: int) -> None:
        self.first_pfn = first_pfn
        self.npfns = npfns
        self.idle = idle  # refcount of an idle page: 1 (<= v6.14) or 0 (v6.15)
        self.pages: dict[int, Page] = {}
        self.present = True

    def page(self, pfn: int) -> Page:
        p = self.pages.get(pfn)
        if p is None:
            p = Page(pfn, self.idle)
            self.pages[pfn] = p
        return p


class DaxDevice:
    """``struct dax_device``: liveness (DAXDEV_ALIVE) and the holder (v6.0)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.alive = True
        self.holder: SuperBlock | None = None
        self.holder_ops: str | None = None  # "xfs_dax_holder_operations" or None


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
        from .locks import RwSem
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
        self.dax = DaxDevice("dax0")
        self.disk = PmemDisk("pmem0", self.ns)
        self.pfn.bound = True
