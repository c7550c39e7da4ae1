"""A canonical form of a whole machine's state, to compare two states for equality.

Used by the soundness test of the footprints: two steps the footprints call independent, run
in either order from the same state, must leave states whose canonical forms are equal.

The form is the object graph reachable from the session, walked in a fixed order: an object is
written in full the first time it is met and as ``@N`` after; dicts and sets in the order of
their keys; the lists that are sets in the model (a run queue, an rwsem's readers, the tasks)
sorted by task id; the logs (dmesg lines, detector events) as multisets.  What is not state is
left out: generators (a task's position is its call stack and preemption point), the trace
buffer (the explorer runs with it off), a task's result and note (a command's output, not
state: ``stat`` prints debugging fields it reads without ordering), the session's per-thread
fields (the runner sets them before each line), and the scheduler's scratch fields.
"""

from __future__ import annotations

import types
from typing import Any

from daxsh.kernel.footprint import Footprint

UNORDERED = {  # (class, attribute) whose list is a set; sorted by task id or by value
    ("Scheduler", "runq"), ("Scheduler", "tasks"), ("Scheduler", "finished"),
    ("RwSem", "readers"), ("Scheduler", "events"),
}
MULTISETS = {("Kernel", "events"), ("Dmesg", "lines")}
SKIP = {
    ("Task", "gen"), ("Task", "point"), ("Task", "result"), ("Task", "note"),
    ("Scheduler", "current"), ("Scheduler", "footprint"),
    ("Kernel", "trace_buf"), ("Kernel", "pid_alloc"), ("Session", "thread"), ("Session", "last"),
    ("Session", "proc_name"), ("Kernel", "sched_events"),
}


def _slots(cls: type) -> list[str]:
    out: list[str] = []
    for c in cls.__mro__:
        for n in c.__dict__.get("__slots__", ()):
            if n not in ("__dict__", "__weakref__") and n not in out:
                out.append(n)
    return out


def _tid(o: Any) -> Any:
    if type(o).__name__ == "Task":
        return (0, o.tid)
    if isinstance(o, tuple) and o and type(o[0]).__name__ == "Task":
        return (0, o[0].tid, repr(o[1:]))
    return (1, repr(o))


def canon(root: Any) -> list[Any]:
    out: list[Any] = []
    labels: dict[int, int] = {}

    def walk(o: Any, owner: str = "", attr: str = "") -> None:
        if o is None or isinstance(o, (str, int, float, bool, bytes)):
            out.append(repr(o))
            return
        if isinstance(o, (types.FunctionType, types.BuiltinFunctionType, type,
                          types.ModuleType)):
            out.append(f"<{getattr(o, '__qualname__', type(o).__name__)}>")
            return
        if isinstance(o, types.MethodType):
            out.append(f"<method {o.__func__.__qualname__}>")
            walk(o.__self__)
            return
        if isinstance(o, types.GeneratorType):
            out.append("<generator>")
            return
        if isinstance(o, Footprint):
            out.append(repr(o))
            return
        n = labels.get(id(o))
        if n is not None:
            out.append(f"@{n}")
            return
        if not isinstance(o, tuple):
            labels[id(o)] = len(labels)
        key = (owner, attr)
        if isinstance(o, (list, tuple)) or type(o).__name__ == "array":
            items = list(o)
            if key in MULTISETS:
                out.append(("multiset", sorted(repr(_plain(x)) for x in items)))
                return
            if key in UNORDERED:
                items.sort(key=_tid)
            out.append(("[", len(items)))
            for x in items:
                walk(x)
            out.append("]")
            return
        if isinstance(o, dict):
            items = sorted(o.items(), key=lambda kv: repr(kv[0]))
            out.append(("{", len(items)))
            for k, v in items:
                walk(k)
                walk(v)
            out.append("}")
            return
        if isinstance(o, (set, frozenset)):
            out.append(("set", sorted(repr(x) for x in o)))
            return
        cls = type(o)
        name = cls.__name__
        out.append(("obj", name))
        d = getattr(o, "__dict__", None)
        names = sorted(set(_slots(cls)) | set(d or ()))
        for a in names:
            if (name, a) in SKIP:
                continue
            v = getattr(o, a, "<unset>")
            out.append(a)
            walk(v, name, a)
        out.append("end")

    walk(root)
    return out


def _plain(x: Any) -> Any:
    if hasattr(x, "__slots__"):
        return tuple(getattr(x, a, None) for a in _slots(type(x)))
    return x
