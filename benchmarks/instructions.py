"""Instructions per command line, or per explorer execution, counted by valgrind (callgrind): a
figure that does not move with the machine's load, for comparing two versions of the model on a
noisy machine.

    python benchmarks/instructions.py [FIRST LAST]            # default: lines 300..2300
    python benchmarks/instructions.py --explore [FIRST LAST]  # default: executions 200..1200

It runs the 10,000-line script of benchmarks/run.py up to FIRST and up to LAST lines (or the
plain enumeration of bench_explore.py's 2-thread scenario up to FIRST and LAST executions) in two
processes and prints (instructions(LAST) - instructions(FIRST)) / (LAST - FIRST), so start-up,
imports and the setup cancel out.  Needs valgrind (apt-get install valgrind); not part of CI.
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

EXPLORE_CHILD = """
import os
from daxsh.explore import Machine, Problem
from daxsh.explore.search import Limits, Result, Stop, explore_dfs
BASE = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax"]
TWO_THREADS = Problem(
    "v4.16",
    setup=[*BASE, "create /mnt/a 4K", "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write"],
    threads={"truncator": ["truncate /mnt/a 0", "create /mnt/b 24K"],
             "device": ["pin 0x7f0000000000 4K", "dma pin1", "unpin pin1"]},
    bad="corruption")
try:
    explore_dfs(Machine(TWO_THREADS), Limits(budget=int(os.environ["DAXSH_LINES"])),
                Result("dfs", "v4.16"))
except Stop:
    pass
"""


def instructions(lines: int, child: str = CHILD) -> int:
    env = dict(os.environ, DAXSH_LINES=str(lines), PYTHONHASHSEED="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", child], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True)
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def main() -> int:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    args = sys.argv[1:]
    explore = "--explore" in args
    args = [a for a in args if a != "--explore"]
    first, last = (int(x) for x in args[:2]) if len(args) >= 2 else \
        ((200, 1200) if explore else (300, 2300))
    child = EXPLORE_CHILD if explore else CHILD
    per = (instructions(last, child) - instructions(first, child)) / (last - first)
    if explore:
        print(f"{per:,.0f} instructions per execution (executions {first}..{last} of the "
              "2-thread scenario's plain enumeration)")
    else:
        print(f"{per:,.0f} instructions per command line (lines {first}..{last} of the "
              "10,000-line script)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
