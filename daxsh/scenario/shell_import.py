"""A shell reproducer as a scenario (``daxsh import`` prints and writes what these return).

Each line is translated by the language's :class:`~daxsh.lang.shell_import.Translator` and run
on a fresh machine as it is, so a mapping's address is the one the model gives; then the
scenario's TOML, and each shell line beside the daxsh lines it became.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..lang import Session
from ..lang.lexer import fmt_size
from ..lang.shell_import import Line, Translator


def translate_script(text: str, kernel: str) -> tuple[list[Line], Session]:
    s = Session(kernel)
    tr = Translator(s.execute, lambda: s)
    return [tr.translate(line, i) for i, line in enumerate(text.splitlines(), 1)], s


def scenario_toml(lines: list[Line], kernel: str, source: str) -> str:
    name = "standard input" if source == "-" else Path(source).name
    desc = f"Translated by daxsh import from {name}; each step names its shell line."
    out = [f"title = {json.dumps('imported from ' + name)}", f"description = {json.dumps(desc)}",
           f"kernel = {json.dumps(kernel)}", "steps = ["]
    for ln in lines:
        if not ln.ok:
            out.append(f"  # line {ln.lineno} not translated: {ln.shell.strip()}  ({ln.why})")
            continue
        for i, d in enumerate(ln.daxsh):
            tail = f"  # sh:{ln.lineno}: {ln.shell.strip()}" if i == 0 else ""
            out.append(f"  {json.dumps(d)},{tail}")
    out.append("]")
    pmem = next((ln.pmem for ln in lines if ln.pmem), None)
    if pmem:
        out += ["", "[machine]", f"pmem = {json.dumps(fmt_size(pmem))}"]
    return "\n".join(out) + "\n"


def report(lines: list[Line]) -> list[str]:
    """Each shell line beside its translation (or why there is none)."""
    out = []
    for ln in lines:
        if not ln.shell.strip() or (not ln.daxsh and ln.ok and not ln.note):
            continue
        out.append(f"{ln.lineno:>4}  {ln.shell.strip()}")
        if not ln.ok:
            out.append(f"      NOT TRANSLATED: {ln.why}")
        for d, r in zip(ln.daxsh, ln.results):
            bad = f"   [{r.status}: {r.error}]" if r.error else ""
            out.append(f"      -> {d}{bad}")
        if ln.note:
            out.append(f"      ({ln.note})")
    return out
