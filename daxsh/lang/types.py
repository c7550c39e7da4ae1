"""Argument types of the daxsh language, each with its completion source."""

from __future__ import annotations

import math
import posixpath
from typing import TYPE_CHECKING, ClassVar

from ..kernel.config import BY_NAME, PRESETS
from ..kernel.fs.namespace import find_mount
from ..kernel.hint import Hint, HintKind
from ..kernel.sched import KFUNCS, TRACED
from .hints import with_hint
from .registry import ArgError, ArgType, Choice, Number, Text

if TYPE_CHECKING:
    from .session import Session


def list_dir(s: Session, path: str) -> list[str] | None:
    """Names in a directory of the model (read-only; no task runs)."""
    k = s.k
    mnt, comps = find_mount(k, path)
    if mnt is None:
        if path not in k.rootdirs:
            return None
        base = path.rstrip("/") + "/"
        names = {p[len(base):].split("/")[0] + "/" for p in k.rootdirs
                 if p.startswith(base) and p != path}
        return sorted(names)
    di = mnt.sb.disk.root
    for c in comps:
        ino = di.entries.get(c)
        if ino is None:
            return None
        di = mnt.sb.disk.inodes[ino]
        if not di.is_dir:
            return None
    return sorted(n + ("/" if mnt.sb.disk.inodes[i].is_dir else "") for n, i in di.entries.items())


def complete_path(s: Session, prefix: str, dirs_only: bool = False) -> list[str]:
    head, tail = posixpath.split(prefix)
    base = s.abspath(head or ".")
    names = list_dir(s, base) or []
    out = []
    for n in names:
        if n.startswith(tail) and (not dirs_only or n.endswith("/")):
            out.append(posixpath.join(head, n) if head else n)
    return out


class PathArg(ArgType):
    def __init__(self, metavar: str = "FILE", dirs_only: bool = False) -> None:
        self.metavar = metavar
        self.dirs_only = dirs_only

    def parse(self, s: Session, text: str) -> str:
        if not text:
            raise ArgError(f"empty {self.metavar}")
        return s.abspath(text)

    def complete(self, s: Session, prefix: str) -> list[str]:
        return complete_path(s, prefix, self.dirs_only)


class AddrArg(Number):
    """An address in the current process; completes the starts of its mappings."""

    def __init__(self) -> None:
        super().__init__("ADDR", what="address")

    def complete(self, s: Session, prefix: str) -> list[str]:
        p = s.proc
        if p is None:
            return []
        return [hex(v.start) for v in p.mm.vmas if hex(v.start).startswith(prefix)]


class SecondsArg(ArgType):
    metavar = "SECONDS"

    def parse(self, s: Session, text: str) -> int:
        try:
            v = float(text.rstrip("s"))
        except ValueError:
            raise ArgError(f"'{text}' is not a number of seconds (e.g. 1, 0.5, 120)") from None
        if not math.isfinite(v):
            raise ArgError(f"'{text}' is not a number of seconds (e.g. 1, 0.5, 120)")
        if v < 0 or v > 10 ** 7:
            raise ArgError("seconds must be between 0 and 10000000")
        return round(v * 1_000_000_000)


def _pins(s: Session) -> list[str]:
    return list(s.k.pins)


def _jobs(s: Session) -> list[str]:
    return [f"%{j}" for j in s.jobs]


def _procs(s: Session) -> list[str]:
    return sorted(s.k.processes)


class JobArg(ArgType):
    metavar = "%N"
    pure = False  # the session's jobs

    def parse(self, s: Session, text: str) -> str:
        t = text.lstrip("%")
        if not (t.isascii() and t.isdigit()):
            raise ArgError(f"'{text}' is not a job (write %1, %2 ...; `jobs` lists them)")
        if int(t) not in s.jobs and int(t) not in s.finished_jobs:
            raise ArgError(f"no job %{t} (`jobs` lists them)")
        return t

    def complete(self, s: Session, prefix: str) -> list[str]:
        return [j for j in _jobs(s) if j.startswith(prefix)]


