"""Tab completion from the registry's completion sources (daxsh.shell, no terminal)."""

from __future__ import annotations

import pytest
from repl_helpers import RACE_2018

from daxsh.lang import Session
from daxsh.shell import complete_line, current_word


@pytest.fixture(scope="module")
def s() -> Session:
    s = Session("v4.18")
    for line in RACE_2018[:7]:
        s.execute(line)
    s.execute("proc dma")
    s.execute("proc sh")
    return s


@pytest.mark.parametrize(("line", "want"), [
    ("mk", ["mkdir", "mkfs"]),
    ("mkfs ", ["ext2", "ext4", "xfs"]),
    ("mkfs xfs ", ["/dev/pmem0"]),
    ("mkfs xfs /dev/pmem0 -", ["-E", "-d", "-m"]),
    ("mount /dev/pmem0 /m", ["/mnt/"]),
    ("mount /dev/pmem0 /mnt -o dax=", ["dax=always", "dax=inode", "dax=never"]),
    ("mmap /mnt/", ["/mnt/a"]),
    ("touch ", ["0x7f0000000000"]),
    ("touch 0x7f0000000000 64K --w", ["--write"]),
    ("touch 0x7f0000000000 64K ", ["--write"]),
    ("pin 0x7f", ["0x7f0000000000"]),
    ("unpin ", ["pin1"]),
    ("unpin -", ["--alloc"]),
    ("dma p", ["pin1"]),
    ("wait ", ["%1"]),
    ("why %", ["%1"]),
    ("step ", ["%1"]),
    ("continue %", ["%1"]),
    ("kill -K", ["-KILL"]),
    ("proc ", ["dma", "sh"]),
    ("unbind ", ["pfn0.1"]),
    ("bind p", ["pfn0.1"]),
    ("kernel v4.1", ["v4.16", "v4.17", "v4.18", "v4.19"]),
    ("kernel v4.18 -xfs-b", ["-xfs-break-dax-layouts"]),
    # v4.18 names it dax_layout_busy_page (the range form is v5.10, kernel/names.py)
    ("break dax_layout_busy", ["dax_layout_busy_page"]),
    ("show p", ["pages", "ptes"]),
    ("help trun", ["truncate"]),
    ("start trun", ["truncate"]),
    ("start truncate /mnt/", ["/mnt/a"]),
    ("start st", ["stat"]),
    ("nosuch ", []),
    ("# comment ", []),
])
def test_registry_completion(s: Session, line: str, want: list[str]) -> None:
    got = complete_line(s, line)
    assert sorted(got) == sorted(want) if line != "kernel v4.1" else set(want) <= set(got)


def test_shell_commands_complete_too(s: Session) -> None:
    extra = {"goto": lambda s, a, p: ["main:"], "history": None}
    assert complete_line(s, "go", extra) == ["goto"]
    assert complete_line(s, "goto ", extra) == ["main:"]
    assert complete_line(s, "history ", extra) == []
    assert "history" in complete_line(s, "h", extra)


def test_current_word() -> None:
    assert current_word("mmap /mnt/a") == (5, "/mnt/a")
    assert current_word("mmap ") == (5, "")


def test_a_failing_source_completes_nothing(s: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from daxsh.lang import types
    def boom(*a: object) -> list[str]:
        raise RuntimeError("model in an odd state")
    monkeypatch.setattr(types.ADDR, "complete", boom)
    assert complete_line(s, "touch ") == ["--write"]  # only the flags are left
