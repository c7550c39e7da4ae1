"""``daxsh bisect FILE`` on the command line (no UI library).

Exit status: 0 done, 2 invalid input, 3 a race's verdict was undecided on some kernel,
so the answer may be incomplete.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..scenario.bisect import bisect, render
from ..scenario.load import ScenarioError, load
from ..scenario.run import Judge, search_limits_error

EXIT_OK, EXIT_INVALID, EXIT_UNDECIDED = 0, 2, 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="daxsh bisect",
        description="The outcome of a scenario on every kernel preset (a [threads] race: its "
                    "verdict), and for each change between neighbouring presets the smallest "
                    "set of behaviours (commits) whose change alone flips it.")
    p.add_argument("file", metavar="FILE", help="scenario (TOML) or script of command lines")
    p.add_argument("--kernel-from", metavar="PRESET", help="the oldest preset (default the first)")
    p.add_argument("--kernel-to", metavar="PRESET", help="the newest preset (default the last)")
    p.add_argument("--json", action="store_true", help="print one JSON object: matrix and flips")
    p.add_argument("--budget", type=int, metavar="N", help="a race: at most N executions per "
                   "kernel (an undecided verdict is shown as such)")
    p.add_argument("--time-limit", type=float, metavar="SECS",
                   help="a race: at most SECS seconds per kernel")
    return p


def main(argv: list[str], judge: Judge | None = None) -> int:
    args = parser().parse_args(argv)
    wrong = search_limits_error("daxsh bisect", args.budget, args.time_limit)
    if wrong:
        print(wrong, file=sys.stderr)
        return EXIT_INVALID
    try:
        sc = load(args.file)
        if sc.threads and not sc.steps and judge is None:
            print("daxsh bisect: a [threads] race needs the explorer, which is not part of "
                  "this build", file=sys.stderr)
            return EXIT_UNDECIDED
        r = bisect(sc, args.kernel_from, args.kernel_to, judge, args.time_limit, args.budget)
    except ScenarioError as e:
        print(f"daxsh bisect: {e}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("daxsh bisect: interrupted", file=sys.stderr)
        return EXIT_UNDECIDED
    if args.json:
        print(json.dumps(r.to_json(), indent=2))
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        print("\n".join(render(r, colour)))
    return EXIT_UNDECIDED if r.undecided else EXIT_OK
