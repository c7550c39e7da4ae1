"""Explore from the current state of an interactive session."""

from __future__ import annotations

from conftest import EXAMPLE_SETUP

from daxsh.explore.live import explore_session
from daxsh.kernel import outcomes
from daxsh.lang.session import Session


def _session(kernel: str) -> Session:
    s = Session(kernel)
    for line in [*EXAMPLE_SETUP, "start truncate /mnt/a 0", "start pin 0x7f0000000000 4K"]:
        s.execute(line)
    return s


def test_explore_from_here_finds_and_branches() -> None:
    s = _session("v4.16")
    before = list(s.executed)
    fh = explore_session(s, threads={"later": ["create /mnt/b 64K", "dma pin1"]},
                         bad="corruption")
    assert fh.result.verdict == "sometimes"
    assert s.executed == before and len(s.jobs) == 2  # the live session is untouched
    assert any(x.startswith("step %1") for x in fh.lines)
    assert any(x.startswith("step %2") for x in fh.lines)
    b = fh.branch(s)
    assert outcomes.outcome(b.k).outcome == "corruption"


def test_explore_from_here_on_a_fixed_kernel() -> None:
    s = _session("v4.18")
    fh = explore_session(s, threads={"later": ["create /mnt/b 64K", "dma pin1"]},
                         bad="corruption")
    assert fh.result.verdict == "never"
    assert fh.counterexample is None and fh.lines == []
