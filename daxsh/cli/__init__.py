"""``daxsh`` on the command line: every entry point, one module per subcommand.

    daxsh                      the interactive shell (cmd2; imported only here)
    daxsh run FILE [...]       replay a scenario (TOML) or a script of command lines
    daxsh < script             run command lines from standard input, no shell
    daxsh tui                  the live screen (Textual; imported only here)
    daxsh explore FILE         decide a race over every interleaving
    daxsh real FILE            run a scenario on a real kernel under QEMU, compare with the model
    daxsh kernels [NAME]       the kernel presets and behaviours
    daxsh bisect FILE          the outcome on every preset, and the commits that change it
    daxsh import FILE.sh       a shell reproducer as a scenario
    daxsh export FILE --sh     a scenario as a shell script (and its C helper)
    daxsh completion SHELL     the completion script for bash, zsh, tcsh or fish
    daxsh --version

Each subcommand's parser and ``main`` are in the module named for it (``run``, ``kernels``,
``bisect``, ``import_sh``, ``export``, ``explore``, ``real``, ``completion``; ``tui`` is the
screen's own), imported only when that subcommand runs: the replay path (``run``, a piped
script) imports neither cmd2, prompt_toolkit nor Textual.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import __version__


def _top_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="daxsh",
        description="A shell and deterministic model of the Linux filesystem-DAX lifecycle.",
        epilog="subcommands: run FILE, tui, explore FILE, real FILE, kernels, bisect FILE, "
               "import FILE.sh, export FILE --sh, completion SHELL (each takes --help). "
               "With no subcommand: the interactive shell, or the lines piped on stdin.")
    p.add_argument("--version", action="version", version=f"daxsh {__version__}")
    p.add_argument("--kernel", metavar="SPEC", help="kernel preset and behaviours, e.g. 'v6.14'")
    p.add_argument("--pmem", metavar="SIZE", help="size of namespace0.0 (default 1G)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model's own PRNG (fsx)")
    p.add_argument("--resume", action="store_true", help="reopen the last session at its last state")
    return p


def _judge() -> Any:
    """The explorer's judge of [threads] races, for the scenario runner (None when the
    explorer is not part of this build: such a race is then undecided)."""
    try:
        from ..explore.judge import judge
    except ImportError:
        return None
    return judge


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `daxsh run ... | head`: the reader left; say nothing more
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:  # ^C during `daxsh run`, `explore`, a piped script: nothing decided
        print("\ndaxsh: interrupted (^C); nothing was decided", file=sys.stderr)
        return 3


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":
        from .run import main as run_main
        return run_main(argv[1:], judge=_judge())
    if argv and argv[0] == "kernels":
        from .kernels import main as kernels_main
        return kernels_main(argv[1:])
    if argv and argv[0] == "bisect":
        from .bisect import main as bisect_main
        return bisect_main(argv[1:], judge=_judge())
    if argv and argv[0] == "import":
        from .import_sh import main as import_main
        return import_main(argv[1:])
    if argv and argv[0] == "export":
        from .export import main as export_main
        return export_main(argv[1:])
    if argv and argv[0] == "completion":
        from .completion import main as completion_main
        return completion_main(argv[1:])
    if argv and argv[0] == "explore":
        try:
            from .explore import main as explore_main
        except ImportError:
            print("daxsh: the explorer is not part of this build", file=sys.stderr)
            return 2
        return explore_main(argv[1:])
    if argv and argv[0] == "real":
        from .real import main as real_main
        return real_main(argv[1:])
    if argv and argv[0] == "tui":
        try:
            from ..tui import main as tui_main
        except ImportError as e:
            print(f"daxsh: the screen needs Textual ({e}); pip install 'daxsh[tui]'", file=sys.stderr)
            return 2
        return tui_main(argv[1:])
    args = _top_parser().parse_args(argv[1:] if argv and argv[0] == "shell" else argv)
    if not sys.stdin.isatty() and not args.resume:
        from .run import run_stream
        return run_stream(sys.stdin, kernel=args.kernel, pmem=args.pmem, seed=args.seed)
    try:
        from ..repl import main as repl_main
    except ImportError as e:
        print(f"daxsh: the interactive shell needs cmd2 ({e}); "
              "`daxsh run FILE` replays without it", file=sys.stderr)
        return 2
    return repl_main(args, screen=_screen)


def _screen(core: object) -> None:
    """The shell's ``tui`` command: the screen over the shell's core (imported only then)."""
    try:
        from ..tui import run_on
    except ImportError as e:
        print(f"daxsh: the screen needs Textual ({e})", file=sys.stderr)
        return
    run_on(core)

