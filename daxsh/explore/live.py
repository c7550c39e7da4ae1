""""Explore from here": search the interleavings from the current state of an interactive
session -- its live jobs (stopped, blocked or runnable) and what the user has typed.

The session itself is not touched: the lines it ran (``Session.executed``) are replayed into
fresh machines (live tasks are generators, which cannot be copied), its live jobs become threads
named ``%N``, and ``threads`` adds more lines to run beside them.  A bad execution comes back as
command lines (``step %N K``, ``start LINE``) that, typed into the session -- or into a new
branch made by replaying ``Session.executed`` -- reach it step by step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..lang.session import Session
from ..scenario.bad import Bad
from .runner import Machine, Problem
from .search import Execution, Result, explore
from .shrink import pin_schedule


@dataclass
class FromHere:
    result: Result
    counterexample: Execution | None
    lines: list[str]  # the counterexample's schedule as command lines, for the session

    def branch(self, s: Session) -> Session:
        """A new session at the session's state, then the counterexample's lines run."""
        b = Session(s.kernel_spec, s.pmem, s.seed)
        for line in list(s.executed) + self.lines:
            b.execute(line)
        return b


def explore_session(s: Session, threads: dict[str, list[str]] | None = None,
                    bad: Bad | str | None = None, **kw: Any) -> FromHere:
    prob = Problem.from_session(s, threads, bad)
    machine = Machine(prob)
    res = explore(machine, **kw)
    ex = res.best_bad
    lines: list[str] = []
    if ex is not None:
        lines = [text for text, _c in pin_schedule(machine, ex.schedule).lines if text]
    return FromHere(res, ex, lines)
