"""`bisect`, `trace save` and pasted shell lines are the core's, so the shell and the screen
both have them (a reply's items, with no front-end)."""

from __future__ import annotations

import json
from pathlib import Path

import race_steps

from daxsh.shell import Core, Kind, Status, Timeline


def test_pasted_shell_lines_are_translated_once_each_and_journaled_as_daxsh() -> None:
    core = Core(Timeline("v4.18"))
    r = core.run("mkfs.xfs -f -m rmapbt=0 /dev/pmem0")
    shown = [i.text for i in r.items if i.kind == Kind.TRANSLATED]
    assert shown == ["(shell) -> mkfs -m rmapbt=0 xfs /dev/pmem0"] and r.status == Status.DONE
    assert core.tl.lines == ["mkfs -m rmapbt=0 xfs /dev/pmem0"]  # the daxsh line is what replays
    core.run("mkdir -p /mnt/d")
    r = core.run("mount -o dax /dev/pmem0 /mnt/d")  # a daxsh line too: not translated
    assert Kind.TRANSLATED not in [i.kind for i in r.items] and r.status == Status.DONE
    r = core.run('xfs_io -f -c "pwrite 0 64k" -c "mmap -rw 0 64k" -c "mwrite 0 64k" '
                 '-c "sleep 100" /mnt/d/a &')
    assert "(shell) -> touch --write 0x7f0000000000 64k" in r.text()
    r = core.run("kill %1")  # the pasted line's job, not the session's %1
    assert "(shell) -> kill xfs_io-1" in r.text()
    r = core.run("echo 1 > /proc/sys/vm/drop_caches")
    assert r.status == Status.ERROR and "not translated" in r.text()[-1]
    r = core.run("frobnicate --now")  # not shell-like: the language's own error
    assert r.status == Status.ERROR and Kind.TRANSLATED not in [i.kind for i in r.items]


def test_trace_save_is_the_cores_and_trace_k_stays_the_languages(tmp_path: Path) -> None:
    core = Core(Timeline("v4.18"))
    for x in race_steps.RACE_2018:
        assert core.run(x).status not in (Status.BUG, Status.ERROR)
    r = core.run(f"trace save {tmp_path / 't.json'}")
    assert r.status == Status.DONE and "events written" in r.text()[0]
    assert json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    r = core.run(f"trace save {tmp_path / 't.pdf'}")
    assert r.status == Status.ERROR and "usage: trace save" in r.text()[0]
    r = core.run(f"trace save {tmp_path / 'no' / 't.txt'}")
    assert r.status == Status.ERROR and "no directory" in r.text()[0]
    r = core.run("trace 2")
    assert r.result is not None and len(r.text()) == 2
    assert "trace save FILE.json|FILE.txt" in "\n".join(core.run("help trace").text())
    assert core.complete("trace save ") == core.complete("trace ")  # the language's words


def test_bisect_of_the_session_names_the_commit() -> None:
    core = Core(Timeline("v4.18"))
    r = core.run("bisect")
    assert r.status == Status.ERROR and "nothing to bisect yet" in r.text()[0]
    for x in [*race_steps.RACE_2018, "create /mnt/b 64K", "dma pin1"]:
        core.run(x)
    r = core.run("bisect --kernel-from v4.16 --kernel-to v4.19")
    text = "\n".join(r.text())
    assert r.status == Status.DONE and "v4.17 -> v4.18: corruption -> hung" in text, text
    assert "commit 5fac7408d828" in text
    assert [i.kind for i in r.items if "<- changes" in i.text] == [Kind.CURRENT] * \
        sum("<- changes" in x for x in r.text())
    r = core.run("bisect --kernel-form v4.16")
    assert r.status == Status.ERROR and "usage: bisect" in r.text()[0]
