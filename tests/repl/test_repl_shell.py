"""The cmd2 shell through its programmatic interface: dispatch, prompt, jobs, help, safety,
time travel, record/replay, journal and resume, Ctrl-C."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from repl_helpers import RACE_2018, make

pytest.importorskip("cmd2")


def race(shell: Any, n: int = len(RACE_2018)) -> list[str]:
    return [shell.out(x) for x in RACE_2018[:n]]


def test_lines_go_to_the_registry(shell: Any) -> None:
    assert "xfs on /dev/pmem0" in shell.out("mkfs xfs /dev/pmem0")
    assert shell.tl.session.executed == ["mkfs xfs /dev/pmem0"]
    # quoting, comments and & are the daxsh lexer's, not cmd2's
    shell.out("mount /dev/pmem0 /mnt -o dax  # with a comment")
    assert shell.out("ls '/mnt' &").startswith("[1] ")


def test_prompt_shows_kernel_process_cwd_and_blocked_jobs(shell: Any) -> None:
    assert shell.prompt == "v4.18 sh:/> "
    race(shell, 2)
    shell.out("cd /mnt")
    assert shell.prompt == "v4.18 sh:/mnt> "
    for x in RACE_2018[2:7]:
        shell.out(x)
    assert shell.prompt == "v4.18 sh:/mnt [1 blocked]> "
    shell.out("start truncate /mnt/a 4K")
    assert "1 stopped" in shell.prompt
    shell.out("back 2")
    assert shell.prompt == "v4.18 sh:/mnt main@7/9> "  # cd counts: it changes the process
    kernel = make(shell.app.tl.journal.path.parent.parent, kernel="v6.14 -mf-mem-pre-remove")
    try:
        assert kernel.prompt.startswith("v6.14 sh:/")
    finally:
        kernel.close()


def test_blocking_command_returns_the_prompt_and_done_is_noticed(shell: Any) -> None:
    outs = race(shell, 7)
    assert outs[6].startswith("[1] blocked: truncate /mnt/a 0 — wait_var_event(page pfn")
    assert "holds i_rwsem (W)" in outs[6]
    assert "[1] blocked: truncate" in shell.out("jobs")
    out = shell.out("unpin pin1")
    assert "[1]+ Done  truncate /mnt/a 0" in out
    assert "[" not in shell.prompt


def test_error_has_a_caret_and_changes_nothing(shell: Any) -> None:
    race(shell, 3)
    before = list(shell.tl.session.executed)
    out, err = shell.run("mmap /mnt/a 8K 0x1001")
    assert out == ""
    assert err.splitlines() == ["  mmap /mnt/a 8K 0x1001", "                 ^^^^^^",
                                "mmap: offset must be page aligned (a multiple of 4K), e.g. 0x1000"]
    assert shell.tl.session.executed == before


def test_output_is_plain_when_not_a_terminal(shell: Any) -> None:
    race(shell, 7)
    for line in ("jobs", "help", "unpin pin1", "history", "nosuch"):
        assert "\x1b" not in shell.out(line)


@pytest.mark.parametrize("line", ["!ls", "shell ls", "edit x", "py print(1)", "ipy",
                                  "run_pyscript x.py", "run_script x.txt", "@x.txt", "@@x.txt",
                                  "_relative_run_script x", "macro create m ls",
                                  "alias create a ls", "set editor vi", "shortcuts"])
def test_builtins_that_reach_outside_are_gone(shell: Any, line: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _out, err = shell.run(line)
    assert "unknown command" in err
    assert list(tmp_path.iterdir()) == [tmp_path / "state"]
    app = shell.app
    assert app.allow_redirection is False and "editor" not in app.settables
    for name in ("shell", "edit", "py", "ipy", "run_pyscript", "run_script",
                 "_relative_run_script", "macro", "alias", "set", "shortcuts"):
        assert app.get_command_func(name) is None
    for name in ("help", "history", "quit"):  # the core's commands, not cmd2's
        assert app.get_command_func(name) is None


def test_redirection_does_nothing(shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _out, err = shell.run("help > out.txt")
    _out2, err2 = shell.run("jobs | sh -c 'touch pwned'")
    assert not (tmp_path / "out.txt").exists() and not (tmp_path / "pwned").exists()
    assert "help" in err or "unexpected" in err
    assert "jobs" in err2


def test_help_lists_groups_and_shell_commands(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = shell.out("help")
    lines = out.splitlines()
    assert len(lines) <= 30 and max(len(x) for x in lines) < 80, lines
    for head in ("devices", "filesystems", "jobs and stepping", "shell (here only)"):
        assert any(x.startswith(f"  {head} ") for x in lines), head
    assert " back " in out and " truncate " in out
    one = shell.out("help truncate")
    assert one.startswith("usage: truncate FILE SIZE")
    assert "example:" in one and "kernel functions:" in one
    assert all(len(x) < 80 for x in one.splitlines())
    assert "usage: goto N | BRANCH:N | BRANCH" in shell.out("help goto")
    assert all(len(x) < 80 for x in shell.out("help explore").splitlines())
    _o, err = shell.run("help trunacte")
    assert "did you mean 'truncate'" in err


def test_history_back_goto_branches(shell: Any) -> None:
    race(shell)
    h = shell.out("history").splitlines()
    assert h[0] == "    1  mkfs xfs /dev/pmem0" and h[-1] == ">   8  unpin pin1"
    out = shell.out("back 3")
    assert out.startswith("at main:5 of 8: touch 0x7f0000000000 64K --write")
    assert "pin1" not in shell.tl.session.k.pins
    out = shell.out("goto 7")
    assert "[1] blocked: truncate /mnt/a 0" in out
    shell.out("back")
    shell.out("truncate /mnt/a 4K")  # a different command: branch b1
    br = shell.out("branches").splitlines()
    assert br[0].startswith("  main") and br[1].startswith("* b1")
    assert "from main after 6" in br[1]
    assert shell.out("goto main:8").startswith("at main:8 of 8: unpin pin1")
    _o, err = shell.run("goto 12")
    assert "main has points 0..8" in err
    _o, err = shell.run("back x")
    assert "usage: back [K]" in err


def test_diff_between_points(shell: Any) -> None:
    race(shell)
    out = shell.out("diff 6 7")
    assert out.startswith("diff main:6 main:7")
    assert "waiters:" in out and "+[1] blocked" in out
    out_here = shell.out("diff 7")  # against where we are (8)
    assert "-[1] blocked" in out_here


def test_record_writes_a_scenario_that_replays(shell: Any, tmp_path: Path) -> None:
    race(shell)
    shell.out("back 1")
    path = tmp_path / "race.toml"
    out = shell.out(f"record {path} --title 'truncate vs pin' --ref https://lore.kernel.org/x")
    assert "recorded 7 steps" in out
    data = tomllib.loads(path.read_text())
    assert data["title"] == "truncate vs pin" and data["refs"] == ["https://lore.kernel.org/x"]
    assert data["steps"] == RACE_2018[:7] and data["kernel"] == "v4.18"
    assert data["expect"]["outcome"] == "hung"
    shell.out("unpin pin1")  # kept up to date while recording
    assert tomllib.loads(path.read_text())["steps"] == RACE_2018
    assert "stopped recording" in shell.out("record stop")
    shell.out("sync")
    assert tomllib.loads(path.read_text())["steps"] == RACE_2018
    _o, err = shell.run("record notes.txt")
    assert "ends in .toml" in err


@pytest.mark.parametrize("back", [0, 1, 3])
def test_recorded_file_passes_daxsh_run(shell: Any, tmp_path: Path, back: int,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    race(shell)
    if back:
        shell.out(f"back {back}")
    path = tmp_path / "r.toml"
    shell.out(f"record {path}")
    from daxsh.cli import main
    capsys.readouterr()
    assert main(["run", str(path)]) == 0, capsys.readouterr().out


def test_replay_stops_at_the_blocking_step_and_goes_on(shell: Any, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('title = "t"\nkernel = "v4.18"\nsteps = ' +
                    repr(RACE_2018).replace("'", '"') + '\n[machine]\npmem = "2G"\n')
    out = shell.out(f"replay {path}")
    assert "replay stopped: that step blocked; `replay` runs the 1 step(s) left" in out
    assert shell.tl.pmem == 2 << 30 and shell.tl.pos == 7
    assert "[1 blocked]" in shell.prompt
    shell.out("why")
    out = shell.out("replay")
    assert "[1]+ Done" in out and "replayed" in out and "outcome clean" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('steps = ["mkfs xfs /dev/pmem0"]\nshell = "rm -rf /"\n')
    _o, err = shell.run(f"replay {bad}")
    assert "unknown key 'shell'" in err


def test_completion_through_cmd2(shell: Any) -> None:
    race(shell, 7)

    def comp(line: str) -> list[str]:
        b = len(line) - len(line.split(" ")[-1])
        return list(shell.app.complete(line[b:], line, b, len(line)).to_strings())
    assert comp("trun") == ["truncate"]
    assert comp("unpin ") == ["pin1"]
    assert comp("wait ") == ["%1"]
    assert comp("mmap /mnt/") == ["/mnt/a"]
    assert comp("go") == ["goto"]
    assert comp("goto ") == ["main:"]
    assert comp("help bra") == ["branches"]
    assert shell.app.complete("/m", "cd /m", 3, 5).allow_finalization is False  # a directory


def test_ctrl_c_restores_the_state_before_the_command(shell: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    race(shell, 6)
    k = shell.tl.session.k

    def boom(*a: object, **kw: object) -> None:
        raise KeyboardInterrupt
    monkeypatch.setattr(k, "run", boom)
    _o, err = shell.run("truncate /mnt/a 0")
    assert "^C: interrupted; the machine is as it was before `truncate /mnt/a 0`" in err
    assert shell.tl.session.k is not k and not shell.tl.session.jobs
    assert shell.tl.current.lines == RACE_2018[:6]
    assert "[1] blocked" in shell.out("truncate /mnt/a 0")


def test_journal_and_resume(state: Path) -> None:
    a = make(state)
    race(a, 7)
    a.out("back 2")
    path = a.tl.journal.path
    out = a.out("_eof")
    assert f"journal: {path}" in out
    a.close()
    b = make(state, resume=True)
    try:
        assert "resumed" in b.app.intro and str(path) in b.app.intro
        assert (b.tl.branch, b.tl.pos) == ("main", 5)
        b.out("goto 7")
        assert b.prompt == "v4.18 sh:/ [1 blocked]> "
        b.out("unpin pin1")
    finally:
        b.close()
    c = make(state, resume=True)
    try:
        assert c.tl.current.lines == RACE_2018
    finally:
        c.close()


def test_resume_without_a_journal_starts_fresh(state: Path) -> None:
    d = make(state, resume=True)
    try:
        assert "no session to resume" in d.app.intro
        assert d.prompt == "v4.18 sh:/> "
    finally:
        d.close()


class _Tty:
    """A stdout that says it is a terminal."""

    def __init__(self) -> None:
        import io
        self.buf = io.StringIO()

    def write(self, s: str) -> int:
        return self.buf.write(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("no_color", [False, True])
def test_colour_on_a_terminal_unless_no_color(state: Path, monkeypatch: pytest.MonkeyPatch,
                                              no_color: bool) -> None:
    import cmd2
    monkeypatch.setattr(cmd2.rich_utils, "ALLOW_STYLE", cmd2.rich_utils.ALLOW_STYLE)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    d = make(state)
    try:
        race(d, 7)
        tty = _Tty()
        d.app.stdout = tty
        d.app.onecmd_plus_hooks("unpin pin1")
        text = tty.buf.getvalue()
        assert "[1]+ Done  truncate /mnt/a 0" in text
        assert ("\x1b[" in text) is not no_color
    finally:
        d.close()


def test_tui_opens_the_screen_on_the_same_timeline(shell: Any) -> None:
    seen: dict[str, Any] = {}

    def screen(core: Any) -> None:  # what daxsh.cli hands the shell: the screen over its core
        seen["core"] = core
        core.run("mkfs xfs /dev/pmem0")  # typed on the screen

    shell.app.core.screen = screen
    out = shell.out("tui")
    assert seen["core"] is shell.app.core and seen["core"].tl is shell.tl
    assert "back from the screen at main:1" in out
    assert shell.out("history").strip() == ">   1  mkfs xfs /dev/pmem0"


def test_tui_without_a_screen_says_so(shell: Any) -> None:
    _o, err = shell.run("tui")
    assert "the live screen is not available here" in err


def test_a_daxsh_bug_is_reported_and_loses_nothing(shell: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    race(shell, 6)

    def bug(*a: object, **kw: object) -> None:
        raise AttributeError("no such field")
    monkeypatch.setattr(shell.tl.session.k, "run", bug)
    _o, err = shell.run("truncate /mnt/a 0")
    assert "daxsh bug: AttributeError: no such field" in err
    assert shell.tl.current.lines == RACE_2018[:6] and not shell.tl.session.jobs
    assert "[1] blocked" in shell.out("truncate /mnt/a 0")


@pytest.mark.parametrize(("kernel", "pmem", "msg"), [
    ("v9.99", None, "v9.99"), ("v6.14", "3", "--pmem 3"), ("v6.14", "lots", "lots")])
def test_bad_arguments_exit_2_and_leave_no_journal(state: Path, kernel: str, pmem: str | None,
                                                   msg: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from daxsh.repl import main
    assert main(argparse.Namespace(kernel=kernel, pmem=pmem, seed=0, resume=False)) == 2
    assert msg in capsys.readouterr().err
    assert not (state / "sessions").exists()
