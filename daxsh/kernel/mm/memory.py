"""Models mm/memory.c (v4.13-v6.15): page tables (``insert_pte``/``insert_pmd``, the
``vmf_insert_*`` helpers), the page-fault entry (``handle_mm_fault``, ``do_cow_fault``),
zapping (``zap_vma``), unmapping and write-protecting a file's pages
(``unmap_mapping_pages``, ``pfn_mkclean_range``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import DAX_REFCOUNT_0
from ..footprint import C, R
from ..sched import kfunc, traced
from .memremap import page_is_idle
from .types import PAGE_SIZE, PMD_ORDER, PMD_SIZE, VM_FAULT_FALLBACK, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, ZERO_PFN, Vmf

if TYPE_CHECKING:
    from ..fs.inode import AddressSpace
    from ..machine import Kernel
    from ..sched import KGen, Task
    from .mmap import MM, VMA


class PTE:
    __slots__ = ("pfn", "pmd", "special", "write")

    def __init__(self, pfn: int, write: bool, pmd: bool = False, special: bool = False) -> None:
        self.pfn = pfn
        self.write = write
        self.pmd = pmd
        self.special = special  # the zero page


# -- page table updates (called with the fault's locks held) ------------------------------------


def note_lookup(k: Kernel, mm: MM, addr: int) -> None:
    """Footprint of :func:`lookup_pte`: the PTE and the PMD that could map ``addr``."""
    sched = k.sched
    if sched.footprint is not None:
        sched.note(("pte", mm.name, addr), R)
        sched.note(("pmd", mm.name, addr - addr % PMD_SIZE), R)


RANGE_KEYS = 1024  # a walk over more pages than this reads whole 2 MiB page tables instead


def note_region(k: Kernel, mm: MM, lo: int, hi: int) -> None:
    """Footprint of a walk that must see every entry of [lo, hi): each PTE and PMD slot it
    covers, or, for a long range, the page table of each 2 MiB region (which every insertion
    and removal updates commutatively)."""
    sched = k.sched
    if sched.footprint is None or hi <= lo:
        return
    first = lo - lo % PMD_SIZE
    if (hi - lo) // PAGE_SIZE <= RANGE_KEYS:
        name = mm.name
        for a in range(lo - lo % PAGE_SIZE, hi, PAGE_SIZE):
            sched.note(("pte", name, a), R)
        for r in range(first, hi, PMD_SIZE):
            sched.note(("pmd", name, r), R)
        return
    for r in range(first, hi, PMD_SIZE):
        sched.note(("pt", mm.name, r), R)


def _map_ref(k: Kernel, t: Task, pfn: int, pmd: bool) -> None:
    """v6.15: a mapping takes a folio reference and a mapcount (a commuting update)."""
    if not k.has(DAX_REFCOUNT_0) or pfn == ZERO_PFN or not k.is_pmem_pfn(pfn):
        return
    page = k.pfn_to_page(t, pfn)
    page.refcount += 1
    page.mapcount += 1
    k.sched.note(("ref", pfn), C)


def _unmap_ref(k: Kernel, t: Task, pfn: int) -> None:
    if not k.has(DAX_REFCOUNT_0) or pfn == ZERO_PFN or not k.is_pmem_pfn(pfn):
        return
    page = k.pfn_to_page(t, pfn)
    page.refcount -= 1
    page.mapcount -= 1
    k.sched.note(("ref", pfn))  # drop and test for idle
    if page_is_idle(k, page):
        k.trace(t, "free_zone_device_folio", page)
        k.wake_up_var(t, page)


def insert_pte(t: Task, vma: VMA, addr: int, pfn: int, write: bool, special: bool = False) -> None:
    k = t.k
    mm = vma.mm
    k.sched.note(("pte", mm.name, addr))
    k.sched.note(("pt", mm.name, addr - addr % PMD_SIZE), C)
    old = mm.ptes.get(addr)
    if old is not None and old.pfn == pfn:
        old.write = old.write or write
        return
    if old is not None:
        _unmap_ref(k, t, old.pfn)
    fn = "vmf_insert_page_mkwrite" if k.has(DAX_REFCOUNT_0) else "vmf_insert_mixed"
    k.trace(t, fn, f"{addr:#x}", pfn=pfn, write=write)
    mm.ptes[addr] = PTE(pfn, write, special=special)
    _map_ref(k, t, pfn, False)


def insert_pmd(t: Task, vma: VMA, haddr: int, pfn: int, write: bool, special: bool = False) -> None:
    k = t.k
    mm = vma.mm
    k.sched.note(("pmd", mm.name, haddr))
    k.sched.note(("pt", mm.name, haddr), C)
    fn = "vmf_insert_folio_pmd" if k.has(DAX_REFCOUNT_0) else "vmf_insert_pfn_pmd"
    k.trace(t, fn, f"{haddr:#x}", pfn=pfn, write=write)
    mm.pmds[haddr] = PTE(pfn, write, pmd=True, special=special)
    _map_ref(k, t, pfn, True)


def _zap(t: Task, mm: MM, vaddr: int, pmd: bool) -> None:
    k = t.k
    k.sched.note(("pmd" if pmd else "pte", mm.name, vaddr))
    k.sched.note(("pt", mm.name, vaddr - vaddr % PMD_SIZE), C)
    table = mm.pmds if pmd else mm.ptes
    pte = table.pop(vaddr, None)
    if pte is not None:
        _unmap_ref(k, t, pte.pfn)


@traced
def unmap_mapping_pages(t: Task, mapping: AddressSpace, start: int, nr: int, even_cows: bool) -> None:
    """Zap every PTE/PMD mapping file pages [start, start+nr) in every VMA of the file."""
    k = t.k
    k.sched.note(("i_mmap", mapping.host.ino), R)
    end = start + nr
    for vma in list(mapping.i_mmap):
        mm = vma.mm
        first = max(start, vma.pgoff)
        last = min(end, vma.pgoff + (vma.end - vma.start) // PAGE_SIZE)
        if first >= last:
            continue
        lo, hi = vma.addr_of(first), vma.addr_of(last)
        note_region(k, mm, lo, hi)
        for a in sorted(a for a in mm.pmds if lo - PMD_SIZE < a < hi and vma.start <= a < vma.end):
            _zap(t, mm, a, True)
        for a in sorted(a for a in mm.ptes if lo <= a < hi):
            if a in vma.anon and not even_cows:
                continue
            _zap(t, mm, a, False)
            if even_cows:
                vma.anon.pop(a, None)


def unmap_mapping_range(t: Task, mapping: AddressSpace, start: int, nr: int, even_cows: bool) -> None:
    unmap_mapping_pages(t, mapping, start, nr, even_cows)


@traced
def wrprotect_mapping_pages(t: Task, mapping: AddressSpace, start: int, nr: int,
                            func: str = "pfn_mkclean_range") -> None:
    """``pfn_mkclean_range`` / ``dax_entry_mkclean``: under ``i_mmap_lock_read``, make every
    shared mapping of the range read-only (PTEs and PMDs) so the next store faults."""
    k = t.k
    k.trace(t, func, mapping, index=start, nr=nr)
    k.sched.note(("i_mmap", mapping.host.ino), R)
    end = start + nr
    for vma in mapping.i_mmap:
        if not vma.shared:
            continue
        lo, hi = vma.addr_of(max(start, vma.pgoff)), vma.addr_of(end)
        mm = vma.mm
        note_region(k, mm, max(lo, vma.start), min(hi, vma.end))
        for a, pte in mm.ptes.items():
            if lo <= a < hi and vma.start <= a < vma.end:
                k.sched.note(("pte", mm.name, a))
                pte.write = False
        for a, pte in mm.pmds.items():
            if lo - PMD_SIZE < a < hi and vma.start <= a < vma.end:
                k.sched.note(("pmd", mm.name, a))
                pte.write = False


def lookup_pte(mm: MM, addr: int) -> PTE | None:
    pte = mm.ptes.get(addr)
    if pte is not None:
        return pte
    haddr = addr - addr % PMD_SIZE
    pmd = mm.pmds.get(haddr)
    if pmd is not None:
        return PTE(pmd.pfn + (addr - haddr) // PAGE_SIZE, pmd.write, pmd=True, special=pmd.special)
    return None


# -- faults -------------------------------------------------------------------------------------


@kfunc
def handle_mm_fault(t: Task, vma: VMA, addr: int, write: bool) -> KGen:
    """``__handle_mm_fault``: try a PMD fault on a huge-page VMA, else the PTE path."""
    k = t.k
    inode = vma.file.inode
    ops = inode.sb.ops
    if not vma.shared and write:
        return (yield from do_cow_fault(t, vma, addr))
    haddr = addr - addr % PMD_SIZE
    fits = vma.start <= haddr and haddr + PMD_SIZE <= vma.end  # transhuge_vma_suitable
    k.sched.note(("pmd", vma.mm.name, haddr), R)
    if vma.hugepage and fits and ops.has_huge_fault and haddr not in vma.mm.pmds:
        ret = yield from ops.huge_fault(t, Vmf(vma, addr, write), PMD_ORDER)
        if ret != VM_FAULT_FALLBACK:
            return ret
        k.trace(t, "count_vm_event", "THP_FAULT_FALLBACK")
    return (yield from ops.fault(t, Vmf(vma, addr, write)))


@kfunc
def do_cow_fault(t: Task, vma: VMA, addr: int) -> KGen:
    """A write to a MAP_PRIVATE mapping: the data is copied to an anonymous page."""
    k = t.k
    inode = vma.file.inode
    k.sched.note(("inode", inode.ino, "size"), R)
    if vma.pgoff_of(addr) * PAGE_SIZE >= inode.size:
        return VM_FAULT_SIGBUS
    ret = yield from inode.sb.ops.fault(t, Vmf(vma, addr, False))
    if ret != VM_FAULT_NOPAGE:
        return ret
    pfn = k.alloc_dram_page()
    vma.anon[addr] = pfn
    insert_pte(t, vma, addr, pfn, True)
    return VM_FAULT_NOPAGE


def zap_vma(t: Task, vma: VMA) -> None:
    mm = vma.mm
    note_region(t.k, mm, vma.start, vma.end)
    for a in sorted(a for a in mm.pmds if vma.start <= a < vma.end):
        _zap(t, mm, a, True)
    for a in sorted(a for a in mm.ptes if vma.start <= a < vma.end):
        _zap(t, mm, a, False)
    vma.anon.clear()
