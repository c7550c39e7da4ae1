"""Counterexamples: pinned schedules replay with the scenario runner; shrinking; ITF export."""

from __future__ import annotations

import json
import random

import pytest
from conftest import EXAMPLE_SETUP, EXAMPLE_THREADS, small_machine

from daxsh.explore import Machine, Problem, explore
from daxsh.explore.search import run_policy
from daxsh.explore.shrink import itf, pin_schedule, scenario_text, shrink, trace_lines, verify
from daxsh.scenario import loads


def _bad(kernel: str = "v4.16") -> tuple[Machine, object]:
    m = Machine(Problem(kernel, setup=EXAMPLE_SETUP, threads=EXAMPLE_THREADS, bad="corruption",
                        title="example", path="example.toml"))
    res = explore(m)
    assert res.best_bad is not None
    return m, res.best_bad


def test_pinned_schedule_replays_with_daxsh_run() -> None:
    m, ex = _bad()
    pinned = pin_schedule(m, ex.schedule)  # type: ignore[attr-defined]
    lines = [t for t, _c in pinned.lines]
    assert lines[0].startswith("start ")
    assert all(t.startswith(("start ", "step %")) for t in lines if t)
    text = scenario_text(m.problem, ex, pinned)  # type: ignore[arg-type]
    sc = loads(text, "<cx>")
    assert sc.kernels() == ["v4.16"]
    assert sc.expect.outcome == "corruption"
    ok, why = verify(text, "v4.16")
    assert ok, why
    # the same steps on the fixed kernel do not corrupt
    assert not verify(text, "v4.18")[0]


@pytest.mark.parametrize("name,kernel", [("three-threads", "v4.16"),
                                         ("truncate-vs-pin", "v4.16"),
                                         ("unbind-vs-unpin", "v5.19")])
def test_random_schedules_replay_with_daxsh_run(name: str, kernel: str) -> None:
    """Not only bad executions: any schedule written as start/step lines reaches the same
    outcome under the scenario runner."""
    m = small_machine(name, kernel)
    rng = random.Random(5)
    outcomes = set()
    for _ in range(15):
        ex = run_policy(m, lambda en, prev, n: rng.choice(en))
        outcomes.add(ex.outcome)
        text = scenario_text(m.problem, ex, pin_schedule(m, ex.schedule))
        ok, why = verify(text, kernel)
        assert ok, (ex.schedule, why, text)


def test_shrink_removes_lines_and_keeps_the_bug() -> None:
    prob = Problem("v4.16", setup=[*EXAMPLE_SETUP, "stat /mnt/a"],
                   threads={"truncator": ["truncate /mnt/a 0", "sync", "create /mnt/b 64K"],
                            "device": ["pin 0x7f0000000000 4K", "dma pin1", "unpin pin1"],
                            "idle": ["ls /mnt"]},
                   bad="corruption", title="t")
    sh = shrink(prob, time_limit=20)
    assert sh is not None
    n0 = len(prob.setup) + sum(len(v) for v in prob.threads.values())
    n1 = len(sh.problem.setup) + sum(len(v) for v in sh.problem.threads.values())
    assert n1 < n0
    assert "idle" not in sh.problem.threads
    assert "stat /mnt/a" not in sh.problem.setup
    assert "dma pin1" in sh.problem.threads["device"]
    assert sh.execution.bad
    m = Machine(sh.problem)
    text = scenario_text(sh.problem, sh.execution, pin_schedule(m, sh.execution.schedule))
    assert verify(text, "v4.16")[0]


def test_shrink_without_a_bug_is_none() -> None:
    prob = Problem("v4.18", setup=EXAMPLE_SETUP, threads=EXAMPLE_THREADS, bad="corruption")
    assert shrink(prob, time_limit=10) is None


def test_trace_shows_the_interleaving() -> None:
    m, ex = _bad()
    lines = trace_lines(m, ex.schedule)  # type: ignore[attr-defined]
    rules = [x for x in lines if x.startswith("────")]
    assert len(rules) >= 3
    assert any("(preemption)" in x for x in rules)
    # v4.16 pins with get_user_pages (pin_user_pages is v5.6, kernel/names.py)
    assert any("get_user_pages(" in x for x in lines)
    assert not any("pin_user_pages" in x for x in lines)
    assert lines[-2] == "outcome: corruption"


def test_itf_export() -> None:
    m, ex = _bad()
    doc = itf(m, ex)  # type: ignore[arg-type]
    json.dumps(doc)
    assert doc["#meta"]["format"] == "ITF"
    assert set(doc["vars"]) <= set(doc["states"][0])
    assert len(doc["states"]) == len(ex.schedule) + 1  # type: ignore[attr-defined]
    assert doc["states"][-1]["outcome"] == "corruption"
    assert all("#set" in s["footprint"] for s in doc["states"])
    assert [s["#meta"]["index"] for s in doc["states"]] == list(range(len(doc["states"])))
