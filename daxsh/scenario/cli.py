"""``daxsh run FILE ...`` and ``daxsh < script``: replay without any UI library.

Exit status: 0 when every expectation holds, 1 when one does not (each failure is named),
2 for invalid input (the file, the step and its line are named).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from ..kernel.config import ConfigError, KernelConfig
from ..lang import Session
from ..lang.lexer import parse_number
from .load import ScenarioError, from_script, load, read_text
from .run import RunReport, run


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="daxsh run", description="Replay scenarios (TOML) or "
                                "scripts of command lines and check their expectations.")
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario .toml, or a text file of "
                   "command lines ('-' reads standard input)")
    p.add_argument("--kernel", metavar="SPEC", help="run on this kernel instead of the ones the "
                   "file names, e.g. 'v6.14' or 'v6.14 +dax-break-layout-final'")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-v", "--verbose", action="store_true", help="print every step and its output")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    kernel = None
    if args.kernel:
        try:
            kernel = KernelConfig.parse(args.kernel).spec
        except ConfigError as e:
            print(f"daxsh run: --kernel: {e}", file=sys.stderr)
            return 2
    reports: list[RunReport] = []
    try:
        for path in args.files:
            sc = from_script(read_text(sys.stdin.buffer, "<stdin>"), "<stdin>") if path == "-" \
                else load(path)
            for spec in ([kernel] if kernel else sc.kernels()):
                reports.append(run(sc, spec))
    except ScenarioError as e:
        if args.json:
            print(json.dumps({"error": str(e), "ok": False}))
        print(f"daxsh run: {e}", file=sys.stderr)
        return 2
    ok = all(r.ok for r in reports)
    if args.json:
        first = reports[0].to_json()
        obj = dict(first)
        obj["ok"] = ok
        obj["runs"] = [r.to_json() for r in reports]
        print(json.dumps(obj, indent=2))
    else:
        for r in reports:
            _print_report(r, args.verbose)
    return 0 if ok else 1


def _print_report(r: RunReport, verbose: bool) -> None:
    ex = r.expect
    want = f" (expected {ex.outcome})" if ex is not None and ex.outcome else ""
    mark = "ok" if r.ok else "FAILED"
    title = f" — {r.scenario.title}" if r.scenario.title else ""
    print(f"{r.scenario.path} [{r.kernel}]{title}")
    if verbose:
        for s in r.steps:
            print(f"  {s.number:>3} [{s.status:<7}] {s.line}")
            for line in s.output:
                for sub in line.splitlines():
                    print(f"        {sub}")
    else:
        for s in r.steps:
            if s.status != "done":
                out = s.output[-1].strip() if s.output else ""
                print(f"  step {s.number} `{s.line}`: {s.status}{': ' + out[:150] if out else ''}")
    print(f"  outcome: {r.outcome}{want}  {mark}")
    for d in r.details[:5]:
        print(f"    {d}")
    for k in r.killed:
        print(f"    killed: {k}")
    for f in r.failures:
        print(f"  FAIL: {f}")


def run_stream(stream: TextIO, kernel: str | None = None, pmem: str | None = None,
               seed: int = 0) -> int:
    """``daxsh < script``: run each line as the shell would, print what it prints."""
    try:
        spec = KernelConfig.parse(kernel or "").spec
        size = parse_number(pmem) if pmem else 1 << 30
    except (ConfigError, ValueError) as e:
        print(f"daxsh: {e}", file=sys.stderr)
        return 2
    s = Session(spec, pmem=size, seed=seed)
    status = 0
    source = getattr(stream, "buffer", None)
    for n, raw in enumerate(source if source is not None else stream, 1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                print(f"daxsh: stdin line {n}: not UTF-8 text (byte 0x{raw[e.start]:02x} at "
                      f"column {e.start + 1}); the line is not run", file=sys.stderr)
                status = 2
                continue
        line = raw.rstrip("\r\n")
        if not line.strip() or line.strip().startswith("#"):
            continue
        r = s.execute(line)
        for x in r.output + r.notices:
            print(x)
        if r.error:
            if r.caret:
                print(r.caret, file=sys.stderr)
            print(r.error, file=sys.stderr)
            status = max(status, 1)
    sys.stdout.flush()
    return status
