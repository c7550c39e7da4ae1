"""The search: DPOR reaches the outcomes plain enumeration reaches; verdicts; modes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import EXAMPLE_SETUP, EXAMPLE_THREADS, SMALL, small_machine

from daxsh.explore import Machine, Problem, explore
from daxsh.scenario.bad import Bad
from daxsh.explore.search import (
    Limits,
    count_preemptions,
    estimate_interleavings,
    explore_tree,
    replay,
)

CASES = [(name, k) for name, (_s, _t, kernels, _b) in SMALL.items() for k in kernels]
QUICK = {("truncate-vs-pin", "v4.16"), ("unbind-vs-unpin", "v5.19"), ("unbind-vs-unpin", "v5.15")}


@pytest.mark.parametrize("name,kernel", [
    pytest.param(n, k, marks=() if (n, k) in QUICK else pytest.mark.slow) for n, k in CASES])
def test_dpor_reaches_the_outcomes_of_plain_enumeration(name: str, kernel: str) -> None:
    m = small_machine(name, kernel)
    plain = explore_tree(m, reduce=False)
    dpor = explore_tree(m, reduce=True)
    assert plain.exhaustive and dpor.exhaustive
    assert set(dpor.outcomes) == set(plain.outcomes)
    assert dpor.verdict == plain.verdict
    assert dpor.executions <= plain.executions


def test_dpor_finds_a_race_through_page_tables() -> None:
    from small import PIN_TRUNCATE_DMA
    setup, threads, _k, bad = PIN_TRUNCATE_DMA
    res = explore_tree(Machine(Problem("v4.16", setup=setup, threads=threads, bad=bad)))
    assert res.exhaustive and res.verdict == "sometimes"


def _shipped_threads() -> list[Path]:
    from daxsh.scenario import load
    out = []
    paths = sorted(Path(__file__).parents[2].joinpath("scenarios").glob("*.toml"))
    paths += sorted(Path(__file__).parent.parent.parent.joinpath("scenarios", "threads").glob("*.toml"))
    for p in paths:
        try:
            if load(p).threads:
                out.append(p)
        except Exception:
            continue
    return out


@pytest.mark.slow
@pytest.mark.parametrize("path", _shipped_threads() or [None], ids=lambda p: p.stem if p else "none")
def test_dpor_matches_plain_on_shipped_scenarios(path: Path | None) -> None:
    """Every shipped threads scenario (and the threads forms in tests/explore/data) small
    enough to enumerate plainly."""
    if path is None:
        pytest.skip("no shipped scenario has [threads] yet")
    from daxsh.explore.cli import problems
    for prob, _verdict in problems(str(path), None):
        m = Machine(prob)
        if estimate_interleavings(m, samples=32) > 5_000:
            continue
        plain = explore_tree(m, reduce=False, limits=Limits(deadline=time.monotonic() + 30))
        if not plain.exhaustive:
            continue
        dpor = explore_tree(m, reduce=True)
        assert set(dpor.outcomes) == set(plain.outcomes), prob.kernel


@pytest.mark.parametrize("kernel,verdict", [("v4.16", "sometimes"), ("v4.18", "never")])
def test_example_verdicts(kernel: str, verdict: str) -> None:
    prob = Problem(kernel, setup=EXAMPLE_SETUP, threads=EXAMPLE_THREADS, bad="corruption")
    res = explore(prob, count=False)
    assert res.verdict == verdict
    assert res.exhaustive
    assert res.executions == res.positive + res.negative
    if verdict == "sometimes":
        assert res.best_bad is not None and res.best_bad.outcome == "corruption"
        # the bad schedule replays to the same outcome
        again = replay(Machine(prob), res.best_bad.schedule)
        assert again.outcome == "corruption"


def test_always_and_never_wording() -> None:
    m = small_machine("unbind-vs-unpin", "v5.19")
    res = explore_tree(m)
    assert res.verdict == "sometimes"
    m.problem.bad = Bad(dmesg="no kernel says this")
    assert explore_tree(m).verdict == "never"
    m.problem.bad = Bad(query="check", contains="outcome:")  # a condition every state meets
    assert explore_tree(m).verdict == "always"


def test_preemption_bound_zero_runs_threads_one_after_another() -> None:
    m = small_machine("truncate-vs-pin", "v4.16")
    res = explore_tree(m, reduce=False, bound=0)
    assert res.exhaustive and res.bounded
    assert res.max_preemptions == 0
    assert res.executions >= 2  # at least: truncator first, device first


def test_bounded_dpor_finds_what_bounded_enumeration_finds() -> None:
    m = small_machine("truncate-vs-pin", "v4.16")
    for b in (0, 1, 2):
        plain = explore_tree(m, reduce=False, bound=b)
        dpor = explore_tree(m, reduce=True, bound=b)
        assert set(dpor.outcomes) == set(plain.outcomes), b


def test_bfs_gives_fewest_preemptions() -> None:
    m = small_machine("truncate-vs-pin", "v4.16")
    fewest = next(b for b in range(10)
                  if explore_tree(m, reduce=False, bound=b, limits=Limits(stop_on_bad=True)).positive)
    res = explore(m, mode="bfs", count=False)
    assert res.best_bad is not None
    assert res.best_bad.preemptions == fewest


@pytest.mark.parametrize("name,kernel", CASES)
def test_bounded_dpor_matches_bounded_enumeration(name: str, kernel: str) -> None:
    m = small_machine(name, kernel)
    plain = explore_tree(m, reduce=False, bound=1)
    dpor = explore_tree(m, reduce=True, bound=1)
    assert set(dpor.outcomes) == set(plain.outcomes)


@pytest.mark.parametrize("mode", ["random", "pct"])
def test_sampling_modes_are_seeded(mode: str) -> None:
    m = small_machine("truncate-vs-pin", "v4.16")
    a = explore(m, mode=mode, seed=7, budget=200, count=False)
    b = explore(m, mode=mode, seed=7, budget=200, count=False)
    assert a.executions == 200 and not a.exhaustive
    assert (a.positive, a.negative) == (b.positive, b.negative)


def test_pct_finds_the_race() -> None:
    m = small_machine("truncate-vs-pin", "v4.16")
    res = explore(m, mode="pct", seed=1, budget=400, count=False)
    assert res.positive > 0


def test_budget_and_determinism() -> None:
    m = small_machine("truncate-vs-pin", "v4.16")
    a = explore_tree(m, limits=Limits(budget=5))
    assert a.executions == 5 and a.budget_hit and not a.exhaustive
    b = explore_tree(m, limits=Limits(budget=5))
    assert [x for x in a.outcomes.items()] == [x for x in b.outcomes.items()]


def test_jobs_split_the_tree() -> None:
    m = small_machine("truncate-vs-pin", "v4.16")
    one = explore(m, count=False)
    two = explore(m, jobs=2, count=False)
    assert two.exhaustive
    assert set(two.outcomes) == set(one.outcomes)
    assert two.verdict == one.verdict


def test_interleavings_counted_or_estimated() -> None:
    m = small_machine("unbind-vs-unpin", "v5.19")
    res = explore(m)
    assert res.interleavings == 2 and res.interleavings_exact
    big = explore(Machine(Problem("v4.18", setup=EXAMPLE_SETUP, threads=EXAMPLE_THREADS,
                                  bad="corruption")), exact_limit=0)
    assert big.interleavings is not None and big.interleavings > 10 * big.executions


def test_count_preemptions() -> None:
    assert count_preemptions(["a", "a", "b", "a"], ["point", "point", "point", "done"]) == 2
    assert count_preemptions(["a", "b"], ["done", "done"]) == 0
    assert count_preemptions(["a", "b", "a"], ["sleep", "point", "done"]) == 1
