"""Models mm/memory-failure.c: ``memory_failure`` on
fsdax pages, ``mf_dax_kill_procs``, ``collect_procs_fsdax`` and the ``MF_*`` flags
(shared/KERNEL.md 2.9, 2.10, 9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import DAX_HOLDER_NOTIFY_FAILURE, DAX_PAGE_MAPPING, MEMORY_FAILURE_DEV_PAGEMAP
from ..errno import EINVAL, EOPNOTSUPP, Ret
from ..footprint import R
from ..fs.dax import NORMAL, DaxEntry, get_unlocked_entry, lookup_entry, note_entry
from ..hint import Hint, HintKind
from ..sched import kfunc
from .memory import lookup_pte, note_lookup, unmap_mapping_range
from .types import PAGE_SIZE

if TYPE_CHECKING:
    from ..fs.inode import AddressSpace
    from ..sched import KGen, Task
    from .mmap import Process

# enum mf_flags (tl:include/linux/mm.h@v6.1 lines 3411-3419; MF_MEM_PRE_REMOVE = 1 << 7 after
# MF_NO_RETRY = 1 << 6 from fa422b353d21, v6.8)
MF_COUNT_INCREASED = 1 << 0
MF_ACTION_REQUIRED = 1 << 1
MF_MUST_KILL = 1 << 2
MF_SW_SIMULATED = 1 << 5
MF_MEM_PRE_REMOVE_FLAG = 1 << 7


# -- memory failure -------------------------------------------------------------------------------


def collect_procs_fsdax(t: Task, mapping: AddressSpace, pgoff: int, pre_remove: bool
                        ) -> list[tuple[Process, int, int]]:
    """Tasks mapping ``pgoff`` whose page is actually mapped: every one in pre-remove,
    else only the current task (``task_early_kill(tsk, force_early=1)``)."""
    out: list[tuple[Process, int, int]] = []
    cur = t.proc
    k = t.k
    k.sched.note(("i_mmap", mapping.host.ino), R)
    for vma in mapping.i_mmap:
        if not vma.pgoff <= pgoff < vma.pgoff + (vma.end - vma.start) // PAGE_SIZE:
            continue
        p = vma.mm.owner
        if p is not None:
            k.sched.note(("proc", p.name), R)
        if p is None or p.dying:
            continue
        addr = vma.addr_of(pgoff)
        note_lookup(k, vma.mm, addr)
        pte = lookup_pte(vma.mm, addr)
        if pte is None:
            continue  # size_shift 0: not mapped, skipped
        if not pre_remove and p is not cur:
            continue
        shift = 21 if pte.pmd else 12
        if all(x[0] is not p for x in out):
            out.append((p, addr, shift))
    return out


@kfunc
def mf_dax_kill_procs(t: Task, mapping: AddressSpace, index: int, count: int, mf_flags: int) -> KGen:
    """Since it came (v6.0, "mm: introduce mf_dax_kill_procs() for fsdax case") it adds
    MF_ACTION_REQUIRED | MF_MUST_KILL to the caller's flags (tl:mm/memory-failure.c@v6.1 line
    1675, v6.12 line 1847): the current task, if it maps the page, gets BUS_MCEERR_AR."""
    k = t.k
    pre_remove = bool(mf_flags & MF_MEM_PRE_REMOVE_FLAG)
    mf_flags |= MF_ACTION_REQUIRED | MF_MUST_KILL
    for pg in range(index, index + count):
        note_entry(k, mapping, pg)
        found = lookup_entry(mapping, pg)
        if found is None or not isinstance(found[1], DaxEntry) or found[1].kind != NORMAL:
            continue
        base, e = found
        got = yield from get_unlocked_entry(t, mapping, pg)  # dax_lock_mapping_entry
        if got is None:
            continue
        pfn = e.pfn + (pg - base)
        if not pre_remove:
            page = k.pfn_to_page(t, pfn)
            k.sched.note(("page", pfn))
            page.hwpoison = True
            k.trace(t, "SetPageHWPoison", page)
        to_kill = collect_procs_fsdax(t, mapping, pg, pre_remove)
        unmap_and_kill(t, to_kill, pfn, mapping, pg, mf_flags)


def unmap_and_kill(t: Task, to_kill: list[tuple[Process, int, int]], pfn: int,
                   mapping: AddressSpace, index: int, flags: int) -> None:
    k = t.k
    size = max((1 << s for _p, _a, s in to_kill), default=0)
    if size:
        pages = size // PAGE_SIZE
        start = index - index % pages
        unmap_mapping_range(t, mapping, start, pages, False)
    for p, addr, shift in to_kill:
        ar = bool(flags & MF_ACTION_REQUIRED) and p is t.proc
        code = "BUS_MCEERR_AR" if ar else "BUS_MCEERR_AO"
        k.printk(t, f"Memory failure: {pfn:#x}: Sending SIGBUS to {p.name}:{p.pid} due to "
                    "hardware memory corruption")
        k.trace(t, "force_sig_mceerr" if ar else "send_sig_mceerr", p, code,
                addr=f"{addr:#x}", si_addr_lsb=shift)
        k.kill_process(p, "SIGBUS", code, f"(memory failure at pfn {pfn:#x})")


@kfunc
def memory_failure(t: Task, pfn: int, flags: int) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",), R)
    if not k.is_pmem_pfn(pfn) or nv.pgmap is None:
        k.printk(t, f"Memory failure: {pfn:#x}: memory outside the pmem data area")
        return Ret(EINVAL, None, [f"pfn {pfn:#x} is not in pfn0.1's data area"],
                   hint=Hint(HintKind.SHOW_BLOCKS))
    if not k.has(MEMORY_FAILURE_DEV_PAGEMAP):
        k.printk(t, f"Memory failure: {pfn:#x}: unhandlable page.")
        return Ret(0, None, ["this kernel has no memory_failure() support for fsdax pages"])
    disk = nv.disk
    if disk is not None and not flags & MF_SW_SIMULATED:
        # a hardware error: the media is bad, and the nfit driver's machine-check notifier
        # (nfit_handle_mce) records it in the pmem's badblocks.  An injected one
        # (MF_SW_SIMULATED) leaves the memory good: pmem_pagemap_memory_failure marks nothing
        # (tl:drivers/nvdimm/pmem.c@v6.1 lines 456-465)
        k.sched.note(("page", pfn))  # badblocks
        disk.badblocks[pfn] = True
    rc = -EOPNOTSUPP
    if k.has(DAX_HOLDER_NOTIFY_FAILURE) and nv.dax is not None and nv.dax.holder is not None:
        pgmap = nv.pgmap
        assert pgmap is not None and pgmap.ops is not None
        rc = yield from pgmap.ops.memory_failure(t, pgmap, pfn, 1, flags)
    if rc == -EOPNOTSUPP:
        yield from mf_generic_kill_procs(t, pfn, flags)
    k.printk(t, f"Memory failure: {pfn:#x}: recovery action for dax page: Recovered")
    return Ret(0)


@kfunc
def mf_generic_kill_procs(t: Task, pfn: int, flags: int) -> KGen:
    k = t.k
    page = k.pfn_to_page(t, pfn)
    k.sched.note(("page", pfn))
    mapping = page.mapping if k.has(DAX_PAGE_MAPPING) else None
    if mapping is None:
        page.hwpoison = True
        return
    yield from ()
    page.hwpoison = True
    k.trace(t, "SetPageHWPoison", page)
    flags |= MF_ACTION_REQUIRED | MF_MUST_KILL
    to_kill = collect_procs_fsdax(t, mapping, page.index, False)  # type: ignore[arg-type]
    unmap_and_kill(t, to_kill, pfn, mapping, page.index, flags)  # type: ignore[arg-type]
