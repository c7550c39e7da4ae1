"""The interactive shell (cmd2).  ``daxsh`` with a terminal on stdin lands in :func:`main`.

Only this package imports cmd2/prompt_toolkit/rich; the replay path never imports it, and it
never imports the screen (the entry point hands it a ``screen`` hook).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["main", "make_shell"]


def make_shell(args: argparse.Namespace, *, state: Path | None = None, stdin: Any = None,
               stdout: Any = None, history: bool = True,
               screen: Callable[[Any], None] | None = None) -> Any:
    """Build the shell for ``args`` (kernel, pmem, seed, resume): a new session journaled in
    the state directory, or with ``resume`` the last one at its last state."""
    from .. import __version__
    from ..lang.lexer import fmt_size
    from ..shell import open_session
    from .app import DaxShell, history_path

    core, notes = open_session(getattr(args, "kernel", None) or "", getattr(args, "pmem", None),
                               int(getattr(args, "seed", 0) or 0),
                               resume=bool(getattr(args, "resume", False)), state=state)
    core.screen = screen
    hist = None
    if history and core.journal_path:
        hist = history_path(Path(core.journal_path).parent.parent)
    app = DaxShell(core, stdin=stdin, stdout=stdout, history_file=hist)
    tl = core.tl
    app.intro = "\n".join([
        *notes, f"daxsh {__version__}: kernel {tl.session.kernel_spec.split()[0]}, pmem "
        f"{fmt_size(tl.pmem)}. `help` lists commands, Tab completes, Ctrl-D leaves."])
    return app


def main(args: argparse.Namespace, screen: Callable[[Any], None] | None = None) -> int:
    from ..kernel.config import ConfigError
    from ..lang.hints import error_text
    try:
        app = make_shell(args, screen=screen)
    except (ConfigError, ValueError) as e:
        print(f"daxsh: {error_text(e)}", file=sys.stderr)
        return 2
    try:
        return int(app.cmdloop() or 0)
    finally:
        app.core.close()
