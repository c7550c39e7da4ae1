"""Models mm/mmap.c: processes' address spaces (``MM``, ``VMA``, ``Process``), ``mmap``
(``ksys_mmap``, ``do_mmap``, ``vma_link``), ``munmap`` and ``exit_mmap``.

Addresses are deterministic: a process's first mapping starts at 0x7f0000000000 and each next one
at the lowest free address above it, aligned to 2 MiB when the mapping is 2 MiB or larger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import EINVAL, Ret
from ..footprint import R
from ..fs.file_table import File
from ..fs.namei import lookup_file
from ..locks import RwSem, down_write, up_write
from ..sched import kfunc, preempt
from .memory import zap_vma
from .types import PAGE_SIZE, PMD_SIZE

if TYPE_CHECKING:
    from typing import Any

    from ..sched import KGen, Task
    from .memory import PTE

MMAP_BASE = 0x7F00_0000_0000


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


# -- the syscalls ---------------------------------------------------------------------------------


@kfunc
def ksys_mmap(t: Task, proc: Process, path: str, length: int, off: int, private: bool,
              sync: bool) -> KGen:
    k = t.k
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    file = File(mnt, d)  # the lookup's references move to the file
    try:
        ret = yield from do_mmap(t, proc, file, length, off // PAGE_SIZE, not private, sync)
        if isinstance(ret, int) and ret < 0x10000:
            return Ret(ret)
        return Ret(0, ret)
    finally:
        yield from k.fput(t, file)  # close(fd): the VMA keeps its own reference


@kfunc
def ksys_munmap(t: Task, proc: Process, addr: int) -> KGen:
    t.k.sched.note(("vmas", proc.mm.name), R)
    vma = find_vma(proc.mm, addr)
    if vma is None or vma.start != addr:
        return Ret(EINVAL)
    yield from do_munmap(t, proc, vma)
    return Ret(0)
