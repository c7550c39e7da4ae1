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

__all__ = ["DaxApp", "main"]


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
    from ..kernel.config import ConfigError, KernelConfig
    from ..kernel.machine import DEFAULT_PMEM
    from ..lang.lexer import parse_number
    try:
        KernelConfig.parse(args.kernel)
        pmem = parse_number(args.pmem) if args.pmem else DEFAULT_PMEM
    except (ConfigError, ValueError) as e:
        print(f"daxsh tui: {e}", file=sys.stderr)
        return 2
    lines: list[str] = []
    if args.script and args.script.endswith(".toml"):
        lines = [f"replay {args.script} {args.kernel}".rstrip()]
    elif args.script:
        try:
            with open(args.script, encoding="utf-8") as f:
                lines = [x.rstrip("\n") for x in f]
        except OSError as e:
            print(f"daxsh tui: {args.script}: {e.strerror}", file=sys.stderr)
            return 2
    from ..scenario.timeline import Journal, Timeline
    journal = None
    if not args.no_journal:
        try:
            journal = Journal.new()
        except OSError as e:
            print(f"daxsh tui: no journal ({e}); going on without one", file=sys.stderr)
    tl = Timeline(args.kernel, pmem, args.seed, journal=journal)
    from .app import DaxApp
    app = DaxApp(timeline=tl, theme=args.theme or os.environ.get("DAXSH_THEME"))
    app.startup_lines = lines
    rc = app.run()
    if journal is not None:
        journal.close()
        print(f"daxsh: session journal: {journal.path}", file=sys.stderr)
    return int(rc or 0)
