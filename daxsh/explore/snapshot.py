"""The post-setup state, kept alive and put back in place before every execution.

Unpickling a fresh copy of the machine for every execution allocates the whole object graph
again (about 230 objects after a typical setup), and the previous execution's graph -- full of
cycles: ``Scheduler.k`` and ``Kernel.sched``, ``AddressSpace.host`` and ``Inode.mapping`` --
is left to the cycle collector.  Together that was a third of an execution.

A :class:`Snapshot` instead records, once, the contents of every mutable object reachable from
the state: each instance's attributes (``__dict__`` and ``__slots__``), each list, dict and set,
each ``array``.  :meth:`Snapshot.restore` writes those contents back into the same objects.
Objects the execution created become unreachable from the state and are freed; objects it
changed get their old contents back.  The result is the state a fresh unpickling would give:
every dict and set is refilled in its recorded order after ``clear()``, as the unpickler fills
new ones, so a dict iterates in the same order.  A set has the same members, but may iterate
in another order, after unpickling as after a restore: its layout depends on the order of
insertion when hashes collide, and string hashes change with ``PYTHONHASHSEED``.  The model
therefore iterates no set except through ``sorted()``.  ``tests/explore/test_snapshot.py``
checks that the two pickle to the same bytes (sets as sorted members) after executions that
changed the state, and ``tests/cli/test_explore.py`` that a verdict and its
counterexample are the same under two hash seeds.

What is not walked into: classes, functions, modules and other globals (they are shared with
the program, as pickle shares them by name) and immutable scalars.  A bound method's
``__self__`` is walked.  An object of any other kind makes :class:`Snapshot` raise
:class:`Unsupported`, and the caller falls back to unpickling.

One state, restored in place, means one execution at a time per snapshot: whoever restores it
must first end the tasks of the previous execution (:func:`close_tasks`), or their generators,
when finally collected, would run their ``finally:`` blocks against the restored state.
"""

from __future__ import annotations

import enum
import operator
import types
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from itertools import repeat
from typing import Any

from ..kernel.sched import Scheduler

_ATOMIC = (str, int, float, complex, bool, bytes, type(None), range, type, enum.Enum,
           types.FunctionType, types.BuiltinFunctionType, types.ModuleType,
           types.MethodDescriptorType, types.WrapperDescriptorType)
_MISSING = object()  # a slot that was not set
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined by a class statement
_drain: Callable[[Iterable[Any]], object] = partial(deque, maxlen=0)  # run an iterator out
_setitem = operator.setitem
_ALL = repeat(slice(None))


class Unsupported(TypeError):
    """The state holds an object the snapshot cannot put back (use pickling instead)."""


def _slot_names(cls: type) -> tuple[str, ...]:
    names: list[str] = []
    for c in cls.__mro__:
        for n in c.__dict__.get("__slots__", ()):
            if n not in ("__dict__", "__weakref__") and n not in names:
                names.append(n)
    return tuple(names)


class Snapshot:
    """The contents of every mutable object reachable from ``root``, to put back later."""

    __slots__ = ("_attrs", "_dicts", "_lists", "_sets", "_unset", "root")

    def __init__(self, root: Any) -> None:
        self.root = root
        dicts: list[tuple[dict[Any, Any], dict[Any, Any]]] = []
        lists: list[tuple[Any, Any]] = []  # lists and arrays: (object, its items)
        sets: list[tuple[set[Any], tuple[Any, ...]]] = []
        attrs: list[tuple[Any, str, Any]] = []  # slots that were set: (object, name, value)
        unset: list[tuple[Any, str]] = []  # slots that were not
        slots_of: dict[type, tuple[str, ...]] = {}
        seen: set[int] = set()
        stack = [root]
        while stack:
            o = stack.pop()
            if isinstance(o, _ATOMIC) or id(o) in seen:
                continue
            seen.add(id(o))
            t = type(o)
            if t is tuple or t is frozenset:
                stack.extend(o)
            elif isinstance(o, dict):
                saved = dict(o)  # a copy in the same order (update() from a dict is fastest)
                dicts.append((o, saved))
                stack.extend(saved)
                stack.extend(saved.values())
            elif t is list:
                lists.append((o, tuple(o)))
                stack.extend(o)
            elif t is set:
                sets.append((o, tuple(o)))
                stack.extend(o)
            elif t is array:
                lists.append((o, array(o.typecode, o)))
            elif t is types.MethodType:
                stack.append(o.__self__)
            elif not t.__flags__ & _HEAPTYPE:  # a built-in or C type (deque, bytearray...)
                raise Unsupported(f"cannot put a {t.__name__} back in place")
            else:  # an instance of a class defined in Python: its attributes
                d = getattr(o, "__dict__", None)
                if d is not None:
                    stack.append(d)
                names = slots_of.get(t)
                if names is None:
                    names = slots_of[t] = _slot_names(t)
                if d is None and not names:
                    raise Unsupported(f"cannot put a {t.__name__} back in place")
                for n in names:
                    v = getattr(o, n, _MISSING)
                    if v is _MISSING:
                        unset.append((o, n))
                    else:
                        attrs.append((o, n, v))
                        stack.append(v)
        # kept as columns, so that restore() runs each kind of write as one C-level loop
        self._dicts = tuple(zip(*dicts)) or ((), ())
        self._lists = tuple(zip(*lists)) or ((), ())
        self._sets = tuple(zip(*sets)) or ((), ())
        self._attrs = tuple(zip(*attrs)) or ((), (), ())
        self._unset = unset

    def restore(self) -> None:
        """Put every recorded object's contents back."""
        ds, saved = self._dicts
        _drain(map(dict.clear, ds))
        _drain(map(dict.update, ds, saved))
        objs, items = self._lists
        _drain(map(_setitem, objs, _ALL, items))  # lst[:] = items
        sets, members = self._sets
        _drain(map(set.clear, sets))
        _drain(map(set.update, sets, members))
        _drain(map(setattr, *self._attrs))
        for o, n in self._unset:
            if hasattr(o, n):
                delattr(o, n)


def close_tasks(sched: Scheduler) -> None:
    """End the tasks still alive (:meth:`Scheduler.retire`): their ``finally:`` blocks run now,
    before the state is restored in place, not later when the garbage collector would close
    their generators against the restored state.  The restore puts ``sched.retired`` back."""
    sched.retire()
