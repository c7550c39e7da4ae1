"""Fixtures of the entry points' tests."""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.fixture
def example_file(tmp_path: Path) -> Path:
    """A race for `daxsh explore`: sometimes corruption on v4.16, never on v4.18."""
    p = tmp_path / "truncate-vs-pin.toml"
    p.write_text(EXAMPLE_TOML, encoding="utf-8")
    return p
