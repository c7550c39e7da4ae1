"""Replay a scenario on a kernel and check what it expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..kernel import checks
from ..lang import ERROR, Result, Session
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

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.scenario.path,
            "title": self.scenario.title,
            "kernel": self.kernel,
            "outcome": self.outcome,
            "outcomes_seen": self.found,
            "details": self.details,
            "killed": self.killed,
            "ok": self.ok,
            "failures": self.failures,
            "steps": [{"step": s.number, "line": s.line, "file_line": s.lineno, "status": s.status,
                       "output": s.output} for s in self.steps],
        }


def _is_usage_error(r: Result) -> bool:
    """A line the language rejected (a bad word, an unknown command), not a kernel error."""
    return r.status == ERROR and (bool(r.caret) or ": unknown command" in r.error)


def run(sc: Scenario, kernel: str, keep_session: bool = False) -> RunReport:
    """Replay ``sc`` on ``kernel`` and compare with what the scenario expects there."""
    s = Session(kernel, pmem=sc.pmem, seed=sc.seed)
    reports: list[StepReport] = []
    steps: list[Step] = list(sc.steps) if sc.steps else list(sc.setup)
    for st in steps:
        r = s.execute(st.line)
        reports.append(StepReport(st.number, st.line, st.lineno, r.status, r.text(), _is_usage_error(r)))
    if not sc.steps and sc.threads:
        logs: dict[str, list[tuple[str, str, str]]] = {}
        tasks = []
        for name, lines in sc.threads.items():
            logs[name] = []
            body = s.thread_body([x.line for x in lines], logs[name])
            tasks.append(s.k.spawn(name, s.proc, body, f"thread {name}"))
        s.k.run()
        n = len(reports)
        for name, lines in sc.threads.items():
            for i, (text, status, msg) in enumerate(logs[name]):
                n += 1
                reports.append(StepReport(n, f"[{name}] {text}", lines[i].lineno, status,
                                          [msg] if msg else []))
    o = checks.outcome(s.k)
    ex = sc.expect_for(kernel)
    rep = RunReport(sc, kernel, o.outcome, o.found, o.details, o.killed, reports, [], ex,
                    s if keep_session else None)
    _compare(rep, ex, s, steps)
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
