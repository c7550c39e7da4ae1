"""Models mm/gup.c: ``pin_user_pages`` (FOLL_PIN, FOLL_LONGTERM) and ``unpin_user_page``,
and the device that holds a pin (``gup_pin``, ``device_dma``,
``device_unpin``: what an RDMA or VFIO driver does with the pages, or an O_DIRECT bio).

With ``stable-bio-put-refs`` (a 6.1.y stable backport) a pin that is not long-term is the
O_DIRECT bio of 6.1: its pages are FOLL_GET references (``iov_iter_get_pages2`` ->
``get_user_pages_fast``) released by ``folio_put_refs``, which never wakes a waiter for an
fsdax page (see :func:`folio_put_refs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import (
    DAX_REFCOUNT_0,
    FOLL_LONGTERM,
    FOLL_PIN_COUNTING,
    FSDAX_NOT_LONGTERM_PINNABLE,
    GUP_LONGTERM,
    GUP_LONGTERM_CHECK_VMA_FLAGS,
    STABLE_BIO_PUT_REFS,
)
from ..errno import EFAULT, EOPNOTSUPP, Ret
from ..footprint import C, R
from ..locks import down_read, up_read
from ..outcomes import block_origin, stray_write
from ..sched import kfunc, preempt, traced
from .memory import handle_mm_fault, lookup_pte, note_lookup
from .memremap import folio_head, page_is_idle
from .mmap import find_vma, vma_is_fsdax
from .types import GUP_PIN_COUNTING_BIAS, PAGE_SIZE, VM_FAULT_NOPAGE
from .vmscan import kmalloc

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .mmap import Process


class Pin:
    """Pages a device holds pinned for DMA (``pin_user_pages``), or, with ``foll_get``, the
    FOLL_GET page references of a 6.1.y O_DIRECT bio (``stable-bio-put-refs``)."""

    def __init__(self, name: str, proc: Process, addr: int, longterm: bool,
                 foll_get: bool = False) -> None:
        self.name = name
        self.proc = proc
        self.addr = addr
        self.longterm = longterm
        self.foll_get = foll_get  # FOLL_GET references (+1 each, no pincount), not FOLL_PIN
        self.pfns: list[int] = []
        self.heads: list[int] = []  # the page that took the reference (folio head in v6.15)
        self.origin: list[tuple[int, int, int, str] | None] = []  # (fs uuid, ino, fblock, path)
        self.bias = 1
        self.biases: list[int] = []  # what each pinned page's refcount took (per head)
        self.releasing: Task | None = None
        self.released = False

    def tr(self) -> str:
        return self.name


# -- GUP ----------------------------------------------------------------------------------------


@kfunc
def pin_user_pages(t: Task, proc: Process, addr: int, nr: int, longterm: bool, pin: Pin) -> KGen:
    """Returns 0 or a negative errno; pinned pages are recorded in ``pin`` (on an error the
    caller puts back what was taken).

    The fault runs with ``mmap_lock`` held for read, as ``faultin_page`` requires ("must be
    held on entry", tl:mm/gup.c@v6.1); it is dropped only on VM_FAULT_RETRY, which the model's
    DAX faults never return.  The long-term refusal of fsdax VMAs comes before the fault from
    v5.11 (check_vma_flags, 52650c8b466b) and after it before then (see the behaviour)."""
    pin.bias = GUP_PIN_COUNTING_BIAS if t.k.has(FOLL_PIN_COUNTING) else 1
    return (yield from _gup(t, proc, addr, nr, longterm, pin))


@kfunc
def iov_iter_get_pages2(t: Task, proc: Process, addr: int, nr: int, pin: Pin) -> KGen:
    """``stable-bio-put-refs``: the O_DIRECT bio of 6.1 takes its pages with
    ``iov_iter_get_pages2`` (6.1.192 block/bio.c:1217, in ``__bio_iov_iter_get_pages``), which
    calls ``get_user_pages_fast`` (lib/iov_iter.c:1460): FOLL_GET, one page reference each.
    Returns 0 or a negative errno, like :func:`pin_user_pages`."""
    return (yield from get_user_pages_fast(t, proc, addr, nr, pin))


@kfunc
def get_user_pages_fast(t: Task, proc: Process, addr: int, nr: int, pin: Pin) -> KGen:
    """6.1.192 mm/gup.c:3151: ``gup_flags |= FOLL_GET`` ("gup fast is always a pin with a +1
    page refcount"): +1 on the page's refcount, no GUP_PIN_COUNTING_BIAS, no pincount.  The
    model takes the slow path's ``mmap_lock`` (as :func:`pin_user_pages`) even where the fast
    path would find the PTE without it."""
    pin.bias = 1
    pin.foll_get = True
    return (yield from _gup(t, proc, addr, nr, False, pin))


def _gup(t: Task, proc: Process, addr: int, nr: int, longterm: bool, pin: Pin) -> KGen:
    """The page walk both take: each page faulted in and its reference taken (``pin.bias``;
    the pincount too unless ``pin.foll_get``)."""
    k = t.k
    mm = proc.mm
    refuse_after = False
    yield from down_read(t, mm.mmap_lock)
    try:
        for i in range(nr):
            vaddr = addr + i * PAGE_SIZE
            k.sched.note(("vmas", mm.name), R)
            vma = find_vma(mm, vaddr)
            if vma is None:
                return -EFAULT
            k.sched.note(("inode", vma.file.inode.ino, "flags"), R)
            if longterm and vma_is_fsdax(vma) and (k.has(GUP_LONGTERM) or k.has(FOLL_LONGTERM)):
                if k.has(GUP_LONGTERM_CHECK_VMA_FLAGS):
                    k.trace(t, "check_vma_flags", vma, "FOLL_LONGTERM && vma_is_fsdax: -EOPNOTSUPP")
                    return -EOPNOTSUPP
                refuse_after = True
            for _attempt in range(4):
                note_lookup(k, mm, vaddr)
                pte = lookup_pte(mm, vaddr)
                if pte is not None and pte.write and not pte.special:
                    break
                ret = yield from handle_mm_fault(t, vma, vaddr, True)  # faultin_page
                if ret != VM_FAULT_NOPAGE:
                    return -EFAULT
            else:
                return -EFAULT
            pfn = pte.pfn
            if k.is_pmem_pfn(pfn):
                head = folio_head(k, t, vma.file.inode.mapping, pfn)
                if longterm and k.has(FSDAX_NOT_LONGTERM_PINNABLE):
                    return -EOPNOTSUPP
                # a large folio counts pins in _pincount and takes one reference per pin
                bias = 1 if head.order else pin.bias
                head.refcount += bias
                if not pin.foll_get:
                    head.pincount += 1
                pin.biases.append(bias)
                k.sched.note(("ref", head.pfn), C)
                k.trace(t, "try_grab_folio", head, refcount=head.refcount)
                pin.heads.append(head.pfn)
                pin.origin.append(block_origin(k, vma, vaddr, pfn))
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
            return -EOPNOTSUPP
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


@traced
def folio_put_refs(t: Task, pfn: int, refs: int) -> None:
    """``stable-bio-put-refs``: how 6.1.192's ``__bio_release_pages`` drops a bio's page
    references (block/bio.c:1124 ``folio_put_refs(fi.folio, nr_pages)``; the 6.1.y backport of
    38b43539d64b "block: Fix page refcounts for unaligned buffers in __bio_release_pages()",
    mainline v6.9-rc1, where the bio's pages are FOLL_PIN and go through unpin_user_folio).

    ``folio_put_refs`` (6.1.192 include/linux/mm.h:1199) is ``folio_ref_sub_and_test`` and
    ``__folio_put`` at zero: it never calls ``put_devmap_managed_page`` as ``put_page``
    (mm.h:1232) does, and ``__put_devmap_managed_page_refs`` (mm/memremap.c:545) is the only
    ``wake_up_var(&page->_refcount)`` of an fsdax page.  A 1-based fsdax page going from 2 to 1
    is idle and nobody is woken: a task in ``*_break_layouts`` waiting for it sleeps on.  Only a
    0-based page (``dax-refcount-0``) reaches ``__folio_put`` -> ``free_zone_device_folio``,
    which wakes."""
    k = t.k
    if not k.is_pmem_pfn(pfn):
        return
    page = k.pfn_to_page(t, pfn)  # a removed memmap oopses here
    page.refcount -= refs
    k.sched.note(("ref", pfn))  # folio_ref_sub_and_test
    if k.has(DAX_REFCOUNT_0) and page.refcount == 0:
        k.trace(t, "free_zone_device_folio", page)
        k.wake_up_var(t, page)


def put_pages(t: Task, pin: Pin) -> None:
    """Give back what ``pin`` took: ``unpin_user_page`` per page, or for a 6.1.y bio's FOLL_GET
    references ``folio_put_refs`` once per folio with its pages' count (``__bio_release_pages``
    walks the bio by folio, bio_for_each_folio_all)."""
    if not pin.foll_get:
        for pfn, bias in zip(pin.heads, pin.biases):
            unpin_user_page(t, pfn, bias)
        return
    i = 0
    while i < len(pin.heads):
        j = i + 1
        while j < len(pin.heads) and pin.heads[j] == pin.heads[i]:
            j += 1
        folio_put_refs(t, pin.heads[i], sum(pin.biases[i:j]))
        i = j


@kfunc
def gup_pin(t: Task, proc: Process, addr: int, length: int, longterm: bool) -> KGen:
    k = t.k
    first = addr - addr % PAGE_SIZE
    nr = (addr + max(length, 1) - first + PAGE_SIZE - 1) // PAGE_SIZE
    pin = Pin(f"pin{k.pin_seq + 1}", proc, first, longterm)
    if k.has(STABLE_BIO_PUT_REFS) and not longterm:  # an O_DIRECT bio is never FOLL_LONGTERM
        err = yield from iov_iter_get_pages2(t, proc, first, nr, pin)
    else:
        err = yield from pin_user_pages(t, proc, first, nr, longterm, pin)
    if err:
        put_pages(t, pin)
        return Ret(-err)
    k.sched.note(("pins",))
    k.pin_seq += 1
    pin.name = f"pin{k.pin_seq}"  # named when it exists: a failed pin uses up no name
    k.pins[pin.name] = pin
    owners = sorted({o[3] + f" index {o[2]}" for o in pin.origin if o}) if pin.origin else []
    return Ret(0, pin.name, [f"{pin.name}: {len(pin.pfns)} page(s) from pfn {pin.pfns[0]:#x}"
                             + (f" ({owners[0]}{' ...' if len(owners) > 1 else ''})" if owners else "")])


@kfunc
def device_dma(t: Task, pin: Pin) -> KGen:
    """The device completes a DMA write into every pinned page (its own data)."""
    k = t.k
    lines = []
    for pfn, origin in zip(pin.pfns, pin.origin):
        yield from ()
        if k.is_pmem_pfn(pfn):
            lines.append(stray_write(t, pfn, f"dma {pin.name}", origin))
    return Ret(0, None, lines)


@kfunc
def device_unpin(t: Task, pin: Pin, alloc: bool) -> KGen:
    k = t.k
    k.sched.note(("pin", pin.name))
    pin.releasing = t
    if alloc:
        yield from kmalloc(t, 256)
    put_pages(t, pin)
    k.sched.note(("pin", pin.name))
    k.sched.note(("pins",))
    pin.released = True
    k.pins.pop(pin.name, None)
    return Ret(0)
