"""Random command sequences from a grammar built over the registry never raise a Python
exception out of :meth:`Session.execute`, on any kernel preset.

A simulated kernel failure (oops, deadlock, corruption, hung task) is an outcome; an exception is
a daxsh bug.  Each line is built from the registry: the command's parameters and options, with
words drawn for each argument type from what exists in the model at that moment (files, mapped
addresses, pins, jobs, processes) and, now and then, a wrong word, a missing argument or junk.
Hypothesis supplies the randomness, so a failure is replayed and reported with its lines.

Examples are derandomized so CI sees the same ~200 sequences every run; set
DAXSH_HYPOTHESIS_RANDOM=1 to explore new ones.
"""

from __future__ import annotations

import gc
import os
import random
import sys
from typing import Any

from hypothesis import HealthCheck, currently_in_test_context, given, note, settings
from hypothesis import strategies as st

from daxsh.kernel import outcomes
from daxsh.kernel.config import BY_NAME, PRESETS
from daxsh.lang import render
from daxsh.lang.registry import REGISTRY, Choice, Command, Number, Text
from daxsh.lang.session import Session
from daxsh.lang.types import JobArg, KernelWord, PathArg, SecondsArg, SignalArg, list_dir

STATUSES = {"done", "blocked", "error", "skipped", "stopped"}

PATHS = ["/mnt/a", "/mnt/b", "/mnt/d", "/mnt/d/f", "/mnt", "/", "/tmp", "a", "d", "..",
         "/mnt/zz", "/mnt/a/x", "/mnt/d/../b", "/mnt/c", "/mnt/d/g"]
SIZES = ["0", "0", "0", "1", "4K", "4K", "8K", "12K", "64K", "2M", "0x1000", "4097", "60K", "x"]
PFN_OFFSETS = [0x10, 0x11, 0x12, 0x200, 0x3F]  # near the first data blocks
KFUNCS = ["do_truncate", "dax_layout_busy_page_range", "xfs_break_dax_layouts", "evict",
          "___wait_var_event", "unpin_user_page", "dax_iomap_pte_fault", "iput_final"]
SUBCMDS = ["truncate /mnt/a 0", "punch /mnt/a 0 4K", "stat /mnt/a", "umount /mnt", "rm /mnt/b",
           "touch 0x7f0000000000", "unpin pin1", "write /mnt/a 0 4K", "sleep 1", "proc p9",
           "kernel v4.18", "drop_caches", "unbind pfn0.1"]
JUNK = ["--bogus", "-x", "zz", "%9", "''", "0x", "+x", "&&", "$_"]

# the commands that move the lifecycle along come up more often than the inspecting ones
WEIGHT = {"truncate": 8, "punch": 6, "unpin": 6, "dma": 6, "pin": 6, "touch": 6, "create": 6,
          "mmap": 5, "munmap": 4, "rm": 4, "umount": 4, "drop_caches": 3, "sleep": 3, "write": 3,
          "mount": 3, "unbind": 2, "bind": 3, "kill": 2, "read": 2, "poison": 2, "hwpoison": 2, "wait": 2,
          "continue": 2, "step": 2, "start": 2, "mem": 2, "sync": 2, "chattr": 2, "proc": 2,
          "lease": 2, "cd": 2}
NAMES = sorted(REGISTRY)
WEIGHTS = [WEIGHT.get(n, 1) for n in NAMES]


def files(s: Session) -> list[str]:
    """Regular files that exist now."""
    out = []
    for d in ("/mnt", "/mnt/d"):
        for n in list_dir(s, d) or []:
            if not n.endswith("/"):
                out.append(f"{d}/{n}")
    return out


def addresses(s: Session) -> list[str]:
    p = s.proc
    if p is None:
        return ["0x7f0000000000"]
    out = []
    for v in p.mm.vmas:
        out += [hex(v.start), hex(v.start + 0x1000), hex(v.end - 0x1000), hex(v.end)]
    return out or ["0x7f0000000000", "0x1000"]


