"""The post-setup state put back in place (daxsh/explore/snapshot.py): after any executions,
the state is the one the setup left, object for object."""

from __future__ import annotations

import io
import pickle
import random
from collections import deque
from typing import Any

import pytest
from conftest import SMALL, small_machine

from daxsh.explore import Machine, Problem
from daxsh.explore.runner import Run
from daxsh.explore.search import explore, run_policy
from daxsh.explore.snapshot import Snapshot, Unsupported


class _SortedSets(pickle.Pickler):
    """Pickles a set as its members sorted: a set refilled with the same members may iterate
    in another order (its layout depends on the order of insertion when hashes collide, and
    string hashes change with PYTHONHASHSEED), exactly as after unpickling."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is set:
            return set, (sorted(obj, key=repr),)
        return NotImplemented


def _canonical(state: Any) -> bytes:
    buf = io.BytesIO()
    _SortedSets(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return buf.getvalue()


def _as_set_up(m: Machine) -> bytes:
    """The machine's state, pickled as the setup's state was (tracing on, as after setup)."""
    return _canonical(m.fresh(trace=True))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_restored_state_is_the_setup_state(name: str) -> None:
    """Executions that create files, pin pages, take locks, crash the kernel: afterwards the
    state pickles to the very bytes the setup's state did -- the same objects, shared the
    same way, every dict in the same order, every set with the same members."""
    m = small_machine(name, SMALL[name][2][0])
    assert m.restore == "inplace"
    set_up = _as_set_up(m)
    rng = random.Random(7)
    outcomes = set()
    for _ in range(30):
        ex = run_policy(m, lambda en, prev, n: rng.choice(en), trace=rng.random() < 0.5)
        outcomes.add(ex.outcome)
    assert _as_set_up(m) == set_up
    assert outcomes  # the executions ran to an outcome


def test_a_run_left_half_way_is_ended_before_the_state_is_restored() -> None:
    """A run abandoned with tasks asleep or holding locks (Ctrl-C, an exception): the next
    execution first unwinds them, so their ``finally:`` blocks cannot change its state."""
    m = small_machine("truncate-vs-pin", "v4.16")
    set_up = _as_set_up(m)
    run = Run(m)
    for _ in range(4):
        run.step(run.enabled()[0])
    assert run.sched.tasks  # tasks are alive mid-way
    assert _as_set_up(m) == set_up
    assert all(t.gen is None for t in run.sched.tasks)


def test_a_run_cannot_go_on_once_its_state_is_restored_for_another() -> None:
    m = small_machine("truncate-vs-pin", "v4.16")
    old = Run(m)
    Run(m)
    with pytest.raises(RuntimeError, match="put back for a later run"):
        old.enabled()


def test_same_results_as_unpickling_a_fresh_copy() -> None:
    """The whole search gives the same executions, outcomes and counterexample either way."""
    setup, threads, kernels, bad = SMALL["truncate-vs-pin"]
    results = []
    for restore in ("inplace", "pickle"):
        m = Machine(Problem(kernels[0], setup=setup, threads=threads, bad=bad), restore=restore)
        res = explore(m, mode="dfs", count_all=True)
        assert res.first_bad is not None
        results.append((res.executions, sorted(res.outcomes.items()), res.first_bad.schedule,
                        res.first_bad.details))
    assert results[0] == results[1]


class _Holder:
    def __init__(self, v: Any) -> None:
        self.v = v


def test_what_cannot_be_put_back_falls_back_to_pickling(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(Unsupported, match="deque"):
        Snapshot({"a": [_Holder(deque([1]))]})

    def unsupported(root: Any) -> None:
        raise Unsupported("as a deque would")

    monkeypatch.setattr("daxsh.explore.runner.Snapshot", unsupported)
    m = small_machine("truncate-vs-pin", "v4.16")
    assert m.restore == "pickle"
    assert Run(m).s is not Run(m).s  # a fresh copy each time


def test_snapshot_restores_every_kind_of_container() -> None:
    class Slotted:
        __slots__ = ("a", "b")

    o = Slotted()
    o.a = [1, 2]
    h = _Holder({"k": {3}})
    root = (o, h, frozenset({"x"}))
    snap = Snapshot(root)
    o.a.append(3)
    o.b = "set later"
    o.a = ["another list"]
    h.v["k"].add(4)
    h.v["new"] = 1
    h.extra = True
    snap.restore()
    assert o.a == [1, 2] and not hasattr(o, "b")
    assert h.v == {"k": {3}} and not hasattr(h, "extra")
