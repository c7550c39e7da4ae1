"""The real-kernel suite (``pytest -m real``; `.ci/run` sets the kernels up and runs it): every
``scenarios/real/*.toml`` on Debian's 6.1 and 6.12 under QEMU.

Two checks per scenario and kernel, from one boot:
* the real kernel did what the scenario records for it (outcome, the step statuses and killed
  processes it names, its dmesg needles): a change here is the kernel, or the harness, changing;
* the model on the matching preset agrees with the real kernel step by step.  Where it does not,
  the case is an expected failure (strict) with the reason, from ``daxsh.real.known``.

A kernel that is not set up fails the test (never a skip): ``daxsh real --setup`` first.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from daxsh.kernel.config import KernelConfig
from daxsh.real.compare import PRESETS, Comparison, booted, compare
from daxsh.real.known import disagreement
from daxsh.real.provision import SetupError, find_kernel
from daxsh.scenario import load

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
REAL = sorted((ROOT / "scenarios" / "real").glob("*.toml"))
CASES = [(p, k) for p in REAL for k in PRESETS]
_runs: dict[tuple[Path, str], Comparison] = {}


def _run(path: Path, kernel: str) -> Comparison:
    key = (path, kernel)
    if key not in _runs:
        try:
            k = find_kernel(kernel)
        except SetupError as e:
            pytest.fail(f"{e}")
        c, _plan, b = compare(load(path), k, PRESETS[kernel])
        assert booted(b), f"the {kernel} guest did not start:\n{b.console[-2000:]}"
        _runs[key] = c
    return _runs[key]


def _id(case: tuple[Path, str]) -> str:
    return f"{case[0].stem}-{case[1]}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_real_kernel_does_what_the_scenario_records(case: tuple[Path, str]) -> None:
    path, kernel = case
    sc = load(path)
    ex = sc.expect_for(PRESETS[kernel])
    assert ex.outcome is not None, f"{path.name} records no outcome for {PRESETS[kernel]}"
    c = _run(path, kernel)
    real = c.real
    why = f"\nreal steps: {[(s.number, s.status, s.text) for s in real.steps]}\ndetails: {real.details}"
    assert real.outcome == ex.outcome, f"real {kernel}: outcome {real.outcome}, recorded {ex.outcome}{why}"
    statuses = {s.number: ("error" if s.status == "killed" else s.status) for s in real.steps}
    for n, want in ex.steps.items():
        assert statuses.get(n) == want, f"real {kernel}: step {n} {statuses.get(n)}, recorded {want}{why}"
    if ex.killed is not None:
        got = sorted({k.split(":")[0] for k in real.killed})
        assert got == sorted(ex.killed), f"real {kernel}: killed {real.killed}, recorded {ex.killed}"
    log = "\n".join(real.dmesg)
    for needle in ex.dmesg:
        assert needle in log, f"real {kernel}: no dmesg line with '{needle}'"
    for needle in ex.no_dmesg:
        assert needle not in log, f"real {kernel}: dmesg has '{needle}'"


def _model_cases() -> list[object]:
    out = []
    for path, kernel in CASES:
        reason = disagreement(path.stem, PRESETS[kernel])
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param((path, kernel), marks=marks, id=_id((path, kernel))))
    return out


@pytest.mark.parametrize("case", _model_cases())
def test_model_agrees_with_the_real_kernel(case: tuple[Path, str]) -> None:
    c = _run(*case)
    assert c.agree, "\n".join(c.differences)


@pytest.mark.parametrize("kernel", list(PRESETS))
def test_the_images_release_names_the_preset(kernel: str) -> None:
    from daxsh.real.compare import preset_for
    from daxsh.real.provision import image_version

    try:
        k = find_kernel(kernel)
    except SetupError as e:
        pytest.fail(f"{e}")
    release = image_version(k.vmlinuz).split()[0]
    assert release == k.kver
    assert preset_for(release) == KernelConfig.parse(PRESETS[kernel]).base


def test_a_guest_that_does_not_finish_in_time_is_ended(capsys: pytest.CaptureFixture[str]) -> None:
    """The overall watchdog: QEMU is killed at --timeout; a guest that never reached its helper
    means the real kernel could not be run (exit 3, saying so)."""
    from daxsh.cli import main

    try:
        find_kernel("6.12")
    except SetupError as e:
        pytest.fail(f"{e}")
    t0 = time.monotonic()
    assert main(["real", str(REAL[0]), "--kernel", "6.12", "--timeout", "1"]) == 3
    assert time.monotonic() - t0 < 20
    assert "did not reach the guest helper" in capsys.readouterr().err
