"""The scenario loader: malformed TOML, unknown keys, wrong types, bad steps -- each named
with the file and the line."""

import pytest

from daxsh.scenario import ScenarioError, loads
from daxsh.scenario.run import run

OK = 'title = "t"\nsteps = ["mkfs xfs /dev/pmem0"]\n'


def err(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        loads(text, "f.toml")
    return str(e.value)


def test_minimal() -> None:
    sc = loads(OK, "f.toml")
    assert sc.title == "t" and [s.line for s in sc.steps] == ["mkfs xfs /dev/pmem0"]
    assert sc.kernels() == ["v6.15"]


def test_malformed_toml_names_the_line() -> None:
    assert err('title = "t"\nsteps = ["a"\n').startswith("f.toml:")
    assert "not valid TOML" in err('title = "t\n')


@pytest.mark.parametrize(("text", "want"), [
    ('titel = "x"\nsteps = ["sync"]\n', "f.toml:1: unknown key 'titel'; did you mean 'title'?"),
    ('steps = ["sync"]\n[machine]\npmen = "1G"\n', "f.toml:3: unknown key 'machine.pmen'; did you mean 'pmem'?"),
    ('steps = ["sync"]\n[expect]\noutcom = "clean"\n', "unknown key 'expect.outcom'; did you mean 'outcome'?"),
    ('steps = ["sync"]\n[expect]\noutcome = "corupt"\n', "did you mean 'corruption'?"),
    ('steps = ["sync"]\n[expect."v4.99"]\noutcome = "clean"\n', "unknown kernel preset 'v4.99'"),
    ('kernel = "v6.14 +dax-break-layout-finale"\nsteps = ["sync"]\n', "did you mean +dax-break-layout-final?"),
    ('title = 3\nsteps = ["sync"]\n', "'title' must be a string"),
    ('steps = "sync"\n', "'steps' must be an array of command lines"),
    ('steps = [3]\n', "a step is a string or a table"),
    ('steps = ["sync", "frobnicate x"]\n', "step 2: unknown command 'frobnicate'"),
    ('steps = ["sync", "mout /dev/pmem0 /mnt"]\n', "did you mean 'mount'?"),
    ('steps = [{ run = "sync", staus = "done" }]\n', "unknown key 'staus'; did you mean 'status'?"),
    ('steps = [{ run = "sync", status = "blockd" }]\n', "did you mean 'blocked'?"),
    ('steps = ["sync"]\n[expect]\nsteps = { 9 = "done" }\n', "'9' is not a step number (1..1)"),
    ('steps = ["sync"]\n[machine]\npmem = "1X"\n', "machine.pmem"),
    ('steps = ["sync"]\n[machine]\npmem = "3M"\n', "multiple of 2M"),
    ('title = "no steps"\n', "needs `steps"),
    ('tags = ["quik"]\nsteps = ["sync"]\n', "did you mean 'quick'?"),
    ('steps = ["sync \'unterminated"]\n', "unterminated ' quote"),
])
def test_errors(text: str, want: str) -> None:
    assert want in err(text)


def test_step_lines_are_the_file_lines() -> None:
    sc = loads('title = "t"\n# story\nsteps = [\n  "mkfs xfs /dev/pmem0",  # one\n\n'
               '  "mount /dev/pmem0 /mnt -o dax",\n  { run = "sync", status = "done" },\n]\n', "f")
    assert [s.lineno for s in sc.steps] == [4, 6, 7]
    assert sc.steps[2].status == "done"


def test_per_kernel_expectations_merge_over_the_base() -> None:
    sc = loads(OK + '[expect]\noutcome = "clean"\ndmesg = ["a"]\n[expect."v4.16"]\noutcome = "corruption"\n'
               'dmesg = ["b"]\n', "f")
    assert sc.kernels() == ["v4.16"]
    ex = sc.expect_for("v4.16")
    assert ex.outcome == "corruption" and ex.dmesg == ["a", "b"]
    assert sc.expect_for("v6.15").outcome == "clean"


def test_runtime_error_is_the_steps_error_status_and_the_run_goes_on() -> None:
    # a well-formed line the state refuses (nothing mapped there) is not bad input
    sc = loads('steps = [\n  "mkfs xfs /dev/pmem0",\n  "pin 0x7f0000000000",\n  "unpin pin1",\n'
               '  "stat /",\n]\n', "g.toml")
    rep = run(sc, "v6.15")
    assert [s.status for s in rep.steps] == ["done", "error", "error", "done"]
    assert rep.ok and not rep.steps[1].usage_error and not rep.steps[2].usage_error


def test_malformed_line_is_invalid_input_with_line() -> None:
    sc = loads('steps = [\n  "mkfs xfs /dev/pmem0",\n  "pin 0xZZ",\n]\n', "g.toml")
    with pytest.raises(ScenarioError, match=r"g.toml:3: step 2 `pin 0xZZ`"):
        run(sc, "v6.15")


def test_expected_error_step_is_not_invalid() -> None:
    sc = loads('steps = [\n  { run = "pin 0x7f0000000000", status = "error" },\n]\n', "g.toml")
    assert run(sc, "v6.15").ok


def test_threads_form_is_judged_by_the_judge_it_is_given() -> None:
    from daxsh.scenario.run import Verdict
    sc = loads('setup = ["mkfs xfs /dev/pmem0"]\n[threads]\na = ["stat /"]\n'
               '[expect]\nverdict = "never"\n', "t.toml")
    seen = []

    def judge(scn, kernel, **limits):  # type: ignore[no-untyped-def]
        seen.append((scn.path, kernel))
        return Verdict("sometimes", "", False, "Sometimes", "Expected: never -> MISMATCH")
    rep = run(sc, "v4.18", judge=judge)
    assert seen == [("t.toml", "v4.18")] and rep.status == "failed" and not rep.steps
    # without a judge nothing can explore: undecided, never "ok"
    rep = run(sc, "v4.18")
    assert rep.status == "undecided" and not rep.ok and rep.verdict is not None
    assert rep.verdict.reason == "no-explorer"
