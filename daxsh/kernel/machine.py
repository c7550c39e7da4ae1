"""The machine: one kernel configuration, one nvdimm, processes, tasks, the clock, trace and
dmesg (daxsh's own; the kernel parts it stands for are init/main.c's boot lines, kernel/panic.c's
WARN and oops, kernel/printk and kernel/fork.c's pids).  The detectors that turn what happens
into outcomes are in ``outcomes`` and ``hung_task``.

Nothing here does I/O, reads a clock or uses global randomness: the same calls give the same
trace and dmesg, byte for byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import DAX_REFCOUNT_0, KernelConfig
from .drivers.nvdimm import Nvdimm
from .exit import do_exit
from .footprint import CRASH, C, R
from .fs.dcache import dput
from .hung_task import check_hung, next_hung_check
from .lockdep import Lockdep
from .locks import release_all
from .messages import call_trace, die_header, dump_stack_header, page_fault_oops, warn_site
from .mm.mmap import Process
from .mm.types import STRUCT_PAGE_SIZE, VMEMMAP_START
from .names import absent, kname, names_map, render
from .sched import Oops, Scheduler, Task, WaitQueue
from .trace import Dmesg, Trace

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .fs.disk import DiskFs
    from .fs.file_table import File
    from .fs.namespace import Mount
    from .fs.super import SuperBlock
    from .mm.gup import Pin
    from .mm.types import Page
    from .sched import KGen

NS = 1_000_000_000
DRAM_FIRST_PFN = 0x10000
DEFAULT_PMEM = 1 << 30


class Clock:
    """Model time in nanoseconds; only ``sleep`` (and what waits for time) advances it."""

    def __init__(self) -> None:
        self.now = 0


class PcFolio:
    """A page-cache folio in DRAM (non-DAX files)."""

    __slots__ = ("pfn",)

    def __init__(self, pfn: int) -> None:
        self.pfn = pfn


class Event:
    """Something a detector saw: corruption, oops, warn, kill, hung, deadlock."""

    __slots__ = ("kind", "text", "time")

    def __init__(self, kind: str, text: str, time: int) -> None:
        self.kind = kind
        self.text = text
        self.time = time


class Kernel:
    def __init__(self, config: KernelConfig | None = None, pmem_size: int = DEFAULT_PMEM,
                 seed: int = 0) -> None:
        self.config = config or KernelConfig.parse("")
        self.behaviours = self.config.behaviours
        self.seed = seed
        self.pmem_size = pmem_size
        self.clock = Clock()
        self.trace_buf = Trace()
        # the names this version gives the model's functions and locks (kernel/names.py)
        self.trace_buf.names = names_map(self.config.base, self.behaviours)
        self.trace_buf.render = self.render
        # model functions this version has no function for: run, but not traced nor stacked
        self.absent = absent(self.config.base, self.behaviours)
        self.dmesg = Dmesg()
        self.lockdep = Lockdep()
        self.dmesg.late = self._lockdep_lines
        self.sched = Scheduler(self)
        self.breakpoints: set[str] = set()
        self.crashed = ""
        self.events: list[Event] = []
        self.nvdimm = Nvdimm(pmem_size, 0 if self.has(DAX_REFCOUNT_0) else 1)
        self.media_fs: DiskFs | None = None  # what mkfs wrote on namespace0.0
        self.fs_uuid = 0
        self.mounts: dict[str, Mount] = {}
        self.rootdirs: set[str] = {"/", "/mnt", "/tmp"}
        self.dying_sbs: list[SuperBlock] = []
        self.processes: dict[str, Process] = {}
        self.dead: dict[str, Process] = {}
        self.pins: dict[str, Pin] = {}
        self.pin_seq = 0
        self.next_pid = 100
        self.next_dram_pfn = DRAM_FIRST_PFN
        self.var_waitqueues: dict[int, WaitQueue] = {}
        self.memory_low = False
        self.warned_once: set[str] = set()
        self.freed_busy: dict[int, str] = {}  # pfn -> who freed its block while it was busy
        # the explorer gives each thread its own pids (so that two threads starting tasks in
        # either order give the same state): a function returning the next pid, or None
        self.pid_alloc: Callable[[], int] | None = None
        self.printk(0, f"Linux version {self.config.base[1:]} (daxsh model) "
                       f"behaviours: {' '.join(sorted(self.behaviours)) or '(none)'}")
        self.printk(0, f"nd_pmem namespace0.0: pfn0.1: {self.nvdimm.ns.size >> 20} MiB fsdax, "
                       f"memmap on pmem (dataoff {self.nvdimm.ns.dataoff:#x})")
        self.printk(0, f"pmem0: detected capacity change from 0 to {self.nvdimm.ns.npfns * 8}")

    # -- configuration ------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.behaviours

    # -- names --------------------------------------------------------------------------------
    def kname(self, name: str) -> str:
        """The name this kernel's version gives what the model calls ``name``."""
        return kname(name, self.config.base, self.behaviours)

    def render(self, text: str) -> str:
        """``text`` in this version's names (every printed line goes through here)."""
        return render(text, self.config.base, self.behaviours)

    # -- logging ------------------------------------------------------------------------------
    def trace(self, t: Task | None, func: str, *args: Any, **kw: Any) -> None:
        tb = self.trace_buf
        if not tb.enabled or func in self.absent:
            return
        if t is None:
            tb.add(self.clock.now, 0, "swapper", 0, func, args, kw)
        else:
            tb.add(self.clock.now, t.tid, t.comm, len(t.stack), func, args, kw)

    def _lockdep_lines(self) -> list[tuple[int, str]]:
        rep = self.lockdep.report(self)
        if rep is None:
            return []
        time, lines = rep
        return [(time, x) for x in lines]

    def printk(self, t: Any, text: str) -> None:
        self.sched.note(("dmesg",), C)
        text = self.render(text)
        self.dmesg.printk(self.clock.now, text)
        if self.trace_buf.enabled:  # where in the trace it was printed, and by whom
            self.trace_buf.console(self.clock.now, t, text)

    def event(self, kind: str, text: str) -> None:
        self.sched.note(("events",), C)
        self.events.append(Event(kind, text, self.clock.now))

    def call_trace(self, t: Task) -> list[str]:
        return call_trace(self.config.base, list(reversed(t.stack)))

    def warn(self, t: Task, file: str, func: str, cond: str, once: bool = True,
             message: bool = False) -> None:
        """WARN_ON_ONCE(cond) in ``func`` of ``file``; ``message``: a WARN(cond, fmt, ...)
        whose formatted text (``cond`` here) the kernel prints after the WARNING line."""
        key = f"{file}:{func}:{cond}"
        self.sched.note(("warn", key))
        if once and key in self.warned_once:
            return
        self.warned_once.add(key)
        self.trace(t, "WARN", func, cond)
        # kernel/panic.c __warn: the WARNING line, print_modules(), dump_stack(); a
        # WARN_ON_ONCE prints no condition (it is in the trace event and the notice)
        lines = ["------------[ cut here ]------------",
                 f"WARNING: CPU: 0 PID: {t.tid} at {warn_site(self.config.base, file, func)}",
                 *([cond] if message else []),
                 "Modules linked in:",
                 dump_stack_header(self.config.base, t.tid, t.comm)]
        lines += self.call_trace(t)
        lines.append("---[ end trace 0000000000000000 ]---")
        self.printk(t, "\n".join(lines))
        self.event("warn", f"WARNING at {file} {func}: {cond}")

    def make_oops(self, t: Task, headline: str, detail: tuple[str, ...] = (),
                  error_code: int = 0, die: str = "Oops", rip: str = "") -> Oops:
        """The crash of ``t`` here: ``headline`` and ``detail`` are what the fault handler
        printed, ``die``/``error_code`` what die() prints after them (messages.die_header);
        ``rip`` names the faulting function when it is deeper than the model's stack."""
        oops = Oops(headline, detail)
        oops.stack = [*t.stack, *([rip] if rip else [])]  # type: ignore[attr-defined]
        oops.die = die_header(self.config.base, error_code, die)  # type: ignore[attr-defined]
        return oops

    def oops(self, t: Task, oops: Oops) -> None:
        stack = getattr(oops, "stack", t.stack)
        lines = [oops.headline, *oops.detail,
                 getattr(oops, "die", None) or die_header(self.config.base, 0),
                 dump_stack_header(self.config.base, t.tid, t.comm),
                 f"RIP: 0010:{stack[-1] if stack else '?'}+0x0/0x0"]
        lines += call_trace(self.config.base, list(reversed(stack[:-1])))
        self.printk(t, "\n".join(lines))
        self.sched.note(CRASH)
        self.crashed = f"{oops.headline} in {stack[-1] if stack else '?'} ({t.comm}:{t.tid})"
        self.event("oops", self.crashed)

    # -- struct page --------------------------------------------------------------------------
    def is_pmem_pfn(self, pfn: int) -> bool:
        ns = self.nvdimm.ns
        return ns.data_pfn <= pfn < ns.data_pfn + ns.npfns

    def pfn_to_page(self, t: Task, pfn: int) -> Page:
        self.sched.note(("nvdimm",), R)
        pg = self.nvdimm.pgmap
        if pg is None or not pg.present:
            addr = VMEMMAP_START + pfn * STRUCT_PAGE_SIZE
            headline, pf = page_fault_oops(self.config.base, addr, write=False, present=False)
            raise self.make_oops(t, headline, (*pf, f"(daxsh: the struct page of pfn {pfn:#x}; "
                                               "the memmap was removed with pfn0.1)"))
        return pg.page(pfn)

    def var_wq(self, pfn: int) -> WaitQueue:
        wq = self.var_waitqueues.get(pfn)
        if wq is None:
            wq = self.var_waitqueues[pfn] = WaitQueue(f"var page {pfn:#x}")
        return wq

    def wake_up_var(self, t: Task, page: Page) -> None:
        self.trace(t, "wake_up_var", page)
        self.var_wq(page.pfn).wake_up(self)

    # -- memory -------------------------------------------------------------------------------
    def alloc_dram_page(self) -> int:
        self.sched.note(("memory",))
        pfn = self.next_dram_pfn
        self.next_dram_pfn += 1
        return pfn

    def pagecache_get(self, t: Task, mapping: Any, index: int) -> int:
        ino = mapping.host.ino
        f = mapping.i_pages.get(index)
        if not isinstance(f, PcFolio):
            self.sched.note(("entry", ino, index))
            self.sched.note(("i_pages", ino), C)
            f = PcFolio(self.alloc_dram_page())
            mapping.i_pages[index] = f
        else:
            self.sched.note(("entry", ino, index), R)
            self.trace(t, "filemap_add_folio", mapping, index=index, pfn=f.pfn)
        return f.pfn

    def pagecache_delete(self, t: Task, mapping: Any, index: int, folio: Any) -> None:
        self.trace(t, "filemap_remove_folio", mapping, index=index)
        self.sched.note(("entry", mapping.host.ino, index))
        self.sched.note(("i_pages", mapping.host.ino), C)
        mapping.i_pages.pop(index, None)

    # -- the media and the corruption detector -------------------------------------------------

    def ino_path(self, fs: DiskFs, ino: int) -> str:
        """The path of ``ino`` (reads the mount table and the directories on the way)."""
        sched = self.sched
        if sched.footprint is not None:
            sched.note(("mounts",), R)
            di = fs.inodes.get(ino)
            while di is not None and di.ino != fs.root.ino:
                sched.note(("inode", di.parent, "dir"), R)
                di = fs.inodes.get(di.parent)
        mp = next((m.path for m in self.mounts.values() if m.sb.disk is fs), "")
        return (mp.rstrip("/") + fs.path_of(ino)) if mp else f"{fs.path_of(ino)} (ino {ino})"

    # -- files --------------------------------------------------------------------------------
    def fput(self, t: Task, file: File) -> KGen:
        file.f_count -= 1
        if file.f_count == 0:
            self.trace(t, "__fput", file.inode)
            self.sched.note(("mnt", file.mnt.path), C)
            file.mnt.mnt_count -= 1
            yield from dput(t, file.dentry)

    # -- tasks and processes --------------------------------------------------------------------
    def alloc_pid(self) -> int:
        if self.pid_alloc is not None:
            return self.pid_alloc()
        pid = self.next_pid
        self.next_pid += 1
        return pid

    def new_process(self, name: str) -> Process:
        self.sched.note(("procs",))
        self.sched.note(("proc", name))
        p = Process(name, self.alloc_pid())
        self.processes[name] = p
        self.dead.pop(name, None)
        return p

    def spawn(self, comm: str, proc: Process | None, gen_fn: Callable[[Task], KGen],
              cmdline: str, stopped: bool = False) -> Task:
        t = Task(self, self.alloc_pid(), comm[:15], proc, cmdline)
        self.sched.add(t, gen_fn(t), stopped=stopped)
        return t

    def run(self, first: Task | None = None) -> None:
        self.sched.run(first)

    def task_exit(self, t: Task) -> None:
        """Called by the scheduler when a task ends: finish a dying process."""
        if t.held and not self.crashed:
            release_all(t)
        self.lockdep.task_exit(t)
        p = t.proc
        if p is None:
            return
        sched = self.sched
        sched.note(("proc", p.name), R)
        if p.dying and p.exit_task is None:
            sched.note(("proc", p.name, "tasks"), R)
            if not any(x.proc is p for x in sched.tasks):
                sched.note(("proc", p.name))
                self.start_exit(p)

    def start_exit(self, p: Process) -> None:
        p.exit_task = self.spawn(p.name, p, lambda t: do_exit(t, p), f"exit {p.name}")

    def kill_process(self, p: Process, sig: str, code: str = "", why: str = "") -> None:
        sched = self.sched
        sched.note(("proc", p.name))
        if p.dying:
            return
        sched.note(("proc", p.name, "tasks"), R)
        p.dying = True
        p.exit_reason = sig + (f" ({code})" if code else "")
        if sig not in ("exit",):
            self.event("killed", f"{p.name}:{p.pid} killed by {p.exit_reason}{' ' + why if why else ''}")
        for x in self.sched.tasks:
            if x.proc is p and x is not p.exit_task:
                sched.note(("task", x.tid))
                x.sigpending.append("SIGKILL")
                if x.state == "S":
                    self.sched.wake(x)
        if not any(x.proc is p for x in self.sched.tasks):
            self.start_exit(p)

    # -- time ---------------------------------------------------------------------------------
    def advance(self, ns: int) -> None:
        """Let model time pass: fire timers, run what they wake, report hung tasks."""
        target = self.clock.now + ns
        while not self.crashed:
            nxt = self.sched.next_timer()
            hung = next_hung_check(self)
            cands = [x for x in (nxt, hung) if x is not None and x <= target]
            if not cands:
                break
            when = min(cands)
            self.clock.now = max(self.clock.now, when)
            self.sched.fire_timers(self.clock.now)
            check_hung(self)
            self.run()
        if not self.crashed:
            self.clock.now = target
            check_hung(self)
