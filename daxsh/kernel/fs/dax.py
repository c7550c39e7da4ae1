"""Models fs/dax.c (v4.13-v6.15) and the DAX parts of mm/truncate.c, and ``struct dax_holder_operations``
(include/linux/dax.h).

``i_pages`` holds value entries (``DaxEntry``): EMPTY (a locked placeholder during a fault),
ZERO (a hole mapped to the zero page) and NORMAL (maps a real block).  A PMD entry covers 512
indices and is stored at its aligned first index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import (
    DAX_BREAK_LAYOUT,
    DAX_BUSY_SCAN_UNMAPPED,
    DAX_PAGE_MAPPING,
    DAX_REFCOUNT_0,
    PFN_MKCLEAN_RANGE,
    UNMAP_NO_EVEN_COWS,
)
from ..errno import ERESTARTSYS
from ..footprint import C, R
from ..mm.memory import insert_pmd, insert_pte, unmap_mapping_pages, wrprotect_mapping_pages
from ..mm.memremap import folio_head, page_busy, page_is_idle
from ..mm.types import (
    LLONG_MAX,
    PAGE_SIZE,
    PMD_ORDER,
    PMD_PAGES,
    VM_FAULT_FALLBACK,
    VM_FAULT_HWPOISON,
    VM_FAULT_NEEDDSYNC,
    VM_FAULT_NOPAGE,
    VM_FAULT_SIGBUS,
    ZERO_PFN,
)
from ..outcomes import media_write
from ..sched import (
    TASK_INTERRUPTIBLE,
    TASK_UNINTERRUPTIBLE,
    Wait,
    finish_wait,
    kfunc,
    preempt,
    prepare_to_wait,
    schedule,
    traced,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..machine import Kernel
    from ..mm.types import Page, Vmf
    from ..sched import KGen, Task
    from .inode import AddressSpace, Inode

EMPTY = "empty"
ZERO = "zero"
NORMAL = "normal"


class DaxEntry:
    __slots__ = ("dirty", "index", "ino", "kind", "locked", "owner", "pfn", "pmd")

    def __init__(self, kind: str, ino: int, index: int, pfn: int = 0, pmd: bool = False) -> None:
        self.ino = ino
        self.index = index
        self.kind = kind
        self.pfn = pfn
        self.pmd = pmd
        self.locked = False
        self.owner: Any = None  # the task that holds the entry lock
        self.dirty = False

    def tr(self) -> str:
        """Its identity, as traces name it (its kind and pfn change; traces show those apart)."""
        return f"entry ino {self.ino} index {self.index}{' pmd' if self.pmd else ''}"

    def state(self) -> str:
        s = f"{self.kind}{' pmd' if self.pmd else ''}"
        if self.kind == NORMAL:
            s += f" pfn {self.pfn:#x}"
        return s + (" locked" if self.locked else "")

    def npages(self) -> int:
        return PMD_PAGES if self.pmd else 1


def note_entry(k: Kernel, mapping: AddressSpace, index: int, mode: int = R) -> None:
    """Footprint of a look-up of ``index``: its own slot, and whether a PMD entry covers it
    (``("pmd_entry", ino, base)``, written only when a PMD entry comes or goes)."""
    sched = k.sched
    if sched.footprint is not None:
        ino = mapping.host.ino
        sched.note(("entry", ino, index), mode)
        sched.note(("pmd_entry", ino, index - index % PMD_PAGES), R)


def note_entry_change(k: Kernel, mapping: AddressSpace, index: int, e: DaxEntry | None) -> None:
    """An entry added at or removed from ``index``: its slot, the xarray's set of entries, and,
    for a PMD entry, the coverage of its 2 MiB range."""
    sched = k.sched
    if sched.footprint is not None:
        ino = mapping.host.ino
        sched.note(("entry", ino, index))
        sched.note(("i_pages", ino), C)
        if e is not None and e.pmd:
            sched.note(("pmd_entry", ino, index))


def lookup_entry(mapping: AddressSpace, index: int) -> tuple[int, DaxEntry] | None:
    """Find the entry covering ``index``: (its first index, the entry).  Callers note the
    look-up (:func:`note_entry`)."""
    e = mapping.i_pages.get(index)
    if e is not None:
        return index, e
    base = index - index % PMD_PAGES
    e = mapping.i_pages.get(base)
    if e is not None and getattr(e, "pmd", False):
        return base, e
    return None


def dax_entries(mapping: AddressSpace, k: Kernel | None = None) -> list[tuple[int, DaxEntry]]:
    """Every DAX entry of the file, by index (with ``k``: noted as a scan of the xarray)."""
    if k is not None:
        k.sched.note(("i_pages", mapping.host.ino), R)
    return sorted((i, e) for i, e in mapping.i_pages.items() if isinstance(e, DaxEntry))


def entry_pages(k: Kernel, t: Task, e: DaxEntry) -> list[Page]:
    return [k.pfn_to_page(t, e.pfn + i) for i in range(e.npages())]


@traced
def dax_associate_entry(t: Task, e: DaxEntry, mapping: AddressSpace, index: int) -> None:
    k = t.k
    if not k.has(DAX_PAGE_MAPPING) or e.kind != NORMAL:
        return
    pages = entry_pages(k, t, e)
    if k.has(DAX_REFCOUNT_0) and e.pmd:
        pages[0].order = PMD_ORDER  # dax_folio_init: prep_compound_page
        t.k.trace(t, "dax_folio_init", pages[0], order=PMD_ORDER)
    for i, page in enumerate(pages):
        k.sched.note(("page", page.pfn))
        if page.mapping is not None and page.mapping is not mapping:
            k.warn(t, "fs/dax.c", "dax_associate_entry", "WARN_ON_ONCE(page->mapping)")
        page.mapping = mapping
        page.index = index + i


@traced
def dax_disassociate_entry(t: Task, e: DaxEntry, mapping: AddressSpace, trunc: bool) -> None:
    k = t.k
    if not k.has(DAX_PAGE_MAPPING) or e.kind != NORMAL:
        return
    pages = entry_pages(k, t, e)  # touches struct page: oops if the memmap is gone
    for page in pages:
        k.sched.note(("page", page.pfn))
        head = folio_head(k, t, mapping, page.pfn)
        if trunc and page_busy(k, head) and not k.has(DAX_BREAK_LAYOUT):
            k.warn(t, "fs/dax.c", "dax_disassociate_entry",
                   "WARN_ON_ONCE(trunc && page_ref_count(page) > 1)")
        page.mapping = None
        page.index = 0
    if k.has(DAX_REFCOUNT_0) and e.pmd:
        pages[0].order = 0  # dax_folio_put: split back to order-0


# -- entry locking ------------------------------------------------------------------------------


def _entry_key(index: int, e: DaxEntry | None) -> int:
    return index - index % PMD_PAGES if e is not None and e.pmd else index


@kfunc
def get_unlocked_entry(t: Task, mapping: AddressSpace, index: int) -> KGen:
    """Wait (TASK_UNINTERRUPTIBLE) while the entry at ``index`` is locked; returns
    ``(first index, entry)`` or None."""
    k = t.k
    while True:
        note_entry(k, mapping, index)
        found = lookup_entry(mapping, index)
        if found is None or not isinstance(found[1], DaxEntry) or not found[1].locked:
            return found
        base, e = found
        wq = mapping.entry_wq(_entry_key(base, e))
        prepare_to_wait(t, wq, TASK_UNINTERRUPTIBLE,
                        Wait("entry", e, f"DAX entry ino {mapping.host.ino} index {base}",
                             "get_unlocked_entry", "entry unlocked"))
        yield from schedule(t)
        finish_wait(t, wq)


def dax_lock_entry(t: Task, e: DaxEntry) -> None:
    t.k.sched.note(("entry", e.ino, e.index))
    e.locked = True
    e.owner = t


@traced
def dax_unlock_entry(t: Task, mapping: AddressSpace, index: int, e: DaxEntry) -> None:
    t.k.sched.note(("entry", e.ino, e.index))
    e.locked = False
    e.owner = None
    mapping.entry_wq(_entry_key(index, e)).wake_up(t.k, 1)  # WAKE_NEXT


def wake_entry_all(k: Kernel, mapping: AddressSpace, index: int, e: DaxEntry) -> None:
    mapping.entry_wq(_entry_key(index, e)).wake_up(k)  # WAKE_ALL


@kfunc
def grab_mapping_entry(t: Task, mapping: AddressSpace, index: int, order: int) -> KGen:
    """Return ``(first index, locked entry)`` or ``None`` for a PMD conflict (fallback)."""
    k = t.k
    ino = mapping.host.ino
    while True:
        found = yield from get_unlocked_entry(t, mapping, index)
        if found is not None:
            base, e = found
            if order == PMD_ORDER and not e.pmd:
                return None  # a PTE entry inside the 2 MiB range: conflict
            if order == 0 and e.pmd and e.kind in (ZERO, EMPTY):
                # downgrade: unmap the huge zero page, delete the PMD entry, insert PTE entries
                dax_lock_entry(t, e)
                unmap_mapping_pages(t, mapping, base, PMD_PAGES, False)
                note_entry_change(k, mapping, base, e)
                del mapping.i_pages[base]
                wake_entry_all(k, mapping, base, e)
                k.trace(t, "dax_downgrade_pmd_entry", mapping, index=base)
                continue
            dax_lock_entry(t, e)
            return base, e
        if order == PMD_ORDER:
            base = index - index % PMD_PAGES
            k.sched.note(("i_pages", ino), R)  # any PTE entry in the 2 MiB range?
            if any(i in mapping.i_pages for i in range(base, base + PMD_PAGES)):
                return None
            e = DaxEntry(EMPTY, mapping.host.ino, base, pmd=True)
            note_entry_change(k, mapping, base, e)
            mapping.i_pages[base] = e
            dax_lock_entry(t, e)
            return base, e
        e = DaxEntry(EMPTY, mapping.host.ino, index)
        note_entry_change(k, mapping, index, e)
        mapping.i_pages[index] = e
        dax_lock_entry(t, e)
        return index, e


@traced
def dax_insert_entry(t: Task, mapping: AddressSpace, index: int, e: DaxEntry, pfn: int,
                     kind: str, dirty: bool) -> DaxEntry:
    """Turn the locked entry into a ZERO or NORMAL one for ``pfn`` (stays locked)."""
    t.k.sched.note(("entry", e.ino, e.index))
    if e.kind != EMPTY and (e.kind != kind or e.pfn != pfn):
        if e.kind == NORMAL:
            dax_disassociate_entry(t, e, mapping, False)
        unmap_mapping_pages(t, mapping, index, e.npages(), False)
    if e.kind != NORMAL or e.pfn != pfn:
        e.kind = kind
        e.pfn = pfn
        if kind == NORMAL:
            dax_associate_entry(t, e, mapping, index)
    if dirty:
        e.dirty = True
    return e


@kfunc
def dax_iomap_fault(t: Task, vmf: Vmf, order: int) -> KGen:
    if order == 0:
        return (yield from dax_iomap_pte_fault(t, vmf))
    if order == PMD_ORDER:
        return (yield from dax_iomap_pmd_fault(t, vmf))
    return VM_FAULT_FALLBACK


def _direct_access(t: Task, inode: Inode, block: int) -> tuple[int | None, str]:
    """``dax_iomap_direct_access`` under ``dax_read_lock``: (pfn, error)."""
    k = t.k
    k.trace(t, "dax_direct_access", inode.sb.bdev.name, block=block)
    k.sched.note(("nvdimm",), R)
    dax = k.nvdimm.dax
    if dax is None or not dax.alive or inode.sb.bdev is not k.nvdimm.disk:
        return None, "ENXIO"
    pfn = inode.sb.bdev.block_to_pfn(block)
    k.sched.note(("page", pfn), R)  # badblocks
    if pfn in inode.sb.bdev.badblocks:
        return None, "EHWPOISON"
    return pfn, ""


@kfunc
def dax_iomap_pte_fault(t: Task, vmf: Vmf) -> KGen:
    k = t.k
    vma = vmf.vma
    inode = vma.file.inode
    mapping = inode.mapping
    k.sched.note(("inode", inode.ino, "size"), R)
    if vmf.pgoff * PAGE_SIZE >= inode.size:
        return VM_FAULT_SIGBUS
    got = yield from grab_mapping_entry(t, mapping, vmf.pgoff, 0)
    assert got is not None
    base, e = got
    try:
        yield from preempt(t, "dax_iomap_pte_fault")
        ops = inode.sb.ops
        sync = vma.sync and vmf.write
        if e.pmd and e.kind == NORMAL:
            pfn = e.pfn + (vmf.pgoff - base)
            insert_pte(t, vma, vmf.addr, pfn, vmf.write)
            return VM_FAULT_NOPAGE
        block, new, err = yield from ops.iomap_begin(t, inode, vmf.pgoff, vmf.write)
        if err:
            return VM_FAULT_SIGBUS
        if block is None:
            # a read of a hole: dax_load_hole maps the zero page
            k.trace(t, "dax_load_hole", inode, index=vmf.pgoff)
            dax_insert_entry(t, mapping, base, e, ZERO_PFN, ZERO, False)
            insert_pte(t, vma, vmf.addr, ZERO_PFN, False, special=True)
            return VM_FAULT_NOPAGE
        pfn, derr = _direct_access(t, inode, block)
        if derr == "EHWPOISON":
            return VM_FAULT_HWPOISON
        if pfn is None:
            return VM_FAULT_SIGBUS
        if new:
            media_write(t, inode.sb.disk, block, f"zeroing for {inode.ino}")
        dax_insert_entry(t, mapping, base, e, pfn, NORMAL, vmf.write and not sync)
        if sync and new:
            k.trace(t, "dax_fault_iter", ret=VM_FAULT_NEEDDSYNC)
            yield from ops.fsync(t, inode)
            k.trace(t, "dax_finish_sync_fault", inode, index=vmf.pgoff)
        insert_pte(t, vma, vmf.addr, pfn, vmf.write)
        return VM_FAULT_NOPAGE
    finally:
        if e.locked:
            dax_unlock_entry(t, mapping, base, e)
        if e.kind == EMPTY and mapping.i_pages.get(base) is e:
            note_entry_change(k, mapping, base, e)
            del mapping.i_pages[base]


def _pmd_fallback(t: Task, why: str) -> str:
    t.k.trace(t, "dax_pmd_fault_fallback", why)
    return VM_FAULT_FALLBACK


@kfunc
def dax_iomap_pmd_fault(t: Task, vmf: Vmf) -> KGen:
    k = t.k
    vma = vmf.vma
    inode = vma.file.inode
    mapping = inode.mapping
    haddr = vmf.addr - vmf.addr % (PMD_PAGES * PAGE_SIZE)
    hpgoff = vmf.pgoff - vmf.pgoff % PMD_PAGES
    if (haddr // PAGE_SIZE) % PMD_PAGES != (vma.pgoff + (haddr - vma.start) // PAGE_SIZE) % PMD_PAGES:
        return _pmd_fallback(t, "file offset and address differ in 2 MiB colour")
    if vmf.write and not vma.shared:
        return _pmd_fallback(t, "write to a private mapping")
    if haddr < vma.start or haddr + PMD_PAGES * PAGE_SIZE > vma.end:
        return _pmd_fallback(t, "2 MiB range leaves the VMA")
    k.sched.note(("inode", inode.ino, "size"), R)
    if (hpgoff + PMD_PAGES) * PAGE_SIZE > inode.size:
        return _pmd_fallback(t, "2 MiB range extends past EOF")
    got = yield from grab_mapping_entry(t, mapping, hpgoff, PMD_ORDER)
    if got is None:
        return _pmd_fallback(t, "PTE entries in the 2 MiB range")
    base, e = got
    try:
        blocks = yield from inode.sb.ops.iomap_extent(t, inode, hpgoff, PMD_PAGES, vmf.write)
        if blocks is None:
            if vmf.write:
                return _pmd_fallback(t, "extent shorter than 2 MiB")
            # a hole read maps the huge zero page
            dax_insert_entry(t, mapping, base, e, ZERO_PFN, ZERO, False)
            insert_pmd(t, vma, haddr, ZERO_PFN, False, special=True)
            return VM_FAULT_NOPAGE
        block, new = blocks
        pfn, derr = _direct_access(t, inode, block)
        if derr == "EHWPOISON":
            return VM_FAULT_HWPOISON
        if pfn is None:
            return VM_FAULT_SIGBUS
        if pfn % PMD_PAGES:
            return _pmd_fallback(t, "pfn range not 2 MiB aligned")
        if new:
            for i in range(PMD_PAGES):
                media_write(t, inode.sb.disk, block + i, f"zeroing for {inode.ino}")
        dax_insert_entry(t, mapping, base, e, pfn, NORMAL, vmf.write and not vma.sync)
        insert_pmd(t, vma, haddr, pfn, vmf.write)
        return VM_FAULT_NOPAGE
    finally:
        if e.locked:
            dax_unlock_entry(t, mapping, base, e)
        if e.kind == EMPTY and mapping.i_pages.get(base) is e:
            note_entry_change(k, mapping, base, e)
            del mapping.i_pages[base]


# -- busy pages and breaking layouts ------------------------------------------------------------


@kfunc
def dax_layout_busy_page(t: Task, mapping: AddressSpace, unmapped: bool = False) -> KGen:
    """The whole file's first busy page (5fac7408d828, v4.18); from v5.10 (6bbdd563ee9a) a
    wrapper that calls the range form with (0, LLONG_MAX), so a trace shows both frames there
    and this one alone before."""
    if t.k.kname("dax_layout_busy_page_range") == "dax_layout_busy_page_range":
        return (yield from dax_layout_busy_page_range(t, mapping, 0, LLONG_MAX, unmapped))
    return (yield from _busy_page(t, mapping, 0, LLONG_MAX, unmapped))


@kfunc
def dax_layout_busy_page_range(t: Task, mapping: AddressSpace, start: int, end: int,
                               unmapped: bool = False) -> KGen:
    """Unmap the file's range, then return the first page with a reference that page-table
    mappings do not explain.  ``unmapped`` scans a file without VMAs too, as v6.15 and both
    eviction proposals do."""
    return (yield from _busy_page(t, mapping, start, end, unmapped))


def _busy_page(t: Task, mapping: AddressSpace, start: int, end: int, unmapped: bool) -> KGen:
    k = t.k
    ino = mapping.host.ino
    k.sched.note(("inode", ino, "flags"), R)  # a_ops
    if mapping.a_ops != "dax":
        return None
    k.sched.note(("i_mmap", ino), R)
    if not mapping.mapped() and not k.has(DAX_BUSY_SCAN_UNMAPPED) and not unmapped:
        k.trace(t, "dax_layout_busy_page_range", "!mapping_mapped: scan skipped")
        return None
    even_cows = not k.has(UNMAP_NO_EVEN_COWS)
    unmap_mapping_pages(t, mapping, start, end - start, even_cows)
    yield from preempt(t, "dax_layout_busy_page_range after unmap")
    for index, e in dax_entries(mapping, k):
        if index >= end or index + e.npages() <= start:
            continue
        k.sched.note(("entry", ino, index), R)
        if e.locked:
            found = yield from get_unlocked_entry(t, mapping, index)
            if found is None or not isinstance(found[1], DaxEntry):
                continue
            index, e = found
        if e.kind != NORMAL:
            continue
        for page in entry_pages(k, t, e):
            head = folio_head(k, t, mapping, page.pfn)
            if page_busy(k, head):
                k.trace(t, "dax_busy_page", head, refcount=head.refcount)
                return head
    return None


@kfunc
def ___wait_var_event(t: Task, page: Page, state: str, cmd: Callable[[Task], KGen] | None,
                      why: str) -> KGen:
    """Sleep until ``page`` is idle; ``cmd`` runs in place of a bare ``schedule()`` (the
    filesystem's callback drops its lock around it).  Returns 0 or -ERESTARTSYS."""
    k = t.k
    var = k.var_wq(page.pfn)
    cond = "page_ref_count(page) == 0" if k.has(DAX_REFCOUNT_0) else "page_ref_count(page) == 1"
    ret = 0
    while True:
        prepare_to_wait(t, var, state,
                        Wait("var", page, f"page pfn {page.pfn:#x}", why, cond))
        if page_is_idle(k, page):
            break
        if state == TASK_INTERRUPTIBLE and t.signal_pending():
            ret = -ERESTARTSYS
            break
        if cmd is None:
            yield from schedule(t)
        else:
            yield from cmd(t)
    finish_wait(t, var)
    return ret


def wait_page_idle(t: Task, page: Page, cb: Callable[[Task], KGen] | None, why: str,
                   interruptible: bool = True) -> KGen:
    state = TASK_INTERRUPTIBLE if interruptible else TASK_UNINTERRUPTIBLE
    return ___wait_var_event(t, page, state, cb, why)


@kfunc
def dax_break_layout(t: Task, inode: Inode, start: int, end: int,
                     cb: Callable[[Task], KGen] | None, why: str) -> KGen:
    """v6.15: wait until no page in the range is busy, then delete the DAX entries."""
    mapping = inode.mapping
    t.k.sched.note(("inode", inode.ino, "flags"), R)
    if mapping.a_ops != "dax":
        return 0
    while True:
        page = yield from dax_layout_busy_page_range(t, mapping, start, end)
        if page is None:
            break
        if cb is None:
            return -ERESTARTSYS
        err = yield from wait_page_idle(t, page, cb, why)
        if err:
            return err
    yield from dax_delete_mapping_range(t, mapping, start, end)
    return 0


@kfunc
def dax_break_layout_final(t: Task, inode: Inode) -> KGen:
    """v6.15 eviction: wait uninterruptibly, no locks, no callback; then delete entries."""
    mapping = inode.mapping
    t.k.sched.note(("inode", inode.ino, "flags"), R)
    if mapping.a_ops != "dax":
        return
    while True:
        page = yield from dax_layout_busy_page_range(t, mapping, 0, LLONG_MAX)
        if page is None:
            break
        yield from wait_page_idle(t, page, None, "dax_break_layout_final", interruptible=False)
    yield from dax_delete_mapping_range(t, mapping, 0, LLONG_MAX)


@kfunc
def dax_break_mapping_uninterruptible(t: Task, inode: Inode,
                                      cb: Callable[[Task], KGen] | None) -> KGen:
    """The 2025 v6 proposal (seed 000): as dax_break_layout_final but with the fs callback.
    The v6 series carries cee91fa13a8e, so the scan covers files without VMAs."""
    mapping = inode.mapping
    t.k.sched.note(("inode", inode.ino, "flags"), R)
    if mapping.a_ops != "dax":
        return
    while True:
        page = yield from dax_layout_busy_page_range(t, mapping, 0, LLONG_MAX, True)
        if page is None:
            break
        yield from wait_page_idle(t, page, cb, "dax_break_mapping_uninterruptible",
                                  interruptible=False)
    yield from dax_delete_mapping_range(t, mapping, 0, LLONG_MAX)


# -- removing entries ---------------------------------------------------------------------------


@kfunc
def __dax_invalidate_entry(t: Task, mapping: AddressSpace, index: int, trunc: bool) -> KGen:
    found = yield from get_unlocked_entry(t, mapping, index)
    if found is None or not isinstance(found[1], DaxEntry):
        return False
    base, e = found
    sched = t.k.sched
    sched.note(("entry", mapping.host.ino, base))
    if not trunc and e.dirty:
        return False
    dax_disassociate_entry(t, e, mapping, trunc)
    if mapping.i_pages.get(base) is e:
        note_entry_change(t.k, mapping, base, e)
        del mapping.i_pages[base]
    wake_entry_all(t.k, mapping, base, e)
    return True


def dax_delete_mapping_entry(t: Task, mapping: AddressSpace, index: int) -> KGen:
    return __dax_invalidate_entry(t, mapping, index, True)


def dax_invalidate_mapping_entry_sync(t: Task, mapping: AddressSpace, index: int) -> KGen:
    return __dax_invalidate_entry(t, mapping, index, False)


@kfunc
def dax_delete_mapping_range(t: Task, mapping: AddressSpace, start: int, end: int) -> KGen:
    for index, e in dax_entries(mapping, t.k):
        if start <= index < end or (e.pmd and index < end and index + PMD_PAGES > start):
            yield from __dax_invalidate_entry(t, mapping, index, True)


@kfunc
def truncate_inode_pages_range(t: Task, mapping: AddressSpace, start: int, end: int) -> KGen:
    """mm/truncate.c: page-cache folios go; DAX value entries go through
    ``dax_delete_mapping_entry`` (``truncate_folio_batch_exceptionals``) without waiting."""
    k = t.k
    k.sched.note(("i_pages", mapping.host.ino), R)
    entries = [(i, e) for i, e in sorted(mapping.i_pages.items())
               if (start <= i < end) or (getattr(e, "pmd", False) and i < end and i + PMD_PAGES > start)]
    for index, e in entries:
        if isinstance(e, DaxEntry):
            if k.has(DAX_BREAK_LAYOUT) and e.kind == NORMAL:
                k.warn(t, "mm/truncate.c", "truncate_folio_batch_exceptionals",
                       "WARN_ON_ONCE(dax_mapping(mapping)) - a DAX entry survived breaking layouts")
            yield from dax_delete_mapping_entry(t, mapping, index)
        else:
            k.pagecache_delete(t, mapping, index, e)


def truncate_inode_pages_final(t: Task, mapping: AddressSpace) -> KGen:
    t.k.trace(t, "truncate_inode_pages_final", mapping)
    return truncate_inode_pages_range(t, mapping, 0, LLONG_MAX)


@kfunc
def invalidate_inode_pages2_range(t: Task, mapping: AddressSpace, start: int, end: int) -> KGen:
    unmap_mapping_pages(t, mapping, start, end - start, False)
    t.k.sched.note(("i_pages", mapping.host.ino), R)
    for index, e in list(sorted(mapping.i_pages.items())):
        if start <= index < end:
            if isinstance(e, DaxEntry):
                t.k.sched.note(("entry", mapping.host.ino, index))
                e.dirty = False
                yield from dax_invalidate_mapping_entry_sync(t, mapping, index)
            else:
                t.k.pagecache_delete(t, mapping, index, e)


@kfunc
def dax_writeback_mapping_range(t: Task, mapping: AddressSpace) -> KGen:
    """fsync/sync/MAP_SYNC: ``tag_pages_for_writeback`` (DIRTY -> TOWRITE), then
    ``dax_writeback_one`` for each tagged entry (tl:fs/dax.c@v6.1 lines 1012-1055)."""
    sched = t.k.sched
    for index, e in dax_entries(mapping, t.k):
        sched.note(("entry", mapping.host.ino, index), R)
        if e.dirty:
            yield from dax_writeback_one(t, mapping, index, e)


@kfunc
def dax_writeback_one(t: Task, mapping: AddressSpace, index: int, e: DaxEntry) -> KGen:
    """Lock the entry, write-protect every mapping of its pfns so the next store faults and
    dirties it again (``dax_entry_mkclean`` before v5.18, ``pfn_mkclean_range`` after), flush
    the CPU cache (``dax_flush(dax_dev, page_address(pfn_to_page(pfn)), ...)``: address
    arithmetic under SPARSEMEM_VMEMMAP, no struct page is read, so a removed memmap does not
    fault here; real 6.1 synced at umount after unbind and oopsed only later, in eviction,
    the real-kernel runs), clear the dirty mark, unlock (tl:fs/dax.c@v6.1 lines 912-1004)."""
    k = t.k
    yield from preempt(t, "dax_writeback_one")
    found = yield from get_unlocked_entry(t, mapping, index)
    if found is None or found[1] is not e or not e.dirty:
        return
    base = found[0]
    dax_lock_entry(t, e)
    wrprotect_mapping_pages(t, mapping, base, e.npages(),
                                "pfn_mkclean_range" if k.has(PFN_MKCLEAN_RANGE)
                                else "dax_entry_mkclean")
    if e.kind == NORMAL:
        k.trace(t, "dax_flush", mapping, index=base, pfn=f"{e.pfn:#x}", n=e.npages())
    e.dirty = False
    dax_unlock_entry(t, mapping, base, e)


class DaxHolderOperations:
    """``struct dax_holder_operations`` (include/linux/dax.h): how the dax device tells its
    holder (the filesystem that claimed it with ``fs_dax_get_by_bdev``) about a failure."""

    def __init__(self, name: str, notify_failure: Callable[..., KGen]) -> None:
        self.name = name
        self.notify_failure = notify_failure

    def __repr__(self) -> str:
        return self.name
