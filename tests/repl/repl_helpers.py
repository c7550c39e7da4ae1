"""Helpers for the shell tests: a DaxShell driven through cmd2's programmatic interface.

``shell.run(line)`` feeds one line to ``onecmd_plus_hooks`` (as the prompt would) and returns
what went to stdout and stderr.  The state directory (journal, history) is a temporary one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path
from typing import Any

import pytest
import race_steps

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # a checkout that is not pip-installed
    sys.path.insert(0, str(ROOT))

RACE_2018 = [*race_steps.RACE_2018, "unpin pin1"]  # and the unpin that ends it


class Driver:
    def __init__(self, app: Any) -> None:
        self.app = app

    def run(self, line: str) -> tuple[str, str]:
        from cmd2.utils import StdSim
        out = StdSim(io.StringIO())
        self.app.stdout = out
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.app.onecmd_plus_hooks(line)
        return out.getvalue(), err.getvalue()

    def out(self, line: str) -> str:
        o, e = self.run(line)
        return o + e

    def close(self) -> None:
        j = self.app.tl.journal
        if j is not None:
            j.close()

    @property
    def prompt(self) -> str:
        return str(self.app.prompt)

    @property
    def tl(self) -> Any:
        return self.app.tl


def make(state: Path, kernel: str = "v4.18", resume: bool = False) -> Driver:
    pytest.importorskip("cmd2")
    from daxsh.repl import make_shell
    args = argparse.Namespace(kernel=kernel, pmem=None, seed=0, resume=resume)
    return Driver(make_shell(args, state=state, history=False, stdout=io.StringIO()))


