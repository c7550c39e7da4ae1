"""Time travel, branches, diff, record and the journal, without any UI (daxsh.shell)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from repl_helpers import RACE_2018

from daxsh.kernel import outcomes, views
from daxsh.lang import Session
from daxsh.shell import Journal, Timeline, TimelineError, last_journal, read_journal


def race(tl: Timeline, n: int = len(RACE_2018)) -> None:
    for line in RACE_2018[:n]:
        tl.execute(line)


def test_timeline_imports_no_ui() -> None:
    code = ("import sys, daxsh.shell\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('cmd2', 'prompt_toolkit', 'rich', 'textual'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_numbers_only_state_changing_lines() -> None:
    tl = Timeline("v4.18")
    tl.execute("mkfs xfs /dev/pmem0")
    tl.execute("show pages")          # does not change state
    tl.execute("mmap /mnt/a 8K 0x1001")  # an error changes nothing
    tl.execute("help")
    assert tl.current.lines == ["mkfs xfs /dev/pmem0"]
    assert tl.pos == 1


def test_back_rebuilds_the_state_by_replay() -> None:
    tl = Timeline("v4.18")
    race(tl, 7)
    assert any(not j.task.done for j in tl.session.jobs.values())  # truncate blocked
    blocked = views.waiters(tl.session.k)
    tl.back(1)
    assert tl.pos == 6 and not tl.session.jobs
    assert views.waiters(tl.session.k) == []
    tl.goto("7")
    assert views.waiters(tl.session.k) == blocked
    # the replayed state is the state reached live
    live = Session("v4.18")
    for line in RACE_2018[:7]:
        live.execute(line)
    assert views.pages(tl.session.k) == views.pages(live.k)
    assert views.ptes(tl.session.k) == views.ptes(live.k)


def test_new_command_after_back_starts_a_branch() -> None:
    tl = Timeline("v4.18")
    race(tl)
    tl.back(3)
    assert tl.pos == 5 and not tl.at_tip
    tl.execute("truncate /mnt/a 0")  # no pin this time
    assert tl.branch == "b1"
    assert tl.current.lines == [*RACE_2018[:5], "truncate /mnt/a 0"]
    assert tl.current.parent == "main" and tl.current.fork == 5
    assert tl.branches["main"].lines == RACE_2018  # the old branch stays
    tl.goto("main:6")
    assert tl.branch == "main" and tl.pos == 6
    assert "pin1" in tl.session.k.pins
    tl.goto("b1")
    assert tl.pos == 6 and tl.branch == "b1"
    assert [x[2:].split()[0] for x in tl.branch_list()] == ["main", "b1"]
    assert tl.branch_list()[1].startswith("* b1")


def test_retyping_the_next_line_moves_forward_without_a_branch() -> None:
    tl = Timeline("v4.18")
    race(tl)
    tl.back(2)
    tl.execute(RACE_2018[6])
    assert tl.branch == "main" and tl.pos == 7 and len(tl.branches) == 1


def test_bad_points() -> None:
    tl = Timeline("v4.18")
    race(tl, 3)
    with pytest.raises(TimelineError, match=r"0\.\.3"):
        tl.goto("9")
    with pytest.raises(TimelineError, match="no branch 'zz'"):
        tl.goto("zz:1")
    with pytest.raises(TimelineError, match="only 3"):
        tl.back(4)


def test_history_marks_where_we_are() -> None:
    tl = Timeline("v4.18")
    race(tl, 3)
    tl.back(1)
    h = tl.history()
    assert h[1].startswith(">   2  mount")
    assert "new branch" in h[-1]


def test_diff_shows_pages_ptes_and_waiters() -> None:
    tl = Timeline("v4.18")
    race(tl)
    d = tl.diff("5", "7")
    text = "\n".join(d)
    assert d[0] == "diff main:5 main:7"
    assert "pages:" in text and "waiters:" in text
    assert any(x.startswith("  +truncate:") for x in d)
    assert "+[1] blocked: truncate /mnt/a 0" in text
    assert tl.diff("3", "3")[-1].startswith("  (no difference")


def test_scenario_round_trip(tmp_path: Path) -> None:
    tl = Timeline("v4.18")
    race(tl, 7)
    path = tmp_path / "race.toml"
    tl.write_scenario(path, title="truncate waits for the pin")
    data = tomllib.loads(path.read_text())
    assert list(data)[:4] == ["title", "refs", "kernel", "steps"]
    assert data["kernel"] == "v4.18" and data["steps"] == RACE_2018[:7]
    assert data["machine"] == {"pmem": "1G", "seed": 0}
    assert data["expect"]["outcome"] == outcomes.outcome(tl.session.k).outcome
    s = Session(data["kernel"])
    for line in data["steps"]:
        s.execute(line)
    assert outcomes.outcome(s.k).outcome == data["expect"]["outcome"]


def test_record_uses_the_point_being_viewed(tmp_path: Path) -> None:
    tl = Timeline("v4.18")
    race(tl)
    tl.back(3)
    assert tl.scenario()["steps"] == RACE_2018[:5]


def test_journal_rebuilds_branches_and_position(tmp_path: Path) -> None:
    j = Journal.new(tmp_path)
    try:
        tl = Timeline("v4.18", journal=j)
        race(tl)
        tl.back(3)
        tl.execute("truncate /mnt/a 0")
        tl.goto("main:7")
    finally:
        j.close()
    assert last_journal(tmp_path) == j.path
    recs, _note = read_journal(j.path)
    assert recs[0]["daxsh_journal"] == 1 and recs[0]["kernel"] == "v4.18"
    with open(j.path, "a") as f:
        f.write('{"exec": "trunc')  # torn by a kill mid-write
    back = Timeline.from_journal(j.path)
    assert (back.branch, back.pos) == ("main", 7)
    assert back.branches["b1"].lines == tl.branches["b1"].lines
    assert views.waiters(back.session.k) == views.waiters(tl.session.k)
    assert json.loads(j.path.read_text().splitlines()[1]) == {"exec": RACE_2018[0]}


def test_reset_is_journaled(tmp_path: Path) -> None:
    j = Journal.new(tmp_path)
    try:
        tl = Timeline("v4.18", journal=j)
        race(tl, 2)
        tl.reset("v6.14", 2 << 30, 3)
        tl.execute("mkfs xfs /dev/pmem0")
    finally:
        j.close()
    back = Timeline.from_journal(j.path)
    assert back.kernel_spec.split()[0] == "v6.14" and back.pmem == 2 << 30 and back.seed == 3
    assert back.current.lines == ["mkfs xfs /dev/pmem0"]


def test_interrupted_command_is_recovered(monkeypatch: pytest.MonkeyPatch) -> None:
    tl = Timeline("v4.18")
    race(tl, 6)
    before = (views.pages(tl.session.k), views.inodes(tl.session.k))

    def boom(*a: object, **k: object) -> None:
        raise KeyboardInterrupt
    monkeypatch.setattr(tl.session.k, "run", boom)
    with pytest.raises(KeyboardInterrupt):
        tl.execute("truncate /mnt/a 0")  # spawned a task, then ^C
    assert tl.dirty
    tl.recover()
    assert not tl.dirty and not tl.session.jobs
    assert (views.pages(tl.session.k), views.inodes(tl.session.k)) == before
    assert tl.current.lines == RACE_2018[:6]
    assert tl.execute("truncate /mnt/a 0").status == "blocked"


def _state(s: Session) -> dict[str, object]:
    """What a machine is, to compare with another (taken before the timeline retires it)."""
    out: dict[str, object] = {"counters": (s.k.next_pid, s.k.trace_buf.seq, s.k.clock.now)}
    for v in ("pages", "ptes", "inodes", "waiters", "blocks"):
        out[v] = getattr(views, v)(s.k)
    return out


def _same(a: dict[str, object], b: Session) -> None:
    sb = _state(b)
    for v in a:
        assert a[v] == sb[v], v


NOISY = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
         "truncate /mnt/nofile 0", "stat /mnt/a", "mmap /mnt/a 64K",
         "touch 0x7f0000000000 64K --write", "pin 0x7f0000000000 4K", "read /mnt/zz 0 4K",
         "truncate /mnt/a 0", "ls /mnt"]


def test_lines_that_reach_the_kernel_without_changing_state_replay_too(tmp_path: Path) -> None:
    """stat/ls/failed syscalls use pids and trace events: replays must run them again."""
    j = Journal.new(tmp_path)
    try:
        tl = Timeline("v4.18", journal=j)
        for line in NOISY:
            tl.execute(line)
        assert len(tl.current.lines) == 7  # the numbered ones
        live = _state(tl.session)
        _same(live, tl.state_at(tl.parse_point("main")))
        tl.back(4)
        tl.goto("main")  # forward again, by replay
        _same(live, tl.session)
    finally:
        j.close()
    _same(live, Timeline.from_journal(j.path).session)


def test_a_hidden_line_in_the_past_goes_with_the_new_branch() -> None:
    tl = Timeline("v4.18")
    for line in NOISY:
        tl.execute(line)
    tl.back(3)
    tl.execute("stat /mnt/a")  # reaches the kernel while looking at the past
    tl.execute(tl.branches["main"].lines[5])  # the same next line, but the state differs
    assert tl.branch == "b1"
    live = _state(tl.session)
    _same(live, tl.state_at(tl.parse_point("b1")))
    tl.goto("main:5")
    assert tl.loose == []


def test_old_journals_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from daxsh.shell import _journal as timeline
    monkeypatch.setattr(timeline, "KEEP_JOURNALS", 3)
    made = []
    for i in range(5):
        j = Journal.new(tmp_path, clock=lambda i=i: 1_700_000_000 + i * 60)
        j.close()
        made.append(j.path)
    assert sorted((tmp_path / "sessions").glob("*.jsonl")) == made[2:]
    assert last_journal(tmp_path) == made[-1]
