"""The shell's bisect, trace save, and pasted lines of a real shell reproducer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from repl_helpers import RACE_2018

pytest.importorskip("cmd2")


def test_pasted_shell_lines_are_translated_once_and_run(shell: Any) -> None:
    out = shell.out("mkfs.xfs -f -m rmapbt=0 /dev/pmem0")
    assert out.count("(shell) -> mkfs -m rmapbt=0 xfs /dev/pmem0") == 1
    assert "xfs on /dev/pmem0" in out
    shell.out("mkdir -p /mnt/d")
    assert "(shell) -> mount" not in shell.out("mount -o dax /dev/pmem0 /mnt/d")  # daxsh already
    out = shell.out('xfs_io -f -c "pwrite 0 64k" -c "mmap -rw 0 64k" -c "mwrite 0 64k" '
                    '-c "sleep 100" /mnt/d/a &')
    assert "(shell) -> touch --write 0x7f0000000000 64k" in out and "stored to 16 pages" in out
    assert "xfs_io-1" in shell.out("show ptes")  # the process keeps its mapping
    out = shell.out("kill %1")
    assert "(shell) -> kill xfs_io-1" in out
    out = shell.out("frobnicate --now")
    assert "unknown command 'frobnicate'" in out  # not shell-like: the registry's own error
    out = shell.out("echo 1 > /proc/sys/vm/drop_caches")
    assert "not translated" in out and "only 2 and 3" in out


def test_bisect_at_the_prompt_names_the_behaviour(shell: Any) -> None:
    for line in [*RACE_2018[:-1], "create /mnt/b 64K", "dma pin1"]:
        shell.out(line)
    out = shell.out("bisect --kernel-from v4.16 --kernel-to v4.19")
    # the truncate waits for the pin from v4.18 on: nobody unpins, so it hangs there
    assert "v4.17 -> v4.18: corruption -> hung" in out, out
    assert "xfs-break-dax-layouts (v4.18)" in out and "commit 5fac7408d828" in out
    assert "usage: bisect" in shell.out("bisect --kernel-form v4.16")


def test_trace_save_writes_json_and_txt(shell: Any, tmp_path: Path) -> None:
    for line in RACE_2018:
        shell.out(line)
    out = shell.out(f"trace save {tmp_path / 't.json'}")
    assert "events written" in out
    doc = json.loads((tmp_path / "t.json").read_text())
    assert {e["ph"] for e in doc["traceEvents"]} >= {"B", "E", "M", "s", "f", "i"}
    shell.out(f"trace save {tmp_path / 't.txt'}")
    text = (tmp_path / "t.txt").read_text().splitlines()
    assert text[0] == "cpus=1" and any(": function:" in x for x in text)
    assert "usage: trace save" in shell.out(f"trace save {tmp_path / 't.pdf'}")
    assert shell.out("trace 2").count("\n") == 2  # `trace K` is the registry's
