"""pytest plugin (entry point ``pytest11``): scenario files as test items, one per kernel each
names, replayed with ``daxsh run``'s runner (a [threads] race: explored, its verdict judged).

It collects only what a project asks for -- the ``.toml`` files under the paths of the ini
option ``daxsh_scenarios``, and ``.toml`` files named on the command line -- never another
project's ``scenarios/*.toml``::

    [tool.pytest.ini_options]
    testpaths = ["tests", "scenarios"]
    daxsh_scenarios = ["scenarios"]

Imports no UI library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .scenario import RunReport, ScenarioError, load, run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("daxsh_scenarios", type="paths", default=[],
                  help="daxsh scenario files or directories of them (*.toml) to collect")


def _asked_for(config: pytest.Config, file_path: Path) -> bool:
    path = file_path.resolve()
    for root in config.getini("daxsh_scenarios"):
        root = Path(root).resolve()
        if path == root or root in path.parents:
            return True
    here = config.invocation_params.dir
    return any((here / str(arg).split("::")[0]).resolve() == path for arg in config.args)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".toml" and _asked_for(parent.config, file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Any:
        try:
            sc = load(self.path)
        except ScenarioError as e:
            yield ScenarioItem.from_parent(self, name="load", spec="", error=str(e))
            return
        if sc.threads:
            # a race: every interleaving of the threads, against the expected verdict
            for spec in sc.kernels():
                yield VerdictItem.from_parent(self, name=f"{spec} explore", spec=spec, error="")
            return
        for spec in sc.kernels():
            yield ScenarioItem.from_parent(self, name=spec, spec=spec, error="")


class ScenarioFailure(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, spec: str, error: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.spec = spec
        self.error = error

    def runtest(self) -> None:
        if self.error:
            raise ScenarioFailure(self.error)
        rep: RunReport = run(load(self.path), self.spec)
        if not rep.ok:
            lines = [f"{self.path.name} on {self.spec}:"] + [f"  {f}" for f in rep.failures]
            lines += ["  steps:"] + [f"    {s.number} [{s.status}] {s.line}" for s in rep.steps]
            raise ScenarioFailure("\n".join(lines))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, (ScenarioFailure, ScenarioError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.path.name} [{self.spec}]"


class VerdictItem(ScenarioItem):
    """`daxsh explore` of a scenario's [threads] on one kernel: the verdict must match; an
    undecided search fails with its reason."""

    def runtest(self) -> None:
        from .explore.judge import judge

        v = judge(load(self.path), self.spec)
        if v.matches is not True:  # a mismatch, or undecided with its reason
            raise ScenarioFailure(
                f"{self.path.name} on {self.spec}: {v.line}, {v.counts['traces']} traces, "
                f"{v.counts['executions']} executions; {v.expectation}")