class KernelWord(ArgType):
    metavar = "PRESET|+B|-B"
    accepts_dash = True

    def parse(self, s: Session, text: str) -> str:
        if text[:1] in "+-":
            if text[1:] not in BY_NAME:
                import difflib
                near = difflib.get_close_matches(text[1:], list(BY_NAME), n=1)
                hint = f"; did you mean {text[0]}{near[0]}?" if near else ""
                raise ArgError(with_hint(f"unknown behaviour '{text[1:]}'{hint}",
                                         Hint(HintKind.LIST_KERNELS)))
        elif text not in PRESETS:
            import difflib
            near = difflib.get_close_matches(text, PRESETS, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise ArgError(with_hint(f"unknown kernel preset '{text}'{hint}", Hint(HintKind.LIST_KERNELS)))
        return text

    def complete(self, s: Session, prefix: str) -> list[str]:
        if prefix[:1] in "+-":
            return [prefix[0] + n for n in BY_NAME if (prefix[0] + n).startswith(prefix)]
        return [p for p in PRESETS if p.startswith(prefix)]


class SignalArg(ArgType):
    metavar = "-SIG"
    accepts_dash = True

    def matches(self, text: str) -> bool:
        return text.startswith("-")
    NAMES: ClassVar[dict[str, str]] = {"9": "SIGKILL", "15": "SIGTERM", "2": "SIGINT", "7": "SIGBUS", "KILL": "SIGKILL",
             "TERM": "SIGTERM", "INT": "SIGINT", "BUS": "SIGBUS"}

    def parse(self, s: Session, text: str) -> str:
        name = text.lstrip("-").upper().removeprefix("SIG")
        if name not in self.NAMES:
            raise ArgError(f"unknown signal {text} (use -KILL, -TERM, -INT or -BUS)")
        return self.NAMES[name]

    def complete(self, s: Session, prefix: str) -> list[str]:
        return [x for x in ("-KILL", "-TERM", "-INT", "-BUS") if x.startswith(prefix.upper())]


SIZE = Number("SIZE", what="size", within_pmem=True)  # bytes that blocks or pages must hold
FSIZE = Number("SIZE", what="size")  # a file size (truncate: sparse, holds no blocks)
LEN = Number("LEN", minimum=1, what="length", within_pmem=True)
OFF = Number("OFF", what="offset")
PGOFF = Number("OFF", page_aligned=True, what="offset")
MAPLEN = Number("LEN", minimum=1, what="length", within_pmem=True)
PFN = Number("PFN", what="pfn")
COUNT = Number("K", minimum=1, what="count")
FILE = PathArg("FILE")
DIR = PathArg("DIR", dirs_only=True)
ADDR = AddrArg()
PIN = Choice("PIN", _pins, what="pin")
JOB = JobArg()
PROCNAME = Text("NAME", lambda s, p: [x for x in _procs(s) if x.startswith(p)])
FSTYPE = Choice("TYPE", ["xfs", "ext4", "ext2"], what="filesystem type")
BDEV = Choice("DEV", lambda s: ["/dev/pmem0"], what="block device")
PFNDEV = Choice("DEV", lambda s: [s.k.nvdimm.pfn.name], what="pfn device")
class KFuncChoice(Choice):
    """A kernel function: completes to the names of the kernel version chosen
    (kernel/names.py); also accepts the model's own name of each."""

    def complete(self, s: Session, prefix: str) -> list[str]:
        model = set(KFUNCS) | set(TRACED)
        names = sorted({s.k.kname(f) for f in model if f not in s.k.absent})
        return [c for c in names if c.startswith(prefix)]


KFUNC = KFuncChoice("FUNC", lambda s: sorted(set(KFUNCS) | set(TRACED) |
                                             {s.k.kname(f) for f in set(KFUNCS) | set(TRACED)}),
                    what="kernel function")
SHOW = Choice("WHAT", ["pages", "ptes", "waiters", "inodes", "blocks"], what="view")

__all__ = ["ADDR", "BDEV", "COUNT", "DIR", "FILE", "FSIZE", "FSTYPE", "JOB", "KFUNC", "LEN", "MAPLEN",
           "OFF", "PFN", "PFNDEV", "PGOFF", "PIN", "PROCNAME", "SHOW", "SIZE", "KernelWord",
           "SecondsArg", "SignalArg", "complete_path", "list_dir"]
