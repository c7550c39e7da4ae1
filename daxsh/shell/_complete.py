"""Tab completion for a daxsh line, from the registry's completion sources (no UI import).

``complete_line(session, text, shell_commands)`` takes the line up to the cursor and returns
the candidates for the word under the cursor: command names, then each parameter's
``ArgType.complete`` or an option's flags and values, the same walk ``Command.parse`` does.
``start CMD ...`` completes CMD's own arguments.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping

from ..lang.registry import REGISTRY, Command
from ..lang.session import Session

ShellCompleter = Callable[[Session, list[str], str], list[str]]


def current_word(text: str) -> tuple[int, str]:
    """Where the word under the cursor starts, and the word so far."""
    i = len(text)
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i, text[i:]


def complete_line(s: Session, text: str,
                  shell_commands: Mapping[str, ShellCompleter | None] | None = None) -> list[str]:
    """Candidates for the word under the cursor; ``text`` is the line up to the cursor."""
    shell_commands = shell_commands or {}
    begin, prefix = current_word(text)
    words = text[:begin].split()
    if words and words[0].startswith("#"):
        return []
    if not words:
        names = sorted(set(REGISTRY) | set(shell_commands))
        return [n for n in names if n.startswith(prefix)]
    name = words[0]
    if name in shell_commands:
        fn = shell_commands[name]
        return sorted(fn(s, words[1:], prefix)) if fn else []
    cmd = REGISTRY.get(name)
    if cmd is None:
        return []
    return _complete_args(s, cmd, words[1:], prefix)


def _complete_args(s: Session, cmd: Command, args: list[str], prefix: str) -> list[str]:
    if cmd.name == "start":
        if not args:
            return [n for n in sorted(REGISTRY) if n.startswith(prefix)
                    and n not in ("start", "step", "continue", "break", "unbreak", "why")]
        sub = REGISTRY.get(args[0])
        return _complete_args(s, sub, args[1:], prefix) if sub is not None else []
    pi = 0
    used: set[str] = set()
    i = 0
    while i < len(args):
        w = args[i]
        opt = next((o for o in cmd.options if w in o.flags), None)
        if opt is not None:
            used.update(opt.flags)
            if opt.type is not None:
                if i + 1 == len(args):  # the word under the cursor is this option's value
                    return _safe(opt.type.complete, s, prefix)
                i += 2
                continue
            i += 1
            continue
        if pi < len(cmd.params) and not cmd.params[pi].repeat:
            pi += 1
        i += 1
    flags = [f for o in cmd.options for f in o.flags if f not in used and f.startswith(prefix)]
    out: list[str] = []
    if pi < len(cmd.params):
        p = cmd.params[pi]
        if not prefix.startswith("-") or p.type.accepts_dash:
            out = _safe(p.type.complete, s, prefix)
    if prefix.startswith("-") or (not out and prefix == ""):
        out += [f for f in flags if f not in out]
    return out


def _safe(fn: Callable[[Session, str], list[str]], s: Session, prefix: str) -> list[str]:
    """A completion source that fails (model in an odd state) completes nothing."""
    try:
        return list(fn(s, prefix))
    except Exception:
        return []


def complete_toml(s: Session, args: list[str], prefix: str) -> list[str]:
    """Scenario files and directories on the host (``record``, ``replay``), and ``stop``."""
    extra = ["stop"] if not args and "stop".startswith(prefix) else []
    found = [p + ("/" if os.path.isdir(p) else "") for p in glob.glob(glob.escape(prefix) + "*")]
    return extra + sorted(p for p in found if p.endswith((".toml", "/")))
