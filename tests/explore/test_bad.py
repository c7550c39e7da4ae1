"""``[expect] bad`` with conditions on the final state (daxsh/scenario/bad.py): decided by the
explorer, written into the counterexample, replayed by ``daxsh run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daxsh.cli import main
from daxsh.kernel.outcomes import outcome
from daxsh.lang import Session
from daxsh.scenario.bad import Bad

SETUP = """\
setup = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 4K",
         "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write"]
[threads]
truncator = ["truncate /mnt/a 0"]
device = ["pin 0x7f0000000000 4K", "unpin pin1"]
"""

# the 2018 race seen in the state, before any DMA: truncate frees a block that is pinned
FREED_WHILE_PINNED = SETUP + """\
[expect.bad]
query = "show blocks"
contains = "freed-while-pinned"
[expect."v4.16"]
verdict = "sometimes"
[expect."v4.18"]
verdict = "never"
"""


def _explore(tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str],
             *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    p = tmp_path / "s.toml"
    p.write_text(body, encoding="utf-8")
    code = main(["explore", str(p), "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_a_condition_on_the_final_state_decides_the_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _explore(tmp_path, FREED_WHILE_PINNED, capsys)
    assert code == 0
    verdicts = {r["kernel"]: (r["verdict"], r["bad"]) for r in doc["runs"]}
    assert verdicts == {"v4.16": ("sometimes", "`show blocks` shows 'freed-while-pinned'"),
                        "v4.18": ("never", "`show blocks` shows 'freed-while-pinned'")}
    # the executions are clean: only the state condition makes them bad
    v416 = next(r for r in doc["runs"] if r["kernel"] == "v4.16")
    assert set(v416["outcomes"]) == {"clean"}


def test_the_counterexample_checks_the_condition_and_replays(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _explore(tmp_path, FREED_WHILE_PINNED, capsys, "--kernel", "v4.16", "--shrink")
    assert code == 0
    cx = doc["runs"][0]["counterexample"]
    assert cx["reproduces"] is True
    assert '{ run = "show blocks", output = "freed-while-pinned" }' in cx["scenario"]
    out = tmp_path / "cx.toml"
    out.write_text(cx["scenario"], encoding="utf-8")
    assert main(["run", str(out)]) == 0
    # the same file with the condition's text changed fails to replay
    out.write_text(cx["scenario"].replace("freed-while-pinned", "no such mark"), encoding="utf-8")
    assert main(["run", str(out)]) == 1


def test_lacks_and_always(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On v4.18 truncate waits for the unpin: no execution leaves a block freed while pinned."""
    body = 'kernel = "v4.18"\n' + SETUP + """\
[expect]
verdict = "always"
bad = { query = "show blocks", lacks = "freed-while-pinned" }
"""
    code, doc = _explore(tmp_path, body, capsys)
    assert code == 0 and doc["runs"][0]["verdict"] == "always"


def test_dmesg_and_outcome_conditions_all_have_to_hold() -> None:
    s = Session("v6.15")
    for line in ("mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax"):
        s.execute(line)
    o = outcome(s.k)
    assert Bad(dmesg="Mounting V5 Filesystem").holds(s, o)
    assert not Bad(dmesg="no kernel prints this").holds(s, o)
    assert not Bad(outcome="corruption", dmesg="Mounting V5 Filesystem").holds(s, o)
    assert not Bad().holds(s, o)  # nothing stated: any outcome but clean
    assert Bad(query="show inodes", contains="/mnt/").holds(s, o)
    assert not Bad(query="show inodes", lacks="/mnt/").holds(s, o)


@pytest.mark.parametrize(("bad", "msg"), [
    ('bad = "clean"', "expect.bad = 'clean'"),
    ('bad = "corrupt"', "did you mean 'corruption'?"),
    ("bad = 3", "must be an outcome"),
    ('bad = { query = "show blocks" }', "a query needs contains"),
    ('bad = { contains = "x" }', "a query needs contains"),
    ('bad = { query = "truncate /mnt/a 0", contains = "x" }', "reads the state and runs no"),
    ('bad = { query = "stat /mnt/a", contains = "x" }', "show"),
    ('bad = { query = "nosuch", contains = "x" }', "a query is one command"),
    ('bad = { outcome = "hung", when = "x" }', "unknown condition 'when'"),
    ('bad = { dmesg = "" }', "dmesg must be a non-empty string"),
    ('bad = { outcome = "fine" }', "not a bad outcome"),
])
def test_invalid_conditions_are_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          bad: str, msg: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(SETUP + "[expect]\n" + bad + "\n", encoding="utf-8")
    assert main(["explore", str(p)]) == 2
    err = capsys.readouterr().err
    assert msg in err and "bad.toml:" in err