def word(rnd: random.Random, s: Session, t: Any, name: str, cmd: str = "") -> str:
    """A plausible word for an argument of type ``t`` of command ``cmd`` given the model's
    state."""
    if rnd.random() < 0.03:
        return rnd.choice(JUNK)
    if isinstance(t, PathArg):
        if cmd in ("create", "mkdir"):
            return rnd.choice(["/mnt/b", "/mnt/c", "/mnt/e", "/mnt/d/g", "/mnt/a", "c", "/tmp/x"])
        if cmd in ("truncate", "punch", "mmap") and rnd.random() < 0.5:
            return "/mnt/a"
        have = files(s)
        return rnd.choice(have) if have and rnd.random() < 0.85 else rnd.choice(PATHS)
    if isinstance(t, JobArg):
        return rnd.choice([f"%{j}" for j in s.jobs] + ["%1", "%2", "1", "%9"])
    if isinstance(t, KernelWord):
        return rnd.choice([*PRESETS] + ["+" + b for b in BY_NAME] + ["-foll-pin", "-dax-refcount-0"])
    if isinstance(t, SignalArg):
        return rnd.choice(["-KILL", "-INT", "-TERM", "-BUS", "-9", "-HUP"])
    if isinstance(t, SecondsArg):
        return rnd.choice(["0", "1", "0.5", "121", "30", "200"])
    if isinstance(t, Number):
        if t.metavar == "ADDR":
            return rnd.choice(addresses(s))
        if t.metavar == "PFN":
            return hex(s.k.nvdimm.ns.data_pfn + rnd.choice(PFN_OFFSETS))
        if t.metavar in ("OPS", "K") or name in ("ops", "count"):
            return rnd.choice(["1", "3", "20"])
        if t.metavar == "N":
            return rnd.choice(["1", "2", "7"])
        return rnd.choice(SIZES)
    if isinstance(t, Choice):
        if not callable(t._choices):
            return rnd.choice([*t._choices, *t._choices, "bogus"])
        if t.what == "kernel function":  # its choices grow as kernel modules are imported
            return rnd.choice(KFUNCS)
        return rnd.choice([*t.choices(s), "pin9" if t.what == "pin" else "bogus"])
    if isinstance(t, Text):
        m = t.metavar
        procs = sorted(s.k.processes)
        if m == "NAME":
            return rnd.choice([*procs, "p2", "p3", "sh"])
        if m == "NAME|%N":
            return rnd.choice([*procs, "p2", *[f"%{j}" for j in s.jobs], "%1"])
        if m.startswith("CMD"):
            return rnd.choice(SUBCMDS)
        if m == "PRESET|BEHAVIOUR":
            return rnd.choice([*PRESETS, *BY_NAME, "zzz"])
        if m == "CMD":
            return rnd.choice([*REGISTRY, "nope"])
        if "rmapbt" in m:
            return rnd.choice(["rmapbt=1", "rmapbt=0", "rmapbt=2"])
        if "su=" in m:
            return rnd.choice(["su=2m", "su=3k", "x"])
        if "stride" in m:
            return rnd.choice(["stride=512", "stride=x"])
        if "FUNC" in m:
            return rnd.choice(KFUNCS)
        return rnd.choice(["x", "a"])
    return "x"


def command_line(rnd: random.Random, s: Session) -> str:
    if rnd.random() < 0.02:
        return "".join(rnd.choice("abcdefmnt/0x1K &#'\"$_-%") for _ in range(rnd.randrange(12)))
    cmd: Command = REGISTRY[rnd.choices(NAMES, WEIGHTS)[0]]
    words = [cmd.name]
    for p in cmd.params:
        if p.repeat:
            n = rnd.choice([0, 1, 1, 2])
        elif p.optional:
            n = rnd.choice([0, 1])
        else:
            n = 0 if rnd.random() < 0.03 else 1
        words += [word(rnd, s, p.type, p.name, cmd.name) for _ in range(n)]
    for o in cmd.options:
        if rnd.random() < 0.25:
            words.append(o.flags[0])
            if o.type is not None:
                words.append(word(rnd, s, o.type, o.dest, cmd.name))
    if cmd.name == "fsx" and (len(words) < 3 or words[2] not in ("1", "3", "20")):
        words[2:2] = ["3"]  # keep fsx short: each op costs 10 ms of model time
    if rnd.random() < 0.03:
        words.insert(rnd.randrange(1, len(words) + 1), rnd.choice(JUNK))
    line = " ".join(words)
    if rnd.random() < 0.08:
        line += " &"
    if rnd.random() < 0.03:
        line += " # comment"
    return line


SETUP = [
    "mkfs {fs} /dev/pmem0{mkfs}",
    "mount /dev/pmem0 /mnt -o dax",
    "mkdir /mnt/d",
    "create /mnt/a 64K",
    "create /mnt/b 16K",
    "mmap /mnt/a 64K",
    "touch 0x7f0000000000 8K --write",
    "pin 0x7f0000000000 4K",
    "proc p2",
    "mmap /mnt/a 64K",
    "touch 0x7f0000000000 4K",
    "proc sh",
]


