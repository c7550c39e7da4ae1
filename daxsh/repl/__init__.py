"""The interactive shell (cmd2).  ``daxsh`` with a terminal on stdin lands in :func:`main`.

Only this package imports cmd2/prompt_toolkit/rich; the replay path never imports it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["main", "make_shell"]


def make_shell(args: argparse.Namespace, *, state: Any = None, stdin: Any = None,
               stdout: Any = None, history: bool = True) -> Any:
    """Build the shell for ``args`` (kernel, pmem, seed, resume): a new session journaled in
    the state directory, or with ``resume`` the last one at its last state."""
    from ..kernel.machine import DEFAULT_PMEM
    from ..lang.lexer import parse_number
    from ..scenario.timeline import Journal, Timeline, TimelineError, last_journal, state_dir
    from .app import DaxShell, history_path

    state = state or state_dir()
    notes: list[str] = []
    tl = None
    journal = None
    if getattr(args, "resume", False):
        path = last_journal(state)
        if path is None:
            notes.append("daxsh: no session to resume; starting a new one")
        else:
            try:
                journal = Journal(path)
                tl = Timeline.from_journal(path, journal)
                notes.append(f"resumed {path}: at {tl.branch}:{tl.pos} of "
                             f"{len(tl.current.lines)} ({len(tl.branches)} branch(es))")
            except (OSError, TimelineError, ValueError, KeyError, TypeError) as e:
                notes.append(f"daxsh: cannot resume {path}: {e}; starting a new session")
                if journal is not None:
                    journal.close()
                tl, journal = None, None
    if tl is None:
        pmem = DEFAULT_PMEM
        if getattr(args, "pmem", None):
            pmem = parse_number(args.pmem)
            if pmem < 64 << 20 or pmem > 1 << 50 or pmem % (2 << 20):
                raise ValueError(f"--pmem {args.pmem}: a multiple of 2M between 64M and 1024T")
        tl = Timeline(args.kernel or "", pmem, int(getattr(args, "seed", 0) or 0))
        journal = Journal.new(state)  # only once the kernel and machine are known to be valid
        journal.header(tl.kernel_spec, tl.pmem, tl.seed)
        tl.journal = journal
    elif getattr(args, "kernel", None) or getattr(args, "pmem", None):
        notes.append("daxsh: --kernel/--pmem are ignored with --resume (the journal has them)")
    app = DaxShell(tl, stdin=stdin, stdout=stdout,
                   history_file=history_path(state) if history else None,
                   journal_path=str(journal.path) if journal else None)
    from .. import __version__
    from ..lang.lexer import fmt_size
    app.intro = "\n".join([
        *notes, f"daxsh {__version__}: kernel {tl.session.kernel_spec.split()[0]}, pmem "
        f"{fmt_size(tl.pmem)}. `help` lists commands, Tab completes, Ctrl-D leaves."])
    return app


def main(args: argparse.Namespace) -> int:
    from ..kernel.config import ConfigError
    try:
        app = make_shell(args)
    except (ConfigError, ValueError) as e:
        print(f"daxsh: {e}", file=sys.stderr)
        return 2
    return int(app.cmdloop() or 0)
