"""Types and constants include/linux/mm.h, mm_types.h and arch/x86's page_types.h declare:
page sizes, ``struct page``, ``struct vm_fault`` (``Vmf``), the ``VM_FAULT_*`` codes and the
zero page."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

PAGE_SIZE = 4096
PAGE_SHIFT = 12
PMD_SIZE = 2 << 20
PMD_PAGES = PMD_SIZE // PAGE_SIZE
PMD_ORDER = 9
STRUCT_PAGE_SIZE = 64
VMEMMAP_START = 0xFFFFEA0000000000
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


# -- faults -------------------------------------------------------------------------------------

VM_FAULT_NOPAGE = "NOPAGE"
VM_FAULT_SIGBUS = "SIGBUS"
VM_FAULT_FALLBACK = "FALLBACK"
VM_FAULT_HWPOISON = "HWPOISON"
VM_FAULT_NEEDDSYNC = "NEEDDSYNC"

ZERO_PFN = 0x1000  # the shared zero page (in DRAM)


class Vmf:
    """``struct vm_fault`` (never changed once made, so traces may format it late)."""

    __slots__ = ("addr", "pgoff", "vma", "write")

    def __init__(self, vma: Any, addr: int, write: bool) -> None:
        self.vma = vma
        self.addr = addr
        self.pgoff = vma.pgoff + (addr - vma.start) // PAGE_SIZE
        self.write = write

    def tr(self) -> str:
        return f"addr {self.addr:#x} pgoff {self.pgoff}{' write' if self.write else ''}"
