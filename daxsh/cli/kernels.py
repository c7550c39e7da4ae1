"""``daxsh kernels [PRESET|BEHAVIOUR]`` on the command line (no UI library).

Exit status: 0 done, 2 an unknown preset or behaviour.
"""

from __future__ import annotations

import argparse
import sys

from ..lang import Session

EXIT_OK, EXIT_INVALID = 0, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="daxsh kernels", description="The kernel presets, what "
                                "each changes, and every behaviour with its commit and release.")
    p.add_argument("name", nargs="?", metavar="PRESET|BEHAVIOUR",
                   help="one preset (what it changes) or one behaviour")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    r = Session("").execute("kernels" + (f" {args.name}" if args.name else ""))
    if r.error:
        print(f"daxsh kernels: {r.error.split(': ', 1)[-1]}", file=sys.stderr)
        return EXIT_INVALID
    print("\n".join(r.output))
    return EXIT_OK
