"""Replay a scenario on a kernel and check what it expects.

A scenario with ``steps`` is replayed once.  A scenario with ``setup`` and ``[threads]`` is a
race: its verdict over every interleaving (never, sometimes, always) is judged against
``[expect] verdict`` by a *judge* the entry point passes in (the explorer sits above this
layer), and a search that could not decide is ``undecided`` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..kernel import outcomes
from ..lang import ERROR, Session
from .load import Expect, Scenario, ScenarioError, Step


@dataclass
class StepReport:
    number: int
    line: str
    lineno: int
    status: str
    output: list[str]
    usage_error: bool = False


@dataclass
class Verdict:
    """What a judge decided about a race on one kernel."""

    verdict: str  # never, sometimes, always or undecided
    reason: str  # why undecided ("" when decided)
    matches: bool | None  # against the expected verdict; None: undecided
    line: str  # the verdict with its counts, as `daxsh explore` prints it
    expectation: str  # "Expected: never -> ok"
    counts: dict[str, int] = field(default_factory=dict)  # traces, executions, positive, negative
    details: list[str] = field(default_factory=list)  # the first bad execution's, if any


class Judge(Protocol):
    """Decides a race on a kernel within the limits given; raises ScenarioError for a race
    it cannot take."""

    def __call__(self, sc: Scenario, kernel: str, *, time_limit: float | None = None,
                 budget: int | None = None) -> Verdict: ...


@dataclass
class RunReport:
    scenario: Scenario
    kernel: str
    outcome: str
    found: list[str]
    details: list[str]
    killed: list[str]
    steps: list[StepReport] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    expect: Expect | None = None
    session: Session | None = None
    verdict: Verdict | None = None  # a [threads] race: what the judge decided

    @property
    def ok(self) -> bool:
        return not self.failures and not self.undecided

    @property
    def undecided(self) -> bool:
        """A race whose search ended before deciding, and nothing contradicted."""
        return self.verdict is not None and self.verdict.matches is None and not self.failures

    @property
    def status(self) -> str:
        """passed, failed or undecided."""
        return "failed" if self.failures else "undecided" if self.undecided else "passed"

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        extra: dict[str, Any] = {} if v is None else {
            "verdict": v.verdict, "reason": v.reason, "expected_verdict": self.expect.verdict
            if self.expect is not None else None, "matches": v.matches, **v.counts}
        return {
            "file": self.scenario.path,
            "title": self.scenario.title,
            "kernel": self.kernel,
            "outcome": self.outcome,
            "outcomes_seen": self.found,
            "details": self.details,
            "killed": self.killed,
            "ok": self.ok,
            "status": self.status,
            **extra,
            "failures": self.failures,
            "steps": [{"step": s.number, "line": s.line, "file_line": s.lineno, "status": s.status,
                       "output": s.output} for s in self.steps],
        }


def is_race(sc: Scenario) -> bool:
    """A scenario whose [threads] are judged over their interleavings (no ``steps``)."""
    return bool(sc.threads) and not sc.steps


def search_limits_error(prog: str, budget: int | None, time_limit: float | None) -> str | None:
    """What is wrong with a race's search limits (``--budget``, ``--time-limit``), if anything."""
    if (budget is not None and budget < 1) or (time_limit is not None and not time_limit > 0):
        return (f"{prog}: --budget must be at least 1 and --time-limit a positive number of "
                "seconds")
    return None


def run(sc: Scenario, kernel: str, keep_session: bool = False,
        judge: Judge | None = None, time_limit: float | None = None,
        budget: int | None = None) -> RunReport:
    """Replay ``sc`` on ``kernel`` and compare with what the scenario expects there; a race
    is handed to ``judge`` with the search limits (without a judge it is undecided: nothing
    here can explore)."""
    if is_race(sc):
        return _judge_race(sc, kernel, judge, time_limit, budget)
    s = Session(kernel, pmem=sc.pmem, seed=sc.seed)
    reports: list[StepReport] = []
    steps: list[Step] = list(sc.steps)
    for st in steps:
        r = s.execute(st.lexed or st.line)
        reports.append(StepReport(st.number, st.line, st.lineno, r.status, r.text(), r.usage))
    o = outcomes.outcome(s.k)
    ex = sc.expect_for(kernel)
    rep = RunReport(sc, kernel, o.outcome, o.found, o.details, o.killed, reports, [], ex,
                    s if keep_session else None)
    _compare(rep, ex, s, steps)
    if not keep_session:
        s.close()
    return rep


def _judge_race(sc: Scenario, kernel: str, judge: Judge | None, time_limit: float | None,
                budget: int | None) -> RunReport:
    ex = sc.expect_for(kernel)
    if judge is None:
        v = Verdict("undecided", "no-explorer", None, "Undecided (no-explorer)",
                    "Expected: the explorer is not part of this build; nothing decided")
    else:
        v = judge(sc, kernel, time_limit=time_limit, budget=budget)
    rep = RunReport(sc, kernel, v.verdict, [], v.details, [], [], [], ex, None, v)
    if v.matches is False:
        rep.failures.append(f"verdict {v.verdict}, expected {ex.verdict}: {v.line}")
    return rep


def _compare(rep: RunReport, ex: Expect, s: Session, steps: list[Step]) -> None:
    f = rep.failures
    for st, r in zip(steps, rep.steps):
        if r.usage_error and st.status != ERROR and ex.steps.get(st.number) != ERROR:
            raise ScenarioError(f"{rep.scenario.path}:{st.lineno}: step {st.number} `{st.line}`: "
                                + " ".join(x.strip() for x in r.output[-1:]))
        want = ex.steps.get(st.number, st.status)
        if want is not None and r.status != want:
            f.append(f"step {st.number} (line {st.lineno}) `{st.line}`: status {r.status}, "
                     f"expected {want}" + (f": {r.output[-1].strip()}" if r.output else ""))
        for needle in (st.output, ex.output.get(st.number)):
            if needle is not None and not any(needle in x for x in r.output):
                f.append(f"step {st.number} (line {st.lineno}) `{st.line}`: output does not contain "
                         f"'{needle}' (got: {' | '.join(r.output)[:200]})")
        unwanted = ex.no_output.get(st.number)
        if unwanted is not None and any(unwanted in x for x in r.output):
            f.append(f"step {st.number} (line {st.lineno}) `{st.line}`: output contains '{unwanted}'")
    if ex.outcome is not None and rep.outcome != ex.outcome:
        f.append(f"outcome {rep.outcome}, expected {ex.outcome}"
                 + (f": {rep.details[0]}" if rep.details else ""))
    if ex.killed is not None:
        got = sorted({k.split(":")[0] for k in rep.killed})
        if got != sorted(ex.killed):
            f.append(f"killed processes {got or 'none'}, expected {sorted(ex.killed) or 'none'}")
    log = "\n".join(s.k.dmesg.format())
    for needle in ex.dmesg:
        if needle not in log:
            f.append(f"dmesg has no line containing '{needle}'")
    for needle in ex.no_dmesg:
        if needle in log:
            f.append(f"dmesg contains '{needle}', expected not to")
