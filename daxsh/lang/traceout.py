"""The model's trace as files other tools open.

``.json``: the Chrome/Perfetto trace-event format (JSON object form, ``traceEvents``) -- one
track per task (``pid`` 1, ``tid`` the task's pid, named by ``thread_name`` metadata), every
kernel function call a ``B``/``E`` slice (a call ends when its task next calls a function at
the same depth or shallower, or at the task's last event), each wake-up a flow arrow (``s`` on
the waker's track, ``f`` on the wakee's next slice), each kernel log line an instant event
(``i``) on the track of the task that printed it.  Timestamps are the model's time in
microseconds; the model's clock only moves on ``sleep``, so events of one model instant are
spread 1 ns apart in the order they happened (the format orders a track by time), and each
slice's ``args.model_ns`` keeps the model time itself.

``.txt``: the text ``trace-cmd report`` prints for the function tracer --
``comm-pid [cpu] secs.usecs: function: name(args)`` -- with the wake-ups as ``sched_wakeup``
events and kernel log lines as ``console`` events, in the order they happened, at the
model's own time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..kernel.machine import Kernel
    from ..kernel.trace import Console, TraceEvent, Wakeup

PID = 1  # the one process of the exported trace: the modelled machine


def _spread(times: list[int]) -> list[int]:
    """Model times made strictly increasing: equal ones 1 ns apart, in order."""
    out: list[int] = []
    last = -1
    for t in times:
        last = max(t, last + 1)
        out.append(last)
    return out


def _us(ns: int) -> float:
    return ns / 1000.0


def chrome_events(events: list[TraceEvent], wakeups: list[Wakeup],
                  consoles: list[Console]) -> list[dict[str, Any]]:
    """The trace-event list (see the module docstring)."""
    ts = _spread([e.time for e in events])
    out: list[dict[str, Any]] = [
        {"ph": "M", "pid": PID, "tid": 0, "name": "process_name", "args": {"name": "daxsh model"}}]
    names: dict[int, str] = {}
    for e in events:
        names.setdefault(e.tid, e.comm)
    for w in wakeups:
        names.setdefault(w.waker_tid, w.waker_comm)
        names.setdefault(w.wakee_tid, w.wakee_comm)
    for tid in sorted(names):
        out.append({"ph": "M", "pid": PID, "tid": tid, "name": "thread_name",
                    "args": {"name": f"{names[tid]}-{tid}"}})
    open_: dict[int, list[tuple[int, str]]] = {}  # tid -> stack of (depth, func)
    last_ts: dict[int, int] = {}
    by_seq: dict[int, int] = {}  # event seq -> index
    body: list[dict[str, Any]] = []
    for i, e in enumerate(events):
        by_seq[e.seq] = i
        stack = open_.setdefault(e.tid, [])
        while stack and stack[-1][0] >= e.depth:
            _d, f = stack.pop()
            body.append({"ph": "E", "pid": PID, "tid": e.tid, "ts": _us(ts[i]), "name": f})
        body.append({"ph": "B", "pid": PID, "tid": e.tid, "ts": _us(ts[i]), "name": e.func,
                     "cat": "kernel", "args": {"args": e.args, "model_ns": e.time}})
        stack.append((e.depth, e.func))
        last_ts[e.tid] = ts[i]
    # flows: from the waker's slice at the wake-up to the wakee's next slice
    flows: list[dict[str, Any]] = []
    for n, w in enumerate(wakeups, 1):
        at = by_seq.get(w.seq)
        nxt = next((j for j in range((at if at is not None else -1) + 1, len(events))
                    if events[j].tid == w.wakee_tid), None)
        if at is None or nxt is None or events[at].tid != w.waker_tid:
            continue  # the waker's event is no longer buffered, or the wakee never ran again
        flows.append({"ph": "s", "pid": PID, "tid": w.waker_tid, "ts": _us(ts[at]), "id": n,
                      "name": "wakeup", "cat": "sched",
                      "args": {"comm": w.wakee_comm, "pid": w.wakee_tid}})
        flows.append({"ph": "f", "bp": "e", "pid": PID, "tid": w.wakee_tid, "ts": _us(ts[nxt]),
                      "id": n, "name": "wakeup", "cat": "sched"})
    for tid, stack in open_.items():
        while stack:
            _d, f = stack.pop()
            body.append({"ph": "E", "pid": PID, "tid": tid, "ts": _us(last_ts[tid]), "name": f})
    # a log line: an instant on the track of the task that printed it, at the time of the last
    # event before it (its place in the trace)
    instants = []
    for c in consoles:
        at = by_seq.get(c.seq)
        instants.append({"ph": "i", "s": "t" if c.tid else "g", "pid": PID, "tid": c.tid,
                         "ts": _us(ts[at] if at is not None else c.time), "name": c.text,
                         "cat": "dmesg", "args": {"model_ns": c.time}})
    return out + body + flows + instants


def _stamp(ns: int) -> str:
    return f"{ns // 1_000_000_000:5d}.{(ns // 1000) % 1_000_000:06d}"


def report_lines(events: list[TraceEvent], wakeups: list[Wakeup],
                 consoles: list[Console]) -> list[str]:
    """``trace-cmd report`` text (see the module docstring)."""
    rows: list[tuple[int, int, int, str]] = []  # (time, seq, order, line)
    for e in events:
        who = f"{e.comm}-{e.tid}"
        rows.append((e.time, e.seq, 1, f"{who:>16} [000] {_stamp(e.time)}: function:"
                     f"             {'  ' * e.depth}{e.func}({e.args})"))
    for w in wakeups:
        who = f"{w.waker_comm}-{w.waker_tid}"
        rows.append((w.time, w.seq, 2, f"{who:>16} [000] {_stamp(w.time)}: sched_wakeup:"
                     f"         comm={w.wakee_comm} pid={w.wakee_tid} prio=120 target_cpu=000"))
    for c in consoles:
        who = f"{c.comm}-{c.tid}" if c.tid else "<idle>-0"
        rows.append((c.time, c.seq, 3, f"{who:>16} [000] {_stamp(c.time)}: console:"
                     f"              {c.text}"))
    rows.sort(key=lambda r: (r[1], r[2]))
    return ["cpus=1", *(r[3] for r in rows)]


def write_trace(k: Kernel, path: str | Path) -> int:
    """Write ``k``'s trace to ``path`` (.json or .txt); the number of kernel function events."""
    p = Path(path)
    evs = k.trace_buf.events
    if p.suffix == ".json":
        obj = {"traceEvents": chrome_events(evs, list(k.trace_buf.wakeups), list(k.trace_buf.consoles)),
               "displayTimeUnit": "ns", "otherData": {"kernel": k.config.spec, "source": "daxsh"}}
        p.write_text(json.dumps(obj, indent=0) + "\n", encoding="utf-8")
    elif p.suffix == ".txt":
        lines = report_lines(evs, list(k.trace_buf.wakeups), list(k.trace_buf.consoles))
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        raise ValueError(f"{p}: name a .json file (Chrome/Perfetto trace events) or a .txt file "
                         "(trace-cmd report text)")
    return len(evs)
