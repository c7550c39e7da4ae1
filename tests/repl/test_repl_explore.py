"""`explore` at the prompt: decide the race from the session's state; a bad interleaving opens
as a new branch that the timeline can record."""

import contextlib
import io

import pytest

from daxsh.repl.app import DaxShell
from daxsh.shell import Core, Timeline

SETUP = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
         "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write", "start truncate /mnt/a 0"]
RACE = "explore --bad corruption --thread 'pin 0x7f0000000000 4K; create /mnt/b 64K; dma pin1'"


def shell(kernel: str) -> tuple[DaxShell, io.StringIO]:
    out = io.StringIO()
    sh = DaxShell(Core(Timeline(kernel)), stdout=out)
    for line in SETUP:
        sh.onecmd_plus_hooks(line)
    return sh, out


def test_explore_finds_the_2018_race_and_opens_it_as_a_branch() -> None:
    sh, out = shell("v4.16")
    main_lines = list(sh.tl.lines)
    sh.onecmd_plus_hooks(RACE)
    text = out.getvalue()
    assert "Sometimes  (Positive:" in text
    assert sh.tl.branch == "b1" and sh.tl.lines[:len(main_lines)] == main_lines
    from daxsh.kernel.outcomes import outcome
    assert outcome(sh.tl.session.k).outcome == "corruption"
    sh.onecmd_plus_hooks("goto main")
    assert outcome(sh.tl.session.k).outcome == "clean"


def test_explore_says_never_on_the_fixed_kernel_and_changes_nothing() -> None:
    sh, out = shell("v4.18")
    before = list(sh.tl.lines)
    sh.onecmd_plus_hooks(RACE)
    assert "Never  (Positive: 0" in out.getvalue()
    assert sh.tl.branch == "main" and sh.tl.lines == before


def test_explore_with_nothing_to_interleave_says_how() -> None:
    out, err = io.StringIO(), io.StringIO()
    sh = DaxShell(Core(Timeline("v6.15")), stdout=out)
    with contextlib.redirect_stderr(err):
        sh.onecmd_plus_hooks("explore")
        sh.onecmd_plus_hooks("explore --bad nope --thread sync")
    assert "nothing to interleave" in err.getvalue()
    assert "--bad 'nope' is not a bad outcome (one of: corruption" in err.getvalue()


PINNED = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 4K",
          "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write", "start truncate /mnt/a 0"]
FREED = ("explore --query 'show blocks' --contains freed-while-pinned "
         "--thread 'pin 0x7f0000000000 4K; unpin pin1'")


def test_explore_with_a_condition_on_the_final_state() -> None:
    """scenarios/threads/truncate-frees-pinned-block.toml from a live session: every execution
    is clean, the query on the final state is what makes one bad."""
    for kernel, verdict in (("v4.16", "Sometimes"), ("v4.18", "Never")):
        out = io.StringIO()
        sh = DaxShell(Core(Timeline(kernel)), stdout=out)
        for line in PINNED:
            sh.onecmd_plus_hooks(line)
        sh.onecmd_plus_hooks(FREED)
        text = out.getvalue()
        assert f"{verdict}  (Positive:" in text
        assert "bad: `show blocks` shows 'freed-while-pinned'" in text
        if verdict == "Sometimes":
            assert sh.tl.branch == "b1"
            mark = len(out.getvalue())
            sh.onecmd_plus_hooks("show blocks")
            assert "freed-while-pinned" in out.getvalue()[mark:]
        else:
            assert sh.tl.branch == "main"


@pytest.mark.parametrize("args,msg", [
    ("--query 'show blocks'", "a query needs --contains 'TEXT' or --lacks 'TEXT'"),
    ("--contains x", "--contains/--lacks need --query 'COMMAND'"),
    ("--query 'truncate /mnt/a 0' --contains x", "--query 'truncate /mnt/a 0': a query is one "
     "command that reads the state"),
    ("--dmesg ''", "--dmesg must be a non-empty string"),
    ("--dmesg", "--dmesg needs a value"),
    ("--outcome corruption", "unexpected '--outcome' (options: --bad, --dmesg, --query"),
])
def test_explore_bad_conditions_are_checked_before_anything_runs(args: str, msg: str) -> None:
    sh, out = shell("v4.16")
    before = list(sh.tl.lines)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        sh.onecmd_plus_hooks(f"explore {args} --thread 'pin 0x7f0000000000 4K'")
    assert msg in err.getvalue()
    assert "usage: explore [--bad OUTCOME]" in err.getvalue()
    assert sh.tl.lines == before and "Positive" not in out.getvalue()
