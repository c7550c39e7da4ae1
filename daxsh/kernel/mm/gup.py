"""Models mm/gup.c: ``pin_user_pages`` (FOLL_PIN, FOLL_LONGTERM) and ``unpin_user_page``
(shared/KERNEL.md 1.7), and the device that holds a pin (``gup_pin``, ``device_dma``,
``device_unpin``: what an RDMA or VFIO driver does with the pages)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import (
    DAX_REFCOUNT_0,
    FOLL_LONGTERM,
    FOLL_PIN_COUNTING,
    FSDAX_NOT_LONGTERM_PINNABLE,
    GUP_LONGTERM,
    GUP_LONGTERM_CHECK_VMA_FLAGS,
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


@kfunc
def gup_pin(t: Task, proc: Process, addr: int, length: int, longterm: bool) -> KGen:
    k = t.k
    first = addr - addr % PAGE_SIZE
    nr = (addr + max(length, 1) - first + PAGE_SIZE - 1) // PAGE_SIZE
    pin = Pin(f"pin{k.pin_seq + 1}", proc, first, longterm)
    err = yield from pin_user_pages(t, proc, first, nr, longterm, pin)
    if err:
        for pfn, bias in zip(pin.heads, pin.biases):
            unpin_user_page(t, pfn, bias)
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
    for pfn, bias in zip(pin.heads, pin.biases):
        unpin_user_page(t, pfn, bias)
    k.sched.note(("pin", pin.name))
    k.sched.note(("pins",))
    pin.released = True
    k.pins.pop(pin.name, None)
    return Ret(0)