# the threads' lifecycle in order; check_sequence interleaves it with the random lines
STORY = [
    "truncate /mnt/a 0",
    "create /mnt/c 4K",
    "dma pin1",
    "munmap 0x7f0000000000",
    "punch /mnt/b 0 4K",
    "unpin pin1",
    "rm /mnt/a",
    "drop_caches",
    "proc p2",
    "exit",
    "proc sh",
    "umount /mnt",
    "unbind pfn0.1",
    "sleep 121",
    "bind pfn0.1",
    "mount /dev/pmem0 /mnt -o dax",
    "ls /mnt",
]


def run_line(s: Session, line: str, log: list[str]) -> Any:
    if currently_in_test_context():
        note(line)
    log.append(line)
    r = s.execute(line)
    assert r.status in STATUSES, (line, r.status)
    assert all(isinstance(x, str) for x in r.text())
    if r.status == "error":
        assert r.error
    return r


def check_sequence(kernel: str, fs: str, rmapbt: bool, setup: int, n: int,
                   rnd: random.Random) -> dict[str, int]:
    """Run one sequence; an exception raised by model code while a discarded task generator
    is closed (``reboot``, ``kernel``) counts too, so it is caught here, not in a later test."""
    caught: list[Any] = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = caught.append
    gc.freeze()  # the collection below then only walks what this sequence allocated
    try:
        stats = _sequence(kernel, fs, rmapbt, setup, n, rnd)
        gc.collect()
    finally:
        gc.unfreeze()
        sys.unraisablehook = old_hook
    assert not caught, [f"{u.exc_type.__name__}: {u.exc_value} in {u.object!r}" for u in caught]
    return stats


def _sequence(kernel: str, fs: str, rmapbt: bool, setup: int, n: int,
              rnd: random.Random) -> dict[str, int]:
    s = Session(kernel)
    log: list[str] = []
    stats: dict[str, int] = {}
    mkfs = " -m rmapbt=1" if rmapbt and fs == "xfs" else ""
    for line in SETUP[:setup]:
        run_line(s, line.format(fs=fs, mkfs=mkfs), log)
    story = 0
    for _ in range(n):
        if story < len(STORY) and rnd.random() < 0.3:
            line = STORY[story]
            story += 1
        else:
            line = command_line(rnd, s)
        r = run_line(s, line, log)
        stats[r.status] = stats.get(r.status, 0) + 1
    # what the front-ends show after any sequence
    k = s.k
    for what in ("pages", "ptes", "waiters", "inodes", "blocks"):
        render.show(k, what)
    o = outcomes.outcome(k)
    assert o.outcome in outcomes.OUTCOMES
    stats["outcome:" + o.outcome] = 1
    for line in ("jobs", "why", "check", "dmesg", "trace 5", "ndctl list"):
        run_line(s, line, log)
    return stats


SEQUENCES = {
    "kernel": st.sampled_from(PRESETS),
    "fs": st.sampled_from(["xfs", "xfs", "ext4", "ext2"]),
    "rmapbt": st.booleans(),
    "setup": st.sampled_from([0, 2, 4, 6, 8, len(SETUP), len(SETUP), len(SETUP), len(SETUP)]),
    "n": st.integers(4, 24),
    "rnd": st.randoms(use_true_random=False),
}


@settings(max_examples=200, deadline=None, database=None,
          derandomize=not os.environ.get("DAXSH_HYPOTHESIS_RANDOM"),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(**SEQUENCES)
def test_random_command_sequences_never_raise(kernel: str, fs: str, rmapbt: bool, setup: int,
                                              n: int, rnd: random.Random) -> None:
    check_sequence(kernel, fs, rmapbt, setup, n, rnd)


def test_the_grammar_reaches_every_command_and_the_interesting_states() -> None:
    """The generator is productive: over a fixed set of seeds every command succeeds at least
    once, tasks block, and more than one outcome is reached."""
    seen: dict[str, set[str]] = {}
    outcomes: set[str] = set()
    blocked = 0
    orig = Session.execute

    def spy(self: Session, line: str) -> Any:
        r = orig(self, line)
        if r.status in ("done", "blocked", "stopped") and line.split():
            seen.setdefault(line.split()[0], set()).add(r.status)
        return r

    Session.execute = spy  # type: ignore[method-assign]
    try:
        for seed in range(150):
            rnd = random.Random(seed)
            stats = check_sequence(PRESETS[seed % len(PRESETS)], ["xfs", "ext4", "ext2"][seed % 3],
                                   seed % 2 == 0, len(SETUP) if seed % 4 else seed % 9, 20, rnd)
            blocked += stats.get("blocked", 0)
            outcomes |= {k.split(":")[1] for k in stats if k.startswith("outcome:")}
    finally:
        Session.execute = orig  # type: ignore[method-assign]
    assert sorted(set(REGISTRY) - set(seen)) == []
    assert blocked > 10
    assert {"clean", "corruption"} <= outcomes and len(outcomes) >= 3, outcomes
