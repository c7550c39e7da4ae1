"""Shared helpers for the explorer's tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from small import BASE, SMALL

from daxsh.explore import Machine, Problem

EXAMPLE_SETUP = [*BASE, "create /mnt/a 64K", "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write"]
EXAMPLE_THREADS = {"truncator": ["truncate /mnt/a 0", "create /mnt/b 64K"],
                   "device": ["pin 0x7f0000000000 4K", "dma pin1", "unpin pin1"]}

EXAMPLE_TOML = """\
title = "truncate vs a racing pin"
setup = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
         "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write"]
[threads]
truncator = ["truncate /mnt/a 0", "sync", "create /mnt/b 64K"]
device = ["pin 0x7f0000000000 4K", "dma pin1", "unpin pin1"]
[expect]
bad = "corruption"
verdict = "never"
[expect."v4.16"]
verdict = "sometimes"
[expect."v4.18"]
verdict = "never"
"""


def small_machine(name: str, kernel: str) -> Machine:
    setup, threads, _kernels, bad = SMALL[name]
    return Machine(Problem(kernel, setup=setup, threads=threads, bad=bad, title=name))


@pytest.fixture
def example_file(tmp_path: Path) -> Path:
    p = tmp_path / "truncate-vs-pin.toml"
    p.write_text(EXAMPLE_TOML, encoding="utf-8")
    return p


__all__ = ["EXAMPLE_SETUP", "EXAMPLE_THREADS", "SMALL", "small_machine"]
