"""The trace buffer (ftrace-like, one event per modelled kernel function call) and dmesg."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any, NamedTuple

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


class Wakeup(NamedTuple):
    """``sched_wakeup``: ``waker`` made ``wakee`` runnable after event ``seq`` (for the flow
    arrows of an exported trace; the text trace does not show them)."""

    seq: int
    time: int
    waker_tid: int
    waker_comm: str
    wakee_tid: int
    wakee_comm: str


class Console(NamedTuple):
    """A kernel log line as the trace saw it (``printk``'s console tracepoint): printed by
    ``tid`` (0: no task) after event ``seq``."""

    seq: int
    time: int
    tid: int
    comm: str
    text: str


class TraceEvent:
    """One call.  Arguments are kept as given and formatted when the event is shown: what
    kernel functions are passed are identities (an inode, a page, a lock, a DAX entry) whose
    ``tr()`` never changes, and plain values."""

    __slots__ = ("_args", "_kw", "_render", "_text", "comm", "depth", "func", "name", "seq", "tid",
                 "time")

    def __init__(self, seq: int, time: int, tid: int, comm: str, depth: int, func: str,
                 args: tuple[Any, ...], kw: dict[str, Any] | None,
                 render: Callable[[str], str] | None = None, name: str = "") -> None:
        self.seq = seq
        self.time = time
        self.tid = tid
        self.comm = comm
        self.depth = depth
        self.func = func  # the model's name (what code and breakpoints look for)
        self.name = name or func  # the name the version modelled gives it (what is shown)
        self._args = args
        self._kw = kw or {}
        self._text: str | None = None
        self._render = render

    @property
    def args(self) -> str:
        """The arguments as the trace prints them: ``ino 131, index=0``."""
        if self._text is None:
            text = ", ".join([x for x in (fmt_arg(a) for a in self._args) if x] +
                             [f"{k}={fmt_arg(v)}" for k, v in self._kw.items()])
            self._text = self._render(text) if self._render is not None else text
        return self._text

    def format(self) -> str:
        who = f"{self.comm}-{self.tid}"
        return f"{who:>16} [000] {fmt_time(self.time)}: {'  ' * self.depth}{self.name}({self.args})"


class Trace:
    """The ring buffer.

    Events are not stored as objects.  A command calls about twenty kernel functions, most
    events are never looked at, and each object (or tuple holding an inode, a lock, a page)
    would be a container the garbage collector has to walk for as long as it is buffered --
    that walking alone once cost a third of a command's time.  So every event is a run of
    slots in one flat list -- seq, time, tid, comm, depth, func, kw, nargs, then the arguments
    -- with the slot where each event starts kept in an ``array``; a :class:`TraceEvent` is
    built only when an event is read.  Event ``seq`` numbers are consecutive, so an event is
    found by arithmetic.  The buffer keeps the newest ``maxlen`` events at least (up to twice
    that before it drops the older half at once)."""

    def __init__(self, maxlen: int = TRACE_BUFFER_EVENTS) -> None:
        self.maxlen = maxlen
        self.slots: list[Any] = []
        self.starts = array("q")
        self.limit = 8 * maxlen  # slots; past it, trim() looks at the event count
        self.seq = 0
        self.enabled = True
        # the version's names (kernel/names.py): events are recorded by the model's names and
        # shown by the version's
        self.names: dict[str, str] = {}
        self.render: Callable[[str], str] | None = None
        # plain lists (the explorer's in-place snapshot restores lists), trimmed with the events
        self.wakeups: list[Wakeup] = []
        self.consoles: list[Console] = []

    def wakeup(self, time: int, waker: Any, wakee: Any) -> None:
        """Record that task ``waker`` (None: an interrupt or timer) woke task ``wakee``."""
        self.wakeups.append(Wakeup(self.seq, time, waker.tid if waker is not None else 0,
                                   waker.comm if waker is not None else "swapper",
                                   wakee.tid, wakee.comm))

    def add(self, time: int, tid: int, comm: str, depth: int, func: str,
            args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        """Record one call (the caller has checked ``enabled``).  The kfunc wrapper in
        sched.py inlines this body: keep the two alike."""
        self.seq = seq = self.seq + 1
        slots = self.slots
        self.starts.append(len(slots))
        slots += (seq, time, tid, comm, depth, func, kw or None, len(args), *args)
        if len(slots) > self.limit:
            self.trim()

    def trim(self) -> None:
        """The slots passed ``limit``: once there are twice ``maxlen`` events (or the slots are
        very wide), drop all but the newest ``maxlen``; otherwise move the limit on."""
        n = len(self.starts)
        if n < 2 * self.maxlen and len(self.slots) <= 32 * self.maxlen:
            self.limit = len(self.slots) + 8 * self.maxlen
            return
        drop = n - self.maxlen
        cut = self.starts[drop]
        first = self.slots[cut]  # the seq of the oldest event kept
        del self.slots[:cut]
        self.starts = array("q", [x - cut for x in self.starts[drop:]])
        self.limit = len(self.slots) + 8 * self.maxlen
        self.wakeups = [w for w in self.wakeups if w.seq >= first]
        self.consoles = [c for c in self.consoles if c.seq >= first]

    def _event(self, i: int) -> TraceEvent:
        s = self.slots
        j = self.starts[i]
        func = s[j + 5]
        return TraceEvent(s[j], s[j + 1], s[j + 2], s[j + 3], s[j + 4], func,
                          tuple(s[j + 8:j + 8 + s[j + 7]]), s[j + 6],
                          self.render if self.names else None, self.names.get(func, func))

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def events(self) -> list[TraceEvent]:
        """Every buffered event, oldest first (a new list each time)."""
        return [self._event(i) for i in range(len(self.starts))]

    def console(self, time: int, t: Any, text: str) -> None:
        """Record a kernel log line printed by task ``t`` (or by no task)."""
        tid, comm = getattr(t, "tid", 0), getattr(t, "comm", "swapper")
        for line in text.split("\n"):
            self.consoles.append(Console(self.seq, time, tid, comm, line))

    def clear(self) -> None:
        self.consoles.clear()
        self.wakeups.clear()
        self.slots.clear()
        self.starts = array("q")
        self.limit = 8 * self.maxlen

    def since(self, seq: int) -> list[TraceEvent]:
        """The events after event ``seq``."""
        n = len(self.starts)
        first = max(0, n - (self.seq - seq))
        return [self._event(i) for i in range(first, n)]

    def last(self, n: int) -> list[TraceEvent]:
        if n <= 0:
            return []
        total = len(self.starts)
        return [self._event(i) for i in range(max(0, total - n), total)]


class Dmesg:
    """The kernel log: ``[    time] text`` lines, in the kernel's own wording."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        # lines computed when the log is read (lockdep's report: lockdep.py), merged by time
        self.late: Callable[[], list[tuple[int, str]]] | None = None

    def printk(self, time: int, text: str) -> None:
        for line in text.split("\n"):
            self.lines.append((time, line))

    def all_lines(self) -> list[tuple[int, str]]:
        late = self.late() if self.late is not None else []
        if not late:
            return self.lines
        out = list(self.lines)
        at = max(0, max((i + 1 for i, (t, _s) in enumerate(out) if t <= late[0][0]), default=0))
        return out[:at] + late + out[at:]

    def format(self, start: int = 0) -> list[str]:
        return [f"[{fmt_time(t)}] {s}" for t, s in self.all_lines()[start:]]
