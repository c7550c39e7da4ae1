"""The trace ring buffer: flat slots, events built when read, the oldest dropped in bulk."""

from __future__ import annotations

import gc

from daxsh.kernel.trace import Trace


def _fill(tb: Trace, n: int) -> None:
    for i in range(n):
        tb.add(i * 1000, 7, "truncate", i % 3, f"f{i}", tuple(range(i % 4)), {"i": i} if i % 2 else {})


def test_events_read_back_as_recorded() -> None:
    tb = Trace(maxlen=100)
    _fill(tb, 10)
    evs = tb.events
    assert [e.seq for e in evs] == list(range(1, 11))
    e = evs[5]
    assert (e.time, e.tid, e.comm, e.depth, e.func) == (5000, 7, "truncate", 2, "f5")
    assert e.args == "0, i=5"
    assert evs[6].args == "0, 1"  # no keywords: stored as None, shown as nothing


def test_since_and_last() -> None:
    tb = Trace(maxlen=100)
    _fill(tb, 10)
    assert [e.seq for e in tb.since(7)] == [8, 9, 10]
    assert tb.since(10) == []
    assert [e.seq for e in tb.since(0)] == list(range(1, 11))
    assert [e.seq for e in tb.last(2)] == [9, 10]
    assert tb.last(0) == []


def test_the_oldest_events_are_dropped_and_seq_goes_on() -> None:
    tb = Trace(maxlen=50)
    _fill(tb, 1000)
    n = len(tb)
    assert 50 <= n < 100
    evs = tb.events
    assert [e.seq for e in evs] == list(range(1001 - n, 1001))
    assert evs[-1].func == "f999" and evs[-1].args == "0, 1, 2, i=999"
    assert [e.seq for e in tb.since(990)] == list(range(991, 1001))
    assert tb.since(0)[0].seq == 1001 - n  # older ones are gone


def test_clear_keeps_numbering() -> None:
    tb = Trace(maxlen=10)
    _fill(tb, 5)
    tb.clear()
    assert tb.events == [] and tb.since(0) == []
    _fill(tb, 1)
    assert [e.seq for e in tb.events] == [6]


def test_buffered_events_are_not_containers_for_the_collector() -> None:
    """Why the slots are flat: an event must not add objects the garbage collector walks."""
    tb = Trace(maxlen=10_000)
    obj = object()
    gc.collect()
    before = len(gc.get_objects())
    for i in range(2000):
        tb.add(i, 1, "sh", 0, "f", (obj, i), {})
    gc.collect()
    assert len(gc.get_objects()) - before < 50
