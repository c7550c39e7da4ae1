"""Shared helpers for the explorer's tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from small import BASE, SMALL

from daxsh.explore import Machine, Problem

EXAMPLE_SETUP = [*BASE, "create /mnt/a 64K", "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write"]
EXAMPLE_THREADS = {"truncator": ["truncate /mnt/a 0", "create /mnt/b 64K"],
                   "device": ["pin 0x7f0000000000 4K", "dma pin1", "unpin pin1"]}


def small_machine(name: str, kernel: str) -> Machine:
    setup, threads, _kernels, bad = SMALL[name]
    return Machine(Problem(kernel, setup=setup, threads=threads, bad=bad, title=name))


__all__ = ["EXAMPLE_SETUP", "EXAMPLE_THREADS", "SMALL", "small_machine"]
