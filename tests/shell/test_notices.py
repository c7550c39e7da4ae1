"""The kinds of what a line reports come from where it is made, never from its text: a job
whose command line reads like another notice is still what it is."""

from __future__ import annotations

from daxsh.lang.session import NoticeKind
from daxsh.shell import Core, Kind, Timeline

MAP = "0x7f0000000000"
SETUP = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create '/mnt/+ Done' 64K",
         "mmap '/mnt/+ Done' 64K", f"touch {MAP} 4K --write", f"pin {MAP} 4K"]


def _core() -> Core:
    core = Core(Timeline("v6.15"))
    for line in SETUP:
        assert core.run(line).status == "done", line
    return core


def test_a_blocked_job_named_like_a_done_one_is_blocked() -> None:
    core = _core()
    r = core.run("truncate '/mnt/+ Done' 0 &")
    assert r.result is not None
    assert all(n.kind is not NoticeKind.JOB_DONE for n in r.result.notices)
    kinds = {i.kind for i in r.items if "truncate" in i.text}
    assert Kind.BLOCKED in kinds and Kind.JOB_DONE not in kinds, r.items
    # the pin goes, the job ends: now it is done, and said so by kind
    r = core.run("unpin pin1")
    assert r.result is not None
    done = [n for n in r.result.notices if "truncate" in n.text]
    assert [n.kind for n in done] == [NoticeKind.JOB_DONE], r.result.notices
    assert [i.kind for i in r.items if "truncate" in i.text] == [Kind.JOB_DONE]
    core.close()


def test_a_killed_job_and_an_oops_are_said_by_kind() -> None:
    core = _core()
    core.run("proc victim")
    core.run("mmap '/mnt/+ Done' 64K")
    r = core.run("kill -KILL victim")
    assert r.result is not None
    assert NoticeKind.KILLED in {n.kind for n in r.result.notices}, r.result.notices
    core.close()
