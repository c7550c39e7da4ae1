"""Instructions per command line, counted by valgrind (callgrind): a figure that does not move
with the machine's load, for comparing two versions of the model on a noisy machine.

    python benchmarks/instructions.py [FIRST LAST]     # default: lines 300..2300

It runs the 10,000-line script of benchmarks/run.py up to FIRST and up to LAST lines in two
processes and prints (instructions(LAST) - instructions(FIRST)) / (LAST - FIRST), so start-up
and imports cancel out.  Needs valgrind (apt-get install valgrind); not part of CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import os, sys
sys.path.insert(0, "benchmarks")
sys.argv = ["run"]
import run
from daxsh.lang import Session
s = Session("v6.15")
for line in run.script_10k()[:int(os.environ["DAXSH_LINES"])]:
    s.execute(line)
"""


def instructions(lines: int) -> int:
    env = dict(os.environ, DAXSH_LINES=str(lines), PYTHONHASHSEED="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True)
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def main() -> int:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    first, last = (int(x) for x in sys.argv[1:3]) if len(sys.argv) >= 3 else (300, 2300)
    per_line = (instructions(last) - instructions(first)) / (last - first)
    print(f"{per_line:,.0f} instructions per command line (lines {first}..{last} of the "
          "10,000-line script)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
