"""Models mm/madvise.c's MADV_HWPOISON: ``madvise_inject_error``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import EFAULT, EINVAL, Ret
from ..footprint import R
from ..sched import TaskExit, kfunc
from .fault import do_user_access
from .memory import lookup_pte, note_lookup
from .memory_failure import MF_COUNT_INCREASED, MF_SW_SIMULATED, memory_failure

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .mmap import Process


@kfunc
def madvise_inject_error(t: Task, proc: Process, addr: int) -> KGen:
    """``madvise(addr, PAGE_SIZE, MADV_HWPOISON)`` by ``proc`` (tl:mm/madvise.c@v6.1 lines
    1108-1151): ``get_user_pages_fast(start, 1, 0, &page)`` faults the page in (a read), then
    ``memory_failure(pfn, MF_COUNT_INCREASED | MF_SW_SIMULATED)``;
    ``memory_failure_dev_pagemap`` drops the GUP reference (v6.12 passes MF_ACTION_REQUIRED as
    well, tl:mm/madvise.c@v6.12 line 1174, which both fsdax paths add anyway) (tl:mm/memory-failure.c@v6.1 lines
    1962-1966) and hands the page to the holder.  With the rmap btree XFS calls
    ``mf_dax_kill_procs``, which adds MF_ACTION_REQUIRED | MF_MUST_KILL (line 1675):
    ``collect_procs_fsdax`` takes the current task (``task_early_kill(tsk, true)``) and others
    only with early kill (lines 588-609; vm.memory_failure_early_kill is 0 and no task here
    sets PF_MCE_EARLY), ``unmap_and_kill`` zaps every mapping of the page (the current task
    maps it) and ``kill_proc`` sends the current task BUS_MCEERR_AR (lines 270-297).  The
    memory stays good, so another mapper's next access faults the page in again and works
    (real 6.1 and 6.12, scenarios/real/memory-failure-sigbus.toml)."""
    k = t.k
    sig = yield from do_user_access(t, proc, addr, False)  # get_user_pages_fast -> the fault
    if sig is not None:
        return Ret(EFAULT)
    mm = proc.mm
    note_lookup(k, mm, addr)
    pte = lookup_pte(mm, addr)
    if pte is None:
        return Ret(EFAULT)
    pfn = pte.pfn
    if not k.is_pmem_pfn(pfn):
        return Ret(EINVAL, None, [f"{addr:#x} maps no pmem page (pfn {pfn:#x})"])
    k.printk(t, f"Injecting memory failure for pfn {pfn:#x} at process virtual address {addr:#x}")
    r = yield from memory_failure(t, pfn, MF_COUNT_INCREASED | MF_SW_SIMULATED)
    k.sched.note(("proc", proc.name), R)
    if proc.dying:  # the SIGBUS force_sig_mceerr queued is delivered on the way out
        raise TaskExit("SIGBUS")
    return r
