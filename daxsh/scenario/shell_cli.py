"""``daxsh import FILE.sh [-o OUT.toml]``: a real shell reproducer as a scenario.

Each shell line is printed beside the daxsh lines it became (run on a fresh machine as they are
translated, so a mapping's address is the one the model gives); a line that cannot be
translated is named with the reason.  Exit status: 0 every line translated (and the scenario
written with ``-o``), 2 a line could not be (nothing written, unless ``--partial``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..kernel.config import ConfigError, KernelConfig
from ..lang import Session
from ..lang.lexer import fmt_size
from ..lang.shell_import import Line, Translator

EXIT_OK, EXIT_INVALID = 0, 2


def import_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="daxsh import", description="Translate a shell reproducer "
                                "(ndctl, mkfs.xfs, mount -o dax, xfs_io -c ..., echo > .../unbind, "
                                "dd, fallocate -p ...) to a daxsh scenario.")
    p.add_argument("file", metavar="FILE.sh", help="the shell script ('-' reads standard input)")
    p.add_argument("-o", "--out", metavar="OUT.toml", help="write the scenario there")
    p.add_argument("--kernel", metavar="SPEC", help="the kernel the scenario names (default the "
                   "newest preset)")
    p.add_argument("--partial", action="store_true", help="write the scenario even when some "
                   "lines cannot be translated (they become comments)")
    return p


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


def import_main(argv: list[str]) -> int:
    args = import_parser().parse_args(argv)
    try:
        kernel = KernelConfig.parse(args.kernel or "").spec
    except ConfigError as e:
        print(f"daxsh import: --kernel: {e}", file=sys.stderr)
        return EXIT_INVALID
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"daxsh import: cannot read {args.file}: {e}", file=sys.stderr)
        return EXIT_INVALID
    lines, s = translate_script(text, kernel)
    s.close()
    print("\n".join(report(lines)))
    bad = [ln for ln in lines if not ln.ok]
    for ln in bad:
        print(f"daxsh import: {args.file}:{ln.lineno}: `{ln.shell.strip()}`: {ln.why}",
              file=sys.stderr)
    if bad and not args.partial:
        print(f"daxsh import: {len(bad)} line(s) not translated; nothing written (rewrite them, "
              "or --partial writes the rest)", file=sys.stderr)
        return EXIT_INVALID
    if args.out:
        try:
            Path(args.out).write_text(scenario_toml(lines, kernel, args.file), encoding="utf-8")
        except OSError as e:
            print(f"daxsh import: cannot write {args.out}: {e.strerror}", file=sys.stderr)
            return EXIT_INVALID
        print(f"written to {args.out} (`daxsh run {args.out}` replays it)")
    return EXIT_OK
