"""Models arch/x86/mm/fault.c and the machine-check path: a user load or store
(``user_access``, ``do_user_access``) walks the page table, faults through
``handle_mm_fault`` when it must, and a store through a stale PTE or a load of bad media is
caught here (``user_touch``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import Ret
from ..footprint import R
from ..locks import down_read, up_read
from ..outcomes import stray_write
from ..sched import TaskExit, kfunc
from .memory import do_cow_fault, handle_mm_fault, lookup_pte, note_lookup
from .mmap import find_vma
from .types import PAGE_SIZE, VM_FAULT_HWPOISON, VM_FAULT_SIGBUS, Vmf

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .mmap import VMA, Process


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
            return user_touch(t, proc, vma, addr, pte.pfn, write)
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


def user_touch(t: Task, proc: Process, vma: VMA, addr: int, pfn: int,
               write: bool) -> tuple[str, str] | None:
    """A load/store through a present PTE; consuming bad media raises a machine check.

    What is bad is the memory (the pmem's badblocks), not PG_hwpoison: a page poisoned by
    an injection (madvise(MADV_HWPOISON), MF_SW_SIMULATED) is still good memory, and a
    mapper that faults it in again reads it (real 6.1 and 6.12)."""
    k = t.k
    if not k.is_pmem_pfn(pfn):
        return None
    k.sched.note(("nvdimm",), R)
    k.sched.note(("page", pfn), R)  # badblocks
    disk = k.nvdimm.disk
    if disk is not None and pfn in disk.badblocks:
        k.trace(t, "do_machine_check", f"pfn {pfn:#x}", addr=f"{addr:#x}")
        k.printk(t, f"Memory failure: {pfn:#x}: already hardware poisoned")
        k.printk(t, f"Memory failure: {pfn:#x}: Sending SIGBUS to {proc.name}:{proc.pid} "
                       "due to hardware memory corruption")
        return ("SIGBUS", "BUS_MCEERR_AR")
    if write:
        origin = (k.media_fs.uuid, vma.file.inode.ino, vma.pgoff_of(addr),
                  vma.file.inode.sb.mountpoint) if k.media_fs else None
        fs = k.media_fs
        if fs is not None:
            block = pfn - k.nvdimm.ns.data_pfn
            k.sched.note(("block", block))  # the store lands in it
            owner = fs.owner(block)
            if owner is not None and origin is not None and (owner[0], owner[1]) != origin[1:3]:
                path = k.ino_path(fs, vma.file.inode.ino)
                stray_write(t, pfn, f"a store by {proc.name} through a stale PTE",
                                 (fs.uuid, vma.file.inode.ino, vma.pgoff_of(addr), path))
            else:
                fs.foreign.pop(block, None)
    return None


@kfunc
def user_access(t: Task, proc: Process, addr: int, length: int, write: bool) -> KGen:
    k = t.k
    first = addr - addr % PAGE_SIZE
    n = 0
    for a in range(first, addr + max(length, 1), PAGE_SIZE):
        sig = yield from do_user_access(t, proc, a, write)
        if sig is not None:
            signame, code = sig
            k.trace(t, "force_sig_fault", signame, code, addr=f"{a:#x}")
            k.kill_process(proc, signame, code, f"at {a:#x}")
            raise TaskExit(signame)
        n += 1
    return Ret(0, None, [f"{'stored to' if write else 'loaded from'} {n} page{'s' if n != 1 else ''}"])
