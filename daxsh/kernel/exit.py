"""Models kernel/exit.c: ``do_exit`` tears a process's memory and files down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errno import Ret
from .mm.mmap import exit_mmap
from .sched import kfunc

if TYPE_CHECKING:
    from .mm.mmap import Process
    from .sched import KGen, Task


@kfunc
def do_exit(t: Task, p: Process) -> KGen:
    k = t.k
    yield from exit_mmap(t, p)
    for f in list(p.files):  # exit_files: close every fd
        k.sched.note(("proc", p.name))
        p.files.remove(f)
        yield from k.fput(t, f)
    k.sched.note(("proc", p.name))
    k.sched.note(("procs",))
    p.alive = False
    k.processes.pop(p.name, None)
    k.dead[p.name] = p
    return Ret(0)
