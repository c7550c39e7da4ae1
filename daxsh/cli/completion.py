"""``daxsh completion bash|zsh|tcsh|fish``: command-line completion for the shell.

bash, zsh and tcsh scripts come from shtab, which reads the subcommands' argparse parsers (one
source: the parsers ``daxsh ... --help`` prints); fish, which shtab does not write, gets
``complete`` lines made from the same parsers here.  Install, e.g.::

    daxsh completion bash > ~/.local/share/bash-completion/completions/daxsh
    daxsh completion zsh > "${fpath[1]}/_daxsh"
    daxsh completion fish > ~/.config/fish/completions/daxsh.fish
"""

from __future__ import annotations

import argparse
import sys

from ..kernel.config import BY_NAME, PRESETS

SHELLS = ("bash", "zsh", "tcsh", "fish")


def subparsers() -> dict[str, argparse.ArgumentParser]:
    from . import bisect, export, import_sh, kernels, real, run
    out = {"run": run.parser(), "kernels": kernels.parser(), "bisect": bisect.parser(),
           "import": import_sh.parser(), "export": export.parser(), "real": real.parser()}
    try:
        from .explore import parser as explore_parser
        out["explore"] = explore_parser()
    except ImportError:  # a build without the explorer
        pass
    try:
        from ..tui import _parser as tui_parser
        out["tui"] = tui_parser()
    except ImportError:
        pass
    return out


def full_parser() -> argparse.ArgumentParser:
    """The top parser with every subcommand under it (for shtab)."""
    from . import _top_parser
    top = _top_parser()
    kernels = [*PRESETS, *BY_NAME]
    for a in top._actions:
        if a.dest == "kernel":
            a.choices = None
            a.complete = {"bash": _words(kernels), "zsh": _zsh(kernels)}  # type: ignore[attr-defined]
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    for name, p in subparsers().items():
        sp = sub.add_parser(name, help=p.description, description=p.description)
        for a in p._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            sp._add_action(a)
    c = sub.add_parser("completion", help="print the completion script for a shell")
    c.add_argument("shell", choices=SHELLS)
    return top


def _words(words: list[str]) -> str:
    return f"compgen -W '{' '.join(words)}' -- \"$1\""


def _zsh(words: list[str]) -> str:
    return f"({' '.join(words)})"


def fish_script() -> str:
    lines = ["# daxsh completion for fish (daxsh completion fish)", "complete -c daxsh -f"]
    subs = subparsers()
    names = [*subs, "completion"]
    cond = "not __fish_seen_subcommand_from " + " ".join(names)
    for name, p in subs.items():
        lines.append(f"complete -c daxsh -n '{cond}' -a {name} -d {_q(p.description or '')}")
        for a in p._actions:
            if isinstance(a, argparse._HelpAction) or not a.option_strings:
                continue
            for flag in a.option_strings:
                kind = "-l " + flag[2:] if flag.startswith("--") else "-s " + flag[1:]
                arg = " -r" if a.nargs != 0 else ""
                if a.dest in ("kernel", "kernel_from", "kernel_to"):
                    arg += f" -a {_q(' '.join(PRESETS), None)}"
                lines.append(f"complete -c daxsh -n '__fish_seen_subcommand_from {name}' "
                             f"{kind}{arg} -d {_q(a.help or '')}")
    lines.append(f"complete -c daxsh -n '{cond}' -a completion -d 'print the completion script'")
    lines.append(f"complete -c daxsh -n '__fish_seen_subcommand_from completion' -a "
                 f"{_q(' '.join(SHELLS), None)}")
    return "\n".join(lines) + "\n"


def _q(s: str, limit: int | None = 120) -> str:
    """A fish single-quoted word (a description is cut at ``limit``)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'")[:limit] + "'"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SHELLS:
        print(f"daxsh completion: name a shell: {', '.join(SHELLS)} "
              "(e.g. daxsh completion bash > ~/.local/share/bash-completion/completions/daxsh)",
              file=sys.stderr)
        return 2
    if argv[0] == "fish":
        sys.stdout.write(fish_script())
        return 0
    try:
        import shtab
    except ImportError:
        print("daxsh completion: needs shtab (pip install shtab)", file=sys.stderr)
        return 2
    sys.stdout.write(shtab.complete(full_parser(), shell=argv[0]))
    return 0
