"""The headless core under the shell and the screen: journal, resume, replay, record and
completion, with no front-end (issue: one headless shell core; lost-data paths)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import race_steps

from daxsh.kernel import views
from daxsh.shell import (
    Core,
    Journal,
    JournalBusy,
    Kind,
    Status,
    Timeline,
    last_journal,
    open_session,
    read_journal,
)

ROOT = Path(__file__).resolve().parents[2]
RACE = [*race_steps.RACE_2018, "unpin pin1"]
SCENARIO = str(ROOT / "scenarios" / "2018-dma-vs-truncate-xfs.toml")


def run_all(core: Core, lines: list[str]) -> None:
    for x in lines:
        r = core.run(x)
        assert r.status not in (Status.BUG, Status.INTERRUPTED), r.text()


def kinds(reply: object) -> list[Kind]:
    return [i.kind for i in reply.items]  # type: ignore[attr-defined]


# -- the journal ---------------------------------------------------------------------------


def test_journal_is_append_only_and_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    j = Journal.new(tmp_path)
    flags = __import__("fcntl").fcntl(j._fd, __import__("fcntl").F_GETFL)
    assert flags & os.O_APPEND
    j.header("v4.18", 1 << 30, 0)
    j.write({"exec": "mkfs xfs /dev/pmem0"})
    assert len(synced) == 2
    j.close()


def test_a_second_shell_cannot_open_the_same_journal(tmp_path: Path) -> None:
    j = Journal.new(tmp_path)
    with pytest.raises(JournalBusy, match="open in another daxsh shell"):
        Journal(j.path)
    j.close()
    Journal(j.path).close()  # free again once the first shell is gone


def test_two_resumes_never_append_into_one_journal(tmp_path: Path) -> None:
    a, _ = open_session("v4.18", state=tmp_path)
    run_all(a, RACE[:6])
    first = a.tl.journal.path
    b, notes = open_session(resume=True, state=tmp_path)
    assert any("open in another shell; resuming a copy" in n for n in notes), notes
    assert b.tl.journal.path != first
    assert b.tl.current.lines == RACE[:6]
    run_all(b, ["truncate /mnt/a 0"])
    run_all(a, ["rm /mnt/a"])
    recs_a, _ = read_journal(first)
    assert [r.get("exec") for r in recs_a[1:]] == [*RACE[:6], "rm /mnt/a"]
    recs_b, _ = read_journal(b.tl.journal.path)
    assert recs_b[-1] == {"exec": "truncate /mnt/a 0"}
    a.tl.journal.close()
    b.tl.journal.close()


def test_a_torn_last_line_is_dropped_and_the_next_record_starts_clean(tmp_path: Path) -> None:
    a, _ = open_session("v4.18", state=tmp_path)
    run_all(a, RACE[:3])
    path = a.tl.journal.path
    a.tl.journal.close()
    with open(path, "ab") as f:
        f.write(b'{"exec": "mmap /mn')  # killed mid-write
    b, notes = open_session(resume=True, state=tmp_path)
    assert b.tl.journal.path == path and b.tl.current.lines == RACE[:3], notes
    run_all(b, [RACE[3]])
    b.tl.journal.close()
    recs, note = read_journal(path)
    assert note == "" and [r.get("exec") for r in recs[1:]] == RACE[:4]


def test_a_damaged_line_keeps_what_is_before_it_and_the_file(tmp_path: Path) -> None:
    a, _ = open_session("v4.18", state=tmp_path)
    run_all(a, RACE[:5])
    path = a.tl.journal.path
    a.tl.journal.close()
    lines = path.read_bytes().split(b"\n")
    lines[3] = b'{"exec": 42}'  # a record of the wrong shape in the middle
    path.write_bytes(b"\n".join(lines))
    b, notes = open_session(resume=True, state=tmp_path)
    assert b.tl.current.lines == RACE[:2]
    assert any("cannot be applied" in n for n in notes), notes
    assert b.tl.journal.path != path and path.read_bytes() == b"\n".join(lines)
    b.tl.journal.close()
    lines[3] = b"\x00garbage"
    path.write_bytes(b"\n".join(lines))
    recs, note = read_journal(path)
    assert len(recs) == 3 and "line 4 is damaged" in note


def test_a_full_disk_is_said_once_and_not_called_a_bug(tmp_path: Path) -> None:
    tl = Timeline("v4.18")
    tl.journal = Journal(Path("/dev/full"))
    core = Core(tl)
    r = core.run("mkfs xfs /dev/pmem0")
    assert r.status == Status.DONE
    warn = [i.text for i in r.items if i.kind == Kind.WARNING]
    assert warn and "No space left on device" in warn[0] and "no longer journaled" in warn[0]
    r2 = core.run("mount /dev/pmem0 /mnt -o dax")
    assert r2.status == Status.DONE and Kind.WARNING not in kinds(r2)
    assert "journal:" not in " ".join(core.run("quit").text())


def test_an_unusable_state_directory_still_starts_a_session(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    core, notes = open_session("v4.18")
    assert core.tl.journal is None and core.journal_path is None
    assert any("state directory cannot be used" in n for n in notes), notes
    assert core.run("mkfs xfs /dev/pmem0").status == Status.DONE
    _core2, notes2 = open_session(resume=True)
    assert any("no session to resume" in n for n in notes2)


def test_repl_starts_with_an_unusable_state_directory(tmp_path: Path) -> None:
    pytest.importorskip("pexpect")
    import pexpect
    blocker = tmp_path / "file"
    blocker.write_text("x")
    child = pexpect.spawn(sys.executable, ["-m", "daxsh", "--kernel", "v4.18"], cwd=str(ROOT),
                          encoding="utf-8", dimensions=(50, 200), timeout=30,
                          env={**os.environ, "XDG_STATE_HOME": str(blocker), "NO_COLOR": "1",
                               "PROMPT_TOOLKIT_NO_CPR": "1"})
    child.delaybeforesend = None
    child.expect("not journaled")
    child.expect(r"v4\.18 sh:/>")
    child.sendline("ls /")
    child.expect("mnt/")
    child.expect(r"v4\.18 sh:/>")
    child.send("\x04")  # Ctrl-D
    child.expect(pexpect.EOF)
    assert "Traceback" not in (child.before or "")


# -- replay, record ---------------------------------------------------------------------------


def test_replay_at_the_prompt_keeps_the_session_and_its_branches() -> None:
    core = Core(Timeline("v6.14"))
    run_all(core, RACE[:6])
    core.run("back 2")
    run_all(core, ["create /mnt/z 4K"])
    assert set(core.tl.branches) == {"main", "b1"}
    r = core.run(f"replay {SCENARIO}")
    assert "branch r1" in " ".join(r.text()) and "the branches before it stay" in " ".join(r.text())
    assert set(core.tl.branches) == {"main", "b1", "r1"} and core.tl.branch == "r1"
    assert core.tl.kernel_spec.startswith("v4.16")
    core.run("goto main")
    assert core.tl.current.lines == RACE[:6] and core.tl.kernel_spec == "v6.14"
    assert "pin1" in core.session.k.pins


def test_replay_survives_resume(tmp_path: Path) -> None:
    a, _ = open_session("v6.14", state=tmp_path)
    run_all(a, RACE[:3])
    a.run(f"replay {SCENARIO} v4.18")
    want = (a.tl.branch, a.tl.pos, sorted(a.tl.branches), views.pages(a.session.k))
    a.tl.journal.close()
    b, _ = open_session(resume=True, state=tmp_path)
    assert (b.tl.branch, b.tl.pos, sorted(b.tl.branches), views.pages(b.session.k)) == want
    b.tl.journal.close()


def test_record_does_not_follow_a_symlink_at_a_temporary_path(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    target = tmp_path / "race.toml"
    for name in ("race.toml.tmp", ".race.toml.tmp"):
        (tmp_path / name).symlink_to(victim)
    core = Core(Timeline("v4.18"))
    run_all(core, RACE[:3])
    r = core.run(f"record {target}")
    assert r.status == Status.DONE, r.text()
    assert victim.read_text() == "keep me\n"
    assert tomllib.loads(target.read_text())["steps"] == RACE[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".race.toml.tmp", "race.toml",
                                                          "race.toml.tmp", "victim"]


def test_record_into_a_missing_directory_is_refused(tmp_path: Path) -> None:
    core = Core(Timeline("v4.18"))
    r = core.run(f"record {tmp_path}/nodir/x.toml")
    assert r.status == Status.ERROR and "no directory" in r.text()[0]
    assert core.recording is None


def test_a_point_with_a_non_ascii_digit_is_an_error_not_a_traceback() -> None:
    core = Core(Timeline("v4.18"))
    for line in ("goto ²", "goto main:²", "back ²", "diff ² 0"):
        r = core.run(line)
        assert r.status == Status.ERROR, (line, r.text())


def test_unknown_commands_hint_at_the_shells_own() -> None:
    core = Core(Timeline("v4.18"))
    assert "did you mean 'replay'" in core.run("replya x").text()[-1]
    assert "did you mean 'branches'" in core.run("branchs").text()[-1]
    assert "`wait %N`" in core.run("fg").text()[-1]


def test_shell_commands_take_comments() -> None:
    core = Core(Timeline("v4.18"))
    run_all(core, RACE[:2])
    r = core.run("goto 1  # back to the mkfs")
    assert r.status == Status.DONE and core.tl.pos == 1


@pytest.mark.parametrize(("name", "data", "msg"), [
    ("deep.toml", b'steps = ["ls"]\nx = ' + b"[" * 500 + b"]" * 500 + b"\n", "nested too deeply"),
    ("bad.toml", b'steps = ["ls"]\n[expect.steps]\n"\xc2\xb2" = "done"\n', "not a step number"),
    ("lines.txt", b"ls\n\xff\n", "not UTF-8 text")])
def test_tui_on_a_file_that_does_not_load_exits_2(tmp_path: Path, name: str, data: bytes,
                                                  msg: str) -> None:
    bad = tmp_path / name
    bad.write_bytes(data)
    r = subprocess.run([sys.executable, "-m", "daxsh", "tui", "--no-journal", str(bad)],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr


def test_journal_records_are_json_lines(tmp_path: Path) -> None:
    core, _ = open_session("v4.18", state=tmp_path)
    run_all(core, ["mkfs xfs /dev/pmem0", "stat /mnt"])
    core.tl.journal.close()
    p = last_journal(tmp_path)
    assert p is not None
    for raw in p.read_text().splitlines():
        assert isinstance(json.loads(raw), dict)


def test_record_after_a_kernel_switch_and_after_replay_replays_to_the_same_state(
        tmp_path: Path) -> None:
    from daxsh.lang import Session
    from daxsh.scenario.load import load

    def recorded(name: str) -> dict:  # type: ignore[type-arg]
        path = tmp_path / name
        assert core.run(f"record {path}").status == Status.DONE
        core.run("record stop")
        sc = load(path)
        s = Session(sc.kernels()[0], sc.pmem, sc.seed)
        for step in sc.steps:
            s.execute(step.line)
        assert s.k.config.spec == core.session.k.config.spec
        assert views.inodes(s.k) == views.inodes(core.session.k)
        assert checks_outcome(s) == checks_outcome(core.session)
        return tomllib.loads(path.read_text())

    core = Core(Timeline("v4.18"))
    run_all(core, [*RACE[:6], "kernel v6.15", "mount /dev/pmem0 /mnt -o dax", "create /mnt/b 4K"])
    assert recorded("a.toml")["kernel"] == "v4.18"  # the kernel line is a step of its own
    core.run(f"replay {SCENARIO} v4.16")  # a new root branch on its own kernel
    assert recorded("b.toml")["kernel"] == "v4.16"


def checks_outcome(s: object) -> str:
    from daxsh.kernel import outcomes
    return outcomes.outcome(s.k).outcome  # type: ignore[attr-defined]


@pytest.mark.parametrize("line", ["reboot", "kernel v6.1", "fsx /mnt/a 10"])
def test_explore_refuses_machine_commands_in_a_thread(line: str) -> None:
    core = Core(Timeline("v4.18"))
    run_all(core, [*RACE[:3]])
    r = core.run(f"explore --thread '{line}'")
    assert r.status == Status.ERROR and "cannot run inside a thread" in r.text()[-1]
    assert core.tl.current.lines == RACE[:3]


SLEEPER = [  # leaves truncate asleep in the kernel, its clean-up re-taking a lock when ended
    "mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax=inode", "create /mnt/a 64K",
    "chattr +x /mnt/a", "mmap /mnt/a 64K", "touch 0x7f0000000000 --write",
    "pin 0x7f0000000000", "munmap 0x7f0000000000", "truncate /mnt/a 0 &", "chattr -x /mnt/a",
]


def test_time_travel_retires_the_machines_it_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    """back, goto, diff and a recovery throw machines away with a task asleep in the kernel:
    each is retired at once (its tasks ended, their clean-up run), so the garbage collector
    finds nothing to finalize and nothing is reported as unraisable."""
    seen: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    core = Core(Timeline("v6.15"))
    run_all(core, SLEEPER)
    top = f"main:{len(SLEEPER)}"
    moves = ["back", f"goto {top}", "back 2", f"goto {top}", "goto 3", f"goto {top}",
             "diff 4", "recover", "back 1", f"goto {top}"] * 3
    replaced = 0
    for move in moves:
        old = core.tl.session
        tasks = list(old.k.sched.tasks)
        assert all(t.gen is not None and t.gen.gi_frame is not None for t in tasks)
        if move == "recover":  # what ^C or a daxsh bug in a command does
            core.tl.recover()
        else:
            r = core.run(move)
            assert r.status == Status.DONE, r.text()
        if core.tl.session is old:  # diff's machines are its own; goto forward replays here
            assert move.startswith(("diff", "goto main")) and not old.k.sched.retired
        else:
            assert old.k.sched.retired and not old.k.sched.tasks
            assert all(t.gen is None and t.done for t in tasks)
            replaced += bool(tasks)
        gc.collect()
    assert replaced >= 10 and seen == []
    r = core.run("jobs")
    assert r.status == Status.DONE and "[1] blocked: truncate /mnt/a 0" in r.text()[0]
    run_all(core, ["unpin pin1", "wait"])
    assert core.tl.session.k.sched.tasks == []
    gc.collect()
    assert seen == []


def test_a_closed_core_leaves_nothing_for_the_interpreter_exit() -> None:
    """The front-ends close the core when they end: a task still asleep in the kernel is
    ended then, so nothing is reported as the interpreter exits."""
    child = ("import sys; sys.path.insert(0, sys.argv[1]); from daxsh.shell import Core, Timeline; "
             "core = Core(Timeline('v6.15')); "
             "rs = [core.run(x) for x in sys.argv[2:]]; "
             "assert rs[-2].status == 'blocked', rs[-2].text(); core.close()")
    p = subprocess.run([sys.executable, "-c", child, str(ROOT), *SLEEPER], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and p.stderr == "", p.stderr
