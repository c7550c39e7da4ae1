"""``daxsh export FILE --sh [-o OUT.sh] [--kernel SPEC]``: a scenario as a shell script for a
real machine, and the C helper (``daxsh-pin.c``) it builds for mappings and pins (written by
:mod:`daxsh.scenario.export_sh`).  Exit status: 0 written, 2 invalid input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..kernel.config import ConfigError, KernelConfig
from ..lang.hints import error_text
from ..scenario.export_sh import HELPER, helper_source, script
from ..scenario.load import ScenarioError, load


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="daxsh export", description="Write a scenario as a shell "
                                "script for a real machine (and the C helper it builds for "
                                "mappings and pins).")
    p.add_argument("file", metavar="FILE", help="scenario (TOML) or script of command lines")
    p.add_argument("--sh", action="store_true", required=True, help="a shell script (the one "
                   "format there is)")
    p.add_argument("-o", "--out", metavar="OUT.sh", help="write the script there, and "
                   f"{HELPER} beside it (default: print the script)")
    p.add_argument("--kernel", metavar="SPEC", help="replay on this kernel to decide what blocks "
                   "(default the scenario's first)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        sc = load(args.file)
        kernel = KernelConfig.parse(args.kernel).spec if args.kernel else sc.kernels()[0]
    except (ScenarioError, ConfigError) as e:
        print(f"daxsh export: {error_text(e)}", file=sys.stderr)
        return 2
    text, needs_helper = script(sc, kernel)
    if not args.out:
        sys.stdout.write(text)
        if needs_helper:
            print(f"# (the script builds {HELPER}: -o OUT.sh writes it beside the script)",
                  file=sys.stderr)
        return 0
    out = Path(args.out)
    try:
        out.write_text(text, encoding="utf-8")
        out.chmod(0o755)
        if needs_helper:
            (out.parent / HELPER).write_text(helper_source(), encoding="utf-8")
    except OSError as e:
        print(f"daxsh export: cannot write {out}: {e.strerror}", file=sys.stderr)
        return 2
    print(f"written to {out}" + (f" and {out.parent / HELPER}" if needs_helper else ""))
    return 0
