"""Fuzz the interactive core: random sessions of command lines, time travel, replay and record
through ``daxsh.shell.Core.run``, as a person (or a cat on the keyboard) would type them.

    python benchmarks/fuzz_core.py [--sessions N] [--lines L] [--seed S] [--first K] [--jobs J]

A session is clean when no line escapes with an exception and no reply is a daxsh bug
(``Status.BUG``); the first unclean session is printed with its lines (reproducible from the
seed) and the exit status is 1.  Also reported: the slowest line and its time.  A measurement,
not a test: nothing here runs in the test suite (tests/shell/test_stateful.py is the test).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIO = str(ROOT / "scenarios" / "2018-dma-vs-truncate-xfs.toml")
WORDS = ["mkfs xfs /dev/pmem0", "mkfs ext4 /dev/pmem0", "mount /dev/pmem0 /mnt -o dax",
         "mount /dev/pmem0 /mnt", "umount /mnt", "create /mnt/a 64K", "create /mnt/b 4K",
         "mmap /mnt/a 64K", "mmap /mnt/b 4K --private", "touch 0x7f0000000000 64K --write",
         "touch $_ 4K", "pin 0x7f0000000000 4K", "pin $_ 8K", "dma pin1", "unpin pin1",
         "truncate /mnt/a 0", "truncate /mnt/a 0 &", "punch /mnt/a 0 4K", "rm /mnt/a",
         "write /mnt/a 0 4K", "read /mnt/a 0 4K", "stat /mnt/a", "ls /mnt", "sync",
         "drop_caches", "chattr +x /mnt/a", "chattr -x /mnt", "lease /mnt/a",
         "lease /mnt/a --return", "munmap 0x7f0000000000", "unbind pfn0.1", "bind pfn0.1",
         "poison 0x101210", "alloc 4K", "mem low", "mem normal", "proc p2", "proc sh", "exit",
         "kill -KILL sh", "kill -TERM %1", "sleep 1", "sleep 0.5", "start truncate /mnt/a 0",
         "start cd /mnt", "step", "step %1 3", "continue", "continue %1", "wait", "wait %1",
         "break xfs_break_dax_layouts", "break kill_dax", "unbreak", "why", "jobs", "check",
         "dmesg", "trace 5", "show pages", "show blocks", "kernel v6.15", "kernel v4.16",
         "reboot", "fsx /mnt/f 20", "cd /mnt", "cd /", "mkdir /mnt/d", "history", "branches",
         "diff 0", "back", "back 2", "goto main", "goto 1", "help", "help truncate", "next",
         "replay", f"replay {SCENARIO} v4.18", f"replay {SCENARIO} --next", "record stop"]
NOISE = ["", "#", "'", '"x', "&", "$_", "0x", "nan", "inf", "-1", "1T", "99999999999999999999",
         "0xffffffffffffffffffff", "²", "é", "/mnt/a#b", "--", "-x", "%9", "b1:", "main:",
         "fg", "bg", "clear", "\t", "a b c"]


def random_line(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.75:
        return rng.choice(WORDS)
    if r < 0.9:  # a valid line with a word replaced by noise
        words = rng.choice(WORDS).split()
        words[rng.randrange(len(words))] = rng.choice(NOISE)
        return " ".join(words)
    return " ".join(rng.choice(NOISE + [w.split()[0] for w in WORDS])
                    for _ in range(rng.randint(1, 4)))


def session(rng: random.Random, n: int, tmp: Path) -> tuple[list[str], str, float, str]:
    import daxsh.lang.commands  # noqa: F401
    from daxsh.shell import Core, Timeline
    core = Core(Timeline(rng.choice(["v4.16", "v4.18", "v6.6", "v6.14", "v6.15"])))
    try:
        return _lines(core, rng, n, tmp)
    finally:
        core.close()  # as the prompt and the screen do when the person leaves


def _lines(core: Any, rng: random.Random, n: int, tmp: Path) -> tuple[list[str], str, float, str]:
    from daxsh.shell import Status
    lines: list[str] = []
    slow, slow_line = 0.0, ""
    for _ in range(n):
        line = random_line(rng)
        if rng.random() < 0.02:
            line = f"record {tmp}/rec.toml"
        lines.append(line)
        t0 = time.perf_counter()
        try:
            r = core.run(line)
        except BaseException as e:  # what the fuzzer is for
            return lines, f"{type(e).__name__}: {e}", slow, slow_line
        dt = time.perf_counter() - t0
        if dt > slow and not line.startswith(("replay", "back", "goto", "diff", "record")):
            slow, slow_line = dt, line
        if r.status == Status.BUG:
            return lines, " | ".join(r.text()), slow, slow_line
    return lines, "", slow, slow_line


def run_range(seed: int, first: int, count: int, lines: int) -> tuple[int, str, list[str], float, str]:
    """Sessions ``first .. first+count-1`` of ``seed``: (first unclean session or -1, its bug,
    its last lines, the slowest line's time, that line)."""
    worst, worst_line = 0.0, ""
    with tempfile.TemporaryDirectory() as d:
        for i in range(first, first + count):
            rng = random.Random(seed * 1_000_003 + i)
            got, bug, slow, slow_line = session(rng, lines, Path(d))
            if slow > worst:
                worst, worst_line = slow, slow_line
            if bug:
                return i, bug, got[-20:], worst, worst_line
    return -1, "", [], worst, worst_line


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--lines", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--first", type=int, default=0, help="number of the first session (to resume)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (sessions are independent)")
    a = p.parse_args()
    t0 = time.perf_counter()
    chunk = 250
    ranges = [(a.seed, f, min(chunk, a.first + a.sessions - f), a.lines)
              for f in range(a.first, a.first + a.sessions, chunk)]
    worst, worst_line = 0.0, ""
    with ProcessPoolExecutor(max(1, a.jobs)) as pool:
        done = a.first
        for i, bug, lines, slow, slow_line in pool.map(run_range, *zip(*ranges, strict=True)):
            if slow > worst:
                worst, worst_line = slow, slow_line
            if i < 0:  # the range is clean: say so, so a stopped run can go on with --first
                done = min(done + chunk, a.first + a.sessions)
                print(f"  {done - a.first} sessions clean ({a.first}..{done - 1}) at "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
            if i >= 0:
                print(f"session {i} (seed {a.seed}): {bug}")
                for x in lines:
                    print(f"  {x}")
                pool.shutdown(wait=False, cancel_futures=True)
                return 1
    dt = time.perf_counter() - t0
    print(f"{a.sessions} sessions ({a.first}..{a.first + a.sessions - 1}) of {a.lines} lines "
          f"clean in {dt:.1f} s ({a.sessions * a.lines / dt:.0f} lines/s, {a.jobs} jobs); "
          f"slowest line {worst * 1000:.1f} ms: {worst_line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
