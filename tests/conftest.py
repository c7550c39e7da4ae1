"""The `shell` fixture of the kernel-model and language tests: a shell-like driver over
:class:`Session` (tests/repl has a `shell` fixture of its own).

The tests drive the model through the command language (as scenarios and front-ends do) and
then look at the kernel objects directly (locks, tasks, pages) to check what the model did.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # a checkout that is not pip-installed
    sys.path.insert(0, str(ROOT))

import daxsh.lang.commands  # noqa: E402,F401  (fills the registry)
from daxsh.lang.session import Result, Session  # noqa: E402

MAP = 0x7F0000000000


class Shell:
    """Run command lines and assert their status; reach the model for checks."""

    def __init__(self, kernel: str = "", **kw: Any) -> None:
        self.s = Session(kernel, **kw)

    @property
    def k(self) -> Any:
        return self.s.k

    def __call__(self, line: str, status: str = "done") -> Result:
        r = self.s.execute(line)
        assert r.status == status, f"{line!r}: expected {status}, got {r.status}: {r.text()}"
        return r

    def script(self, text: str) -> list[Result]:
        out = []
        for line in text.strip().splitlines():
            line = line.strip()
            if line:
                out.append(self(line))
        return out

    def text(self, line: str, status: str = "done") -> str:
        return "\n".join(self(line, status).text())

    # -- common set-ups ----------------------------------------------------------------------
    def mounted(self, fs: str = "xfs", mkfs: str = "", opt: str = "-o dax") -> Shell:
        self.script(f"""
            mkfs {fs} /dev/pmem0 {mkfs}
            mount /dev/pmem0 /mnt {opt}
        """)
        return self

    def pinned(self, fs: str = "xfs", mkfs: str = "") -> Shell:
        """/mnt/a (64K) mapped at MAP by sh, page 0 write-faulted and pinned as pin1."""
        self.mounted(fs, mkfs)
        self.script("""
            create /mnt/a 64K
            mmap /mnt/a 64K
            touch 0x7f0000000000 4K --write
            pin 0x7f0000000000 4K
        """)
        return self

    # -- looking inside ------------------------------------------------------------------------
    def inode(self, path: str) -> Any:
        k = self.k
        mnt = max((m for p, m in k.mounts.items() if path.startswith(p.rstrip("/") + "/")),
                  key=lambda m: len(m.path))
        fs = mnt.sb.disk
        di = fs.root
        for comp in [c for c in path[len(mnt.path):].split("/") if c]:
            di = fs.inodes[di.entries[comp]]
        return mnt.sb.icache[di.ino]

    def task(self, job: int) -> Any:
        return self.s.jobs[job].task

    def dmesg(self) -> str:
        return "\n".join(self.k.dmesg.format())

    def events(self, kind: str) -> list[str]:
        return [e.text for e in self.k.events if e.kind == kind]

    def outcome(self) -> Any:
        from daxsh.kernel import outcomes
        return outcomes.outcome(self.k)


@pytest.fixture
def shell() -> Iterator[Callable[..., Shell]]:
    """Make shells; each one's machine is retired (``Session.close``) after the test."""
    made: list[Shell] = []

    def make(*a: Any, **kw: Any) -> Shell:
        sh = Shell(*a, **kw)
        made.append(sh)
        return sh

    yield make
    for sh in made:
        sh.s.close()
