"""The judge of a race for ``daxsh run``, the pytest plugin and ``bisect``: explore a loaded
scenario's [threads] on one kernel and say whether the verdict is the expected one.

``daxsh run`` gets this function from the entry point (the scenario layer does not import the
explorer); the words and counts are those of ``daxsh explore`` (:mod:`.report`).
"""

from __future__ import annotations

from typing import Any

from ..scenario.load import Scenario, ScenarioError
from ..scenario.run import Verdict
from .report import expectation_line, verdict_line, verdict_matches
from .runner import ProblemError
from .scenarios import problem_of
from .search import Result, explore


def search(sc: Scenario, kernel: str, time_limit: float | None = None,
           budget: int | None = None) -> tuple[Result, str | None]:
    """The explorer's result for ``sc``'s race on ``kernel`` (its default search, within
    the limits given) and the expected verdict; ``ScenarioError`` for a race the explorer
    refuses."""
    prob, expected = problem_of(sc, kernel)
    try:
        return explore(prob, time_limit=time_limit, budget=budget), expected
    except ProblemError as e:
        raise ScenarioError(f"{sc.path} (kernel {kernel}): {e}") from None


def judge(sc: Scenario, kernel: str, time_limit: float | None = None,
          budget: int | None = None) -> Verdict:
    res, expected = search(sc, kernel, time_limit, budget)
    return verdict_of(res, expected)


def verdict_of(res: Result, expected: str | None) -> Verdict:
    counts: dict[str, Any] = {"traces": res.traces, "executions": res.executions,
                              "positive": res.positive, "negative": res.negative}
    bad = res.best_bad or res.first_bad
    return Verdict(res.verdict, res.reason, verdict_matches(res, expected), verdict_line(res),
                   expectation_line(res, expected), counts, list(bad.details) if bad else [])
