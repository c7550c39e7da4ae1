"""Processes, VMAs and page tables; the page-fault entry; unmapping; GUP pins
(shared/KERNEL.md 1.6, 1.7, 2.3, 2.4).

Addresses are deterministic: a process's first mapping starts at 0x7f0000000000 and each next one
at the lowest free address above it, aligned to 2 MiB when the mapping is 2 MiB or larger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import (
    DAX_REFCOUNT_0,
    FOLL_LONGTERM,
    FOLL_PIN_COUNTING,
    FSDAX_NOT_LONGTERM_PINNABLE,
    GUP_LONGTERM,
    GUP_LONGTERM_CHECK_VMA_FLAGS,
)
from .dax import (
    VM_FAULT_FALLBACK,
    VM_FAULT_HWPOISON,
    VM_FAULT_NOPAGE,
    VM_FAULT_SIGBUS,
    ZERO_PFN,
    Vmf,
    folio_head,
    page_is_idle,
)
from .footprint import C, R
from .locks import RwSem, down_read, down_write, up_read, up_write
from .nvdimm import GUP_PIN_COUNTING_BIAS, PAGE_SIZE, PMD_ORDER, PMD_SIZE
from .sched import KGen, Task, kfunc, preempt, traced

if TYPE_CHECKING:
    from .fs import AddressSpace, File
    from .machine import Kernel

MMAP_BASE = 0x7F00_0000_0000


class PTE:
    __slots__ = ("pfn", "pmd", "special", "write")

    def __init__(self, pfn: int, write: bool, pmd: bool = False, special: bool = False) -> None:
        self.pfn = pfn
        self.write = write
        self.pmd = pmd
        self.special = special  # the zero page


class VMA:
    __slots__ = ("anon", "end", "file", "hugepage", "mm", "pgoff", "shared", "start", "sync")

    def __init__(self, mm: MM, start: int, end: int, file: File, pgoff: int, shared: bool,
                 sync: bool) -> None:
        self.mm = mm
        self.start = start
        self.end = end
        self.file = file
        self.pgoff = pgoff
        self.shared = shared
        self.sync = sync
        self.hugepage = False
        self.anon: dict[int, int] = {}  # private COW copies: vaddr -> DRAM pfn

    def tr(self) -> str:
        return f"vma {self.start:#x}-{self.end:#x}"

    def flags(self) -> list[str]:
        out = ["VM_READ", "VM_WRITE"]
        if self.shared:
            out.append("VM_SHARED")
        if self.hugepage:
            out.append("VM_HUGEPAGE")
        if self.sync:
            out.append("VM_SYNC")
        return out

    def pgoff_of(self, addr: int) -> int:
        return self.pgoff + (addr - self.start) // PAGE_SIZE

    def addr_of(self, pgoff: int) -> int:
        return self.start + (pgoff - self.pgoff) * PAGE_SIZE


class MM:
    """``struct mm_struct``.  Footprint keys (kernel/footprint.py): ``("vmas", name)`` its VMA
    list, ``("pte", name, addr)`` / ``("pmd", name, haddr)`` one entry, ``("pt", name, haddr)``
    the page table of a 2 MiB region (the split page-table lock's granularity)."""

    def __init__(self, name: str, owner: Process | None = None) -> None:
        self.name = name
        self.owner = owner
        self.vmas: list[VMA] = []
        self.ptes: dict[int, PTE] = {}
        self.pmds: dict[int, PTE] = {}
        self.mmap_lock = RwSem("mmap_lock", name)


class Process:
    def __init__(self, name: str, pid: int) -> None:
        self.name = name
        self.pid = pid
        self.mm = MM(name, self)
        self.cwd = "/"
        self.alive = True
        self.dying = False
        self.exit_reason = ""
        self.exit_task: Any = None
        self.files: list[Any] = []  # open files (fds) other than mappings

    def tr(self) -> str:
        return f"{self.name}:{self.pid}"


class Pin:
    """Pages a device holds pinned for DMA (``pin_user_pages``)."""

    def __init__(self, name: str, proc: Process, addr: int, longterm: bool) -> None:
        self.name = name
        self.proc = proc
        self.addr = addr
        self.longterm = longterm
        self.pfns: list[int] = []
        self.heads: list[int] = []  # the page that took the reference (folio head in v6.15)
        self.origin: list[tuple[int, int, int, str] | None] = []  # (fs uuid, ino, fblock, path)
        self.bias = 1
        self.biases: list[int] = []  # what each pinned page's refcount took (per head)
        self.releasing: Task | None = None
        self.released = False

    def tr(self) -> str:
        return self.name


# -- address space layout -----------------------------------------------------------------------


def find_vma(mm: MM, addr: int) -> VMA | None:
    """The VMA holding ``addr`` (callers note ``("vmas", mm.name)``: this reads the list)."""
    for v in mm.vmas:
        if v.start <= addr < v.end:
            return v
    return None


def get_unmapped_area(mm: MM, length: int) -> int:
    align = PMD_SIZE if length >= PMD_SIZE else PAGE_SIZE
    addr = MMAP_BASE
    for v in sorted(mm.vmas, key=lambda v: v.start):
        a = (addr + align - 1) // align * align
        if a + length <= v.start:
            return a
        addr = max(addr, v.end)
    return (addr + align - 1) // align * align


def vma_is_fsdax(vma: VMA) -> bool:
    return vma.file is not None and vma.file.inode.dax


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


def vm_fault_to_signal(ret: str) -> tuple[str, str] | None:
    if ret == VM_FAULT_SIGBUS:
        return "SIGBUS", "BUS_ADRERR"
    if ret == VM_FAULT_HWPOISON:
        return "SIGBUS", "BUS_MCEERR_AR"
    return None


@kfunc
def do_user_access(t: Task, proc: Process, addr: int, write: bool) -> KGen:
    """A load or store by the process at ``addr``: walk the page table, fault if needed.

    Returns None, or a (signal, si_code) the access raised.  After a fault the access is
    retried at once (the return to user space and the restarted instruction are one step
    with the end of the fault: nothing the threads argue about happens in between)."""
    k = t.k
    mm = proc.mm
    for _attempt in range(4):
        k.sched.note(("vmas", mm.name), R)
        vma = find_vma(mm, addr)
        if vma is None:
            return ("SIGSEGV", "SEGV_MAPERR")
        note_lookup(k, mm, addr)  # the page-table walk
        pte = lookup_pte(mm, addr)
        if pte is not None and (pte.write or not write):
            return k.user_touch(t, proc, vma, addr, pte.pfn, write)
        yield from down_read(t, mm.mmap_lock)
        try:
            if write and not vma.shared and pte is not None and addr not in vma.anon:
                ret = yield from do_cow_fault(t, vma, addr)
            elif pte is not None and write:
                ret = yield from vma.file.inode.sb.ops.pfn_mkwrite(t, Vmf(vma, addr, True))
            else:
                ret = yield from handle_mm_fault(t, vma, addr, write)
        finally:
            up_read(t, mm.mmap_lock)
        sig = vm_fault_to_signal(ret)
        if sig is not None:
            return sig
    return ("SIGBUS", "BUS_ADRERR")


# -- mmap / munmap / exit -----------------------------------------------------------------------


@kfunc
def do_mmap(t: Task, proc: Process, file: File, length: int, pgoff: int, shared: bool,
            sync: bool) -> KGen:
    k = t.k
    mm = proc.mm
    yield from down_write(t, mm.mmap_lock)
    try:
        k.sched.note(("vmas", mm.name), R)
        addr = get_unmapped_area(mm, length)
        vma = VMA(mm, addr, addr + length, file, pgoff, shared, sync)
        err = yield from file.inode.sb.ops.mmap(t, file, vma)
        if err:
            return err
        yield from preempt(t, "mmap_region before vma_link")
        yield from vma_link(t, mm, vma, file)
        return addr
    finally:
        up_write(t, mm.mmap_lock)


@kfunc
def vma_link(t: Task, mm: MM, vma: VMA, file: File) -> KGen:
    """Link the new VMA into the mm and the file's ``i_mmap`` (``mapping_mapped()`` is true
    from here): after ``call_mmap`` (``->mmap``) in ``mmap_region``, so a flag change between
    the two sees an unmapped file."""
    k = t.k
    yield from ()
    file.f_count += 1
    k.sched.note(("vmas", mm.name))
    mm.vmas.append(vma)
    mm.vmas.sort(key=lambda v: v.start)
    file.inode.mapping.i_mmap.append(vma)
    k.sched.note(("i_mmap", file.inode.ino))


def zap_vma(t: Task, vma: VMA) -> None:
    mm = vma.mm
    note_region(t.k, mm, vma.start, vma.end)
    for a in sorted(a for a in mm.pmds if vma.start <= a < vma.end):
        _zap(t, mm, a, True)
    for a in sorted(a for a in mm.ptes if vma.start <= a < vma.end):
        _zap(t, mm, a, False)
    vma.anon.clear()


@kfunc
def do_munmap(t: Task, proc: Process, vma: VMA) -> KGen:
    k = t.k
    mm = proc.mm
    yield from down_write(t, mm.mmap_lock)
    try:
        zap_vma(t, vma)
        k.sched.note(("vmas", mm.name))
        if vma in mm.vmas:
            mm.vmas.remove(vma)
        mapping = vma.file.inode.mapping
        if vma in mapping.i_mmap:
            mapping.i_mmap.remove(vma)
        k.sched.note(("i_mmap", vma.file.inode.ino))
    finally:
        up_write(t, mm.mmap_lock)
    yield from k.fput(t, vma.file)


@kfunc
def exit_mmap(t: Task, proc: Process) -> KGen:
    for vma in list(proc.mm.vmas):
        yield from do_munmap(t, proc, vma)


# -- GUP ----------------------------------------------------------------------------------------


@kfunc
def pin_user_pages(t: Task, proc: Process, addr: int, nr: int, longterm: bool, pin: Pin) -> KGen:
    """Returns 0 or a negative errno; pinned pages are recorded in ``pin`` (on an error the
    caller puts back what was taken).

    The fault runs with ``mmap_lock`` held for read, as ``faultin_page`` requires ("must be
    held on entry", tl:mm/gup.c@v6.1); it is dropped only on VM_FAULT_RETRY, which the model's
    DAX faults never return.  The long-term refusal of fsdax VMAs comes before the fault from
    v5.11 (check_vma_flags, 52650c8b466b) and after it before then (see the behaviour)."""
    k = t.k
    mm = proc.mm
    pin.bias = GUP_PIN_COUNTING_BIAS if k.has(FOLL_PIN_COUNTING) else 1
    refuse_after = False
    yield from down_read(t, mm.mmap_lock)
    try:
        for i in range(nr):
            vaddr = addr + i * PAGE_SIZE
            k.sched.note(("vmas", mm.name), R)
            vma = find_vma(mm, vaddr)
            if vma is None:
                return -14  # EFAULT
            k.sched.note(("inode", vma.file.inode.ino, "flags"), R)
            if longterm and vma_is_fsdax(vma) and (k.has(GUP_LONGTERM) or k.has(FOLL_LONGTERM)):
                if k.has(GUP_LONGTERM_CHECK_VMA_FLAGS):
                    k.trace(t, "check_vma_flags", vma, "FOLL_LONGTERM && vma_is_fsdax: -EOPNOTSUPP")
                    return -95  # EOPNOTSUPP
                refuse_after = True
            for _attempt in range(4):
                note_lookup(k, mm, vaddr)
                pte = lookup_pte(mm, vaddr)
                if pte is not None and pte.write and not pte.special:
                    break
                ret = yield from handle_mm_fault(t, vma, vaddr, True)  # faultin_page
                if ret != VM_FAULT_NOPAGE:
                    return -14
            else:
                return -14
            pfn = pte.pfn
            if k.is_pmem_pfn(pfn):
                head = folio_head(k, t, vma.file.inode.mapping, pfn)
                if longterm and k.has(FSDAX_NOT_LONGTERM_PINNABLE):
                    return -95
                # a large folio counts pins in _pincount and takes one reference per pin
                bias = 1 if head.order else pin.bias
                head.refcount += bias
                head.pincount += 1
                pin.biases.append(bias)
                k.sched.note(("ref", head.pfn), C)
                k.trace(t, "try_grab_folio", head, refcount=head.refcount)
                pin.heads.append(head.pfn)
                pin.origin.append(k.block_origin(vma, vaddr, pfn))
            else:
                pin.heads.append(pfn)
                pin.origin.append(None)
                pin.biases.append(pin.bias)
            pin.pfns.append(pfn)
            if i + 1 < nr:
                yield from preempt(t, "gup next page")
        if refuse_after:
            k.trace(t, "check_dax_vmas" if k.has(FOLL_LONGTERM) else "get_user_pages_longterm",
                    "vma_is_fsdax: put the pages, -EOPNOTSUPP")
            return -95  # EOPNOTSUPP
        return 0
    finally:
        up_read(t, mm.mmap_lock)


@traced
def unpin_user_page(t: Task, pfn: int, bias: int) -> None:
    k = t.k
    if not k.is_pmem_pfn(pfn):
        return
    page = k.pfn_to_page(t, pfn)  # a removed memmap oopses here
    page.refcount -= bias
    page.pincount -= 1
    k.sched.note(("ref", pfn))  # drop and test for idle
    if page_is_idle(k, page):
        if k.has(DAX_REFCOUNT_0):
            k.trace(t, "free_zone_device_folio", page)
        else:
            k.trace(t, "put_devmap_managed_page", page)
        k.wake_up_var(t, page)
