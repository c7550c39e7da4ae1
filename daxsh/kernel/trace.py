"""The trace buffer (ftrace-like, one event per modelled kernel function call) and dmesg."""

from __future__ import annotations

from collections import deque
from typing import Any

TRACE_BUFFER_EVENTS = 200_000


def fmt_time(ns: int) -> str:
    return f"{ns // 1_000_000_000:5d}.{(ns // 1000) % 1_000_000:06d}"


def fmt_arg(v: Any) -> str:
    tr = getattr(v, "tr", None)
    if tr is not None:
        return str(tr())
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return hex(v) if v >= 0x10000 else str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return "|".join(fmt_arg(x) for x in v)
    if callable(v):  # a wait callback: its kernel name, never an address
        name = getattr(v, "__name__", "")
        return getattr(v, "kname", "") or ("cb" if name == "<lambda>" else name)
    return type(v).__name__


class TraceEvent:
    """One call.  Arguments are kept as given and formatted when the event is shown: what
    kernel functions are passed are identities (an inode, a page, a lock, a DAX entry) whose
    ``tr()`` never changes, and plain values."""

    __slots__ = ("_args", "_kw", "_text", "comm", "depth", "func", "seq", "tid", "time")

    def __init__(self, seq: int, time: int, tid: int, comm: str, depth: int, func: str,
                 args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        self.seq = seq
        self.time = time
        self.tid = tid
        self.comm = comm
        self.depth = depth
        self.func = func
        self._args = args
        self._kw = kw
        self._text: str | None = None

    @property
    def args(self) -> str:
        """The arguments as the trace prints them: ``ino 131, index=0``."""
        if self._text is None:
            self._text = ", ".join([x for x in (fmt_arg(a) for a in self._args) if x] +
                                   [f"{k}={fmt_arg(v)}" for k, v in self._kw.items()])
        return self._text

    def format(self) -> str:
        who = f"{self.comm}-{self.tid}"
        return f"{who:>16} [000] {fmt_time(self.time)}: {'  ' * self.depth}{self.func}({self.args})"


class Trace:
    def __init__(self, maxlen: int = TRACE_BUFFER_EVENTS) -> None:
        self.events: deque[TraceEvent] = deque(maxlen=maxlen)
        self.seq = 0
        self.enabled = True

    def since(self, seq: int) -> list[TraceEvent]:
        if not self.events or self.events[-1].seq <= seq:
            return []
        out = []
        for ev in reversed(self.events):
            if ev.seq <= seq:
                break
            out.append(ev)
        out.reverse()
        return out

    def last(self, n: int) -> list[TraceEvent]:
        if n <= 0:
            return []
        return list(self.events)[-n:]


class Dmesg:
    """The kernel log: ``[    time] text`` lines, in the kernel's own wording."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []

    def printk(self, time: int, text: str) -> None:
        for line in text.split("\n"):
            self.lines.append((time, line))

    def format(self, start: int = 0) -> list[str]:
        return [f"[{fmt_time(t)}] {s}" for t, s in self.lines[start:]]
