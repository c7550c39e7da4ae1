"""What the shell's own ``bisect`` and ``trace save`` do, without any UI: the prompt parses
the words and prints the lines these return."""

from __future__ import annotations

import shlex
from pathlib import Path

from ..lang import Session
from ..lang.traceout import write_trace
from .bisect import bisect, render_lines
from .load import ScenarioError, from_script


def bisect_session(lines: list[str], words: str, colour: bool = False
                   ) -> list[tuple[bool, str]]:
    """``bisect [--kernel-from A] [--kernel-to B]`` of the session's state-changing lines, each
    with whether the outcome changes there (:func:`.bisect.render_lines`); ValueError says what
    is wrong with the words."""
    args = shlex.split(words)
    opts: dict[str, str] = {}
    for i in range(0, len(args), 2):
        if args[i] not in ("--kernel-from", "--kernel-to") or i + 1 >= len(args):
            raise ValueError(f"unexpected '{args[i]}' (options: --kernel-from PRESET, "
                             "--kernel-to PRESET)")
        opts[args[i]] = args[i + 1]
    if not lines:
        raise ValueError("nothing to bisect yet: the session has run no command that changed "
                         "the machine")
    try:
        sc = from_script("\n".join(lines), "<this session>")
        r = bisect(sc, opts.get("--kernel-from"), opts.get("--kernel-to"))
    except ScenarioError as e:
        raise ValueError(str(e)) from None
    return render_lines(r, colour)


def trace_save(s: Session, words: str) -> str:
    """``trace save FILE`` (.json or .txt): what was written; ValueError for bad words."""
    args = shlex.split(words)
    if len(args) != 2 or args[0] != "save":
        raise ValueError("write trace save FILE.json (Chrome/Perfetto) or FILE.txt "
                         "(trace-cmd report)")
    path = Path(args[1])
    if not path.resolve().parent.is_dir():
        raise ValueError(f"cannot write {path}: no directory {path.resolve().parent}")
    try:
        n = write_trace(s.k, path)
    except OSError as e:
        raise ValueError(f"cannot write {path}: {e.strerror}") from None
    return f"trace: {n} events written to {path}"
