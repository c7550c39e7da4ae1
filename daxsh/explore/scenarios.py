"""Scenario files as explorer problems (no UI: the pytest plugin and `daxsh run` use these
too)."""

from __future__ import annotations

from typing import Any

from .runner import Problem


class Invalid(Exception):
    pass


def _lines(steps: Any) -> list[str]:
    return [getattr(s, "line", s) for s in steps]


def problems(path: str, kernel: str | None) -> list[tuple[Problem, str | None]]:
    """(problem, expected verdict) for each kernel to explore."""
    from ..kernel.config import ConfigError, KernelConfig
    from ..lang.hints import error_text
    from ..scenario.load import ScenarioError, load
    try:
        sc = load(path)
    except ScenarioError as e:
        raise Invalid(str(e)) from None
    if not sc.threads:
        raise Invalid(f"{path}: no [threads] table: `daxsh explore` needs threads to interleave "
                       "(`daxsh run` replays steps)")
    if sc.steps:
        raise Invalid(f"{path}: a scenario to explore has `setup` and [threads], not `steps`")
    if kernel is not None:
        try:
            kernels = [KernelConfig.parse(kernel).spec]
        except ConfigError as e:
            raise Invalid(f"--kernel: {error_text(e)}") from None
    else:
        kernels = sc.kernels()
    return [problem_of(sc, spec) for spec in kernels]


def problem_of(sc: Any, spec: str) -> tuple[Problem, str | None]:
    """The explorer problem of a loaded scenario's race on kernel ``spec``, and the verdict
    its [expect] names there."""
    ex = sc.expect_for(spec)
    prob = Problem(spec, sc.pmem, sc.seed, _lines(sc.setup),
                   {n: _lines(v) for n, v in sc.threads.items()}, ex.bad, sc.title, sc.path)
    return prob, ex.verdict
