"""The language renders the kernel's hints (daxsh/kernel/hint.py) in command syntax, in one
place (daxsh/lang/hints.py), wherever a Ret, a waits-for edge or a ConfigError becomes text."""

from __future__ import annotations

import pytest

from daxsh.kernel.config import ConfigError, KernelConfig
from daxsh.kernel.hint import Hint, HintKind
from daxsh.kernel.sched import msleep_interruptible
from daxsh.lang import hints
from daxsh.lang.session import Session

MAP = "0x7f0000000000"
BASE = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
        "mmap /mnt/a 64K", f"touch {MAP} 4K --write", f"pin {MAP} 4K"]


def session(*lines: str) -> Session:
    s = Session("v6.15")
    for line in lines:
        r = s.execute(line)
        assert r.status in ("done", "blocked"), (line, "\n".join(r.text()))
    return s


def test_every_hint_kind_has_its_command_syntax() -> None:
    assert set(hints.HINTS) == set(HintKind)


def test_mount_without_mkfs_says_run_mkfs() -> None:
    r = session().execute("mount /dev/pmem0 /mnt -o dax")
    assert r.status == "error"
    assert "/dev/pmem0 has no filesystem: run `mkfs xfs /dev/pmem0` first" in "\n".join(r.text())


def test_mount_of_an_unbound_device_says_ndctl_list() -> None:
    r = session("unbind pfn0.1").execute("mount /dev/pmem0 /mnt")
    assert "/dev/pmem0: no such block device (is pfn0.1 bound? `ndctl list`)" in "\n".join(r.text())


def test_unbind_twice_says_bind() -> None:
    r = session("unbind pfn0.1").execute("unbind pfn0.1")
    assert "pfn0.1 is not bound; `bind pfn0.1`" in "\n".join(r.text())


def test_umount_with_cwd_inside_says_cd() -> None:
    r = session("mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt", "cd /mnt").execute("umount /mnt")
    assert "the cwd of process sh is inside it; `cd /` first" in "\n".join(r.text())


def test_lease_return_without_a_lease_says_lease() -> None:
    r = session("mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K"
                ).execute("lease /mnt/a --return")
    assert "/mnt/a has no layout lease (`lease /mnt/a` takes one)" in "\n".join(r.text())


def test_why_on_a_task_waiting_for_a_pinned_page_says_unpin() -> None:
    s = session(*BASE, "truncate /mnt/a 0 &")
    out = "\n".join(s.execute("why %1").text())
    assert "pinned by pin1, held by the device holding pin1 (`unpin pin1`)" in out
    assert "`unpin pin1`" in "\n".join(s.execute("show waiters").text())
    assert "`unpin pin1`" in "\n".join(s.execute("wait %1").text())


def test_why_on_a_sleeping_task_says_sleep() -> None:
    s = session()
    s.k.spawn("sleeper", None, lambda t: msleep_interruptible(t, 5_000_000_000), "sleeper")
    s.k.run()
    out = "\n".join(s.execute("why").text())
    assert "held by time (`sleep`)" in out


def test_ret_hint_follows_the_last_line_or_stands_alone() -> None:
    from daxsh.kernel.errno import EINVAL, Ret
    h = Hint(HintKind.SHOW_BLOCKS)
    assert hints.ret_lines(Ret(EINVAL, None, ["a", "pfn 0x1 is not in pfn0.1's data area"], h)) == \
        ["a", "pfn 0x1 is not in pfn0.1's data area (`show blocks`)"]
    assert hints.ret_lines(Ret(EINVAL, None, [], h)) == ["(`show blocks`)"]
    assert hints.ret_lines(Ret(EINVAL, None, ["x"])) == ["x"]


def test_config_error_renders_its_hint() -> None:
    with pytest.raises(ConfigError) as ei:
        KernelConfig.parse("v9.9")
    assert hints.error_text(ei.value) == "unknown kernel preset 'v9.9'; did you mean v5.9? (`kernels` lists them)"
    assert hints.error_text(ValueError("plain")) == "plain"
    r = session().execute("kernel v6.15 +dax-refcount0")
    assert "(`kernels` lists them)" in "\n".join(r.text())


def test_mkfs_of_a_mounted_device_says_umount() -> None:
    r = session("mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt").execute("mkfs ext4 /dev/pmem0")
    assert "/dev/pmem0 is mounted on /mnt; umount it first" in "\n".join(r.text())


def test_poison_outside_the_data_area_says_show_blocks() -> None:
    r = session().execute("poison 0x1")
    assert "pfn 0x1 is not in pfn0.1's data area (`show blocks`)" in "\n".join(r.text())
