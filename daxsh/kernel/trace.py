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
    return str(v)


class TraceEvent:
    __slots__ = ("args", "comm", "depth", "func", "kw", "seq", "tid", "time")

    def __init__(self, seq: int, time: int, tid: int, comm: str, depth: int, func: str,
                 args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        self.seq = seq
        self.time = time
        self.tid = tid
        self.comm = comm
        self.depth = depth
        self.func = func
        # Arguments are formatted at once: model objects change, the trace must not.
        self.args = ", ".join([fmt_arg(a) for a in args] + [f"{k}={fmt_arg(v)}" for k, v in kw.items()])
        self.kw = None

    def format(self) -> str:
        who = f"{self.comm}-{self.tid}"
        return f"{who:>16} [000] {fmt_time(self.time)}: {'  ' * self.depth}{self.func}({self.args})"


class Trace:
    def __init__(self, maxlen: int = TRACE_BUFFER_EVENTS) -> None:
        self.events: deque[TraceEvent] = deque(maxlen=maxlen)
        self.seq = 0
        self.enabled = True

    def emit(self, time: int, tid: int, comm: str, depth: int, func: str,
             args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.seq += 1
        self.events.append(TraceEvent(self.seq, time, tid, comm, depth, func, args, kw))

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
