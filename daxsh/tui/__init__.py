"""``daxsh tui``: the live screen (Textual).

``main(argv)`` parses the screen's options and runs :class:`~daxsh.tui.app.DaxApp`;
``DaxApp(session)`` opens the screen over an existing session (the shell's ``tui`` command) and
``app.session`` is the machine to carry on with when it returns.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["DaxApp", "main", "run_on"]


def __getattr__(name: str) -> Any:
    if name == "DaxApp":
        from .app import DaxApp
        return DaxApp
    raise AttributeError(name)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="daxsh tui",
        description="The live screen: page tables, pmem blocks, blocked waiters, inodes and the "
                    "kernel log, redrawn after every command.",
        epilog="Keys: F2 step, F3 continue, F4 back, F5-F9 show/hide panes, F10 zoom the pane, "
               "Ctrl-T light/dark, Esc command line, Ctrl-Q quit. NO_COLOR is honoured.")
    p.add_argument("--kernel", metavar="SPEC", default="",
                   help="kernel preset and behaviours, e.g. 'v4.18'")
    p.add_argument("--pmem", metavar="SIZE", help="size of namespace0.0 (default 1G)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's own PRNG")
    p.add_argument("--theme", choices=("dark", "light"), help="colour theme (default dark)")
    p.add_argument("--no-journal", action="store_true",
                   help="do not journal the session in the state directory")
    p.add_argument("script", nargs="?", metavar="FILE",
                   help="a scenario (.toml: replayed on --kernel or its first kernel) or "
                        "command lines (one per line) to run before showing the screen")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from ..kernel.config import ConfigError
    from ..lang.hints import error_text
    from ..shell import open_session
    lines: list[str] = []
    if args.script and args.script.endswith(".toml"):
        from ..scenario.load import ScenarioError, load
        try:  # a file that does not load is refused here, before the screen opens
            load(args.script)
        except ScenarioError as e:
            print(f"daxsh tui: {e}", file=sys.stderr)
            return 2
        lines = [f"replay {args.script} {args.kernel}".rstrip()]
    elif args.script:  # command lines, the shell's own (back, goto, ...) too
        from ..scenario.load import ScenarioError, read_text
        try:
            with open(args.script, "rb") as f:
                lines = read_text(f, args.script).splitlines()
        except ScenarioError as e:
            print(f"daxsh tui: {e}", file=sys.stderr)
            return 2
        except OSError as e:
            print(f"daxsh tui: {args.script}: {e.strerror}", file=sys.stderr)
            return 2
    try:
        core, notes = open_session(args.kernel, args.pmem, args.seed, journal=not args.no_journal)
    except (ConfigError, ValueError) as e:
        print(f"daxsh tui: {error_text(e)}", file=sys.stderr)
        return 2
    for n in notes:
        print(n, file=sys.stderr)
    from .app import DaxApp
    app = DaxApp(core=core, theme=args.theme or os.environ.get("DAXSH_THEME"))
    app.startup_lines = lines
    try:
        rc = app.run()
    finally:
        journaled = core.tl.journal is not None
        core.close()
        if journaled:
            print(f"daxsh: session journal: {core.journal_path}", file=sys.stderr)
    if app.return_code:  # the screen itself failed (Textual printed why)
        return 3
    return int(rc or 0)


def run_on(core: Any) -> None:
    """Open the screen on an existing core (the shell's ``tui``); its commands join the
    core's timeline, and the shell carries on from where the screen left it."""
    from .app import DaxApp
    DaxApp(core=core, theme=os.environ.get("DAXSH_THEME")).run()
