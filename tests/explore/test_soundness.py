"""Soundness of the footprints: two steps the footprints call independent commute.

From random reachable states of many scenarios (the shipped races and a pool of mixed command
lines on every era of kernel), two threads that can both run take their next step in either
order.  When the footprints say the two steps are independent, both orders must leave the same
machine state (tests/explore/canon.py: logs compared as multisets), each step must have the
same footprint and result in both orders, and neither may stop the other from running.  A key a
kernel path forgets to note makes two dependent steps look independent: that is the worst
error the explorer can make (a "never" that is not), and this test is how it is caught."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from canon import canon
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daxsh.explore import Machine, Problem
from daxsh.explore.runner import TIME, Run
from daxsh.explore.scenarios import problems

ROOT = Path(__file__).parents[2] / "scenarios" / "threads"
POOL = ["truncate /mnt/a 0", "truncate /mnt/a 4K", "pin 0x7f0000000000 4K", "dma pin1",
        "unpin pin1", "create /mnt/c 4K", "touch 0x7f0000000000 8K --write",
        "punch /mnt/a 0 4K", "read /mnt/a 0 4K", "sync", "rm /mnt/b", "munmap 0x7f0000000000",
        "write /mnt/a 0 8K", "touch 0x7f0000001000 4K", "stat /mnt/a", "drop_caches",
        "chattr -x /mnt/a", "unbind pfn0.1", "umount /mnt", "mkdir /mnt/d", "ls /mnt",
        "sleep 1", "exit", "mmap /mnt/b 4K", "lease /mnt/a", "lease /mnt/a --return"]
SETUPS = {
    "xfs": ["mkfs xfs /dev/pmem0 -m rmapbt=1", "mount /dev/pmem0 /mnt -o dax",
            "create /mnt/a 8K", "create /mnt/b 4K", "mmap /mnt/a 8K",
            "touch 0x7f0000000000 4K --write"],
    "ext4": ["mkfs ext4 /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 8K",
             "create /mnt/b 4K", "mmap /mnt/a 8K", "touch 0x7f0000000000 4K --write"],
}
KERNELS = ["v4.13", "v4.16", "v4.18", "v5.8", "v5.19", "v6.6", "v6.8", "v6.14", "v6.15"]

_MACHINES: dict[Any, Machine] = {}


def _shipped() -> list[Problem]:
    out = []
    for path in sorted(ROOT.glob("*.toml")):
        out += [p for p, _v in problems(str(path), None)]
    return out


SHIPPED = _shipped()


def _machine(key: Any, make: Any) -> Machine:
    m = _MACHINES.get(key)
    if m is None:
        m = _MACHINES[key] = Machine(make())
    return m


def _walk(m: Machine, prefix: list[str], extra: list[str]) -> tuple[list[Any], list[Any], Run]:
    run = Run(m)
    for p in prefix:
        run.step(p, footprint=False)
    evs = []
    for p in extra:
        if p not in run.enabled():
            return evs, [], run
        evs.append(run.step(p))
    return evs, canon(run.s), run


def check_pair(m: Machine, seed: int, depth: int) -> int:
    """Walk ``depth`` random steps, then try every two runnable threads both ways.  Returns how
    many pairs were independent (and so compared)."""
    rng = random.Random(seed)
    run = Run(m)
    prefix: list[str] = []
    for _ in range(depth):
        en = run.enabled()
        if not en:
            break
        p = rng.choice(en)
        run.step(p)
        prefix.append(p)
    en = [x for x in run.enabled() if x != TIME]
    run.close()
    compared = 0
    for i, a in enumerate(en):
        for b in en[i + 1:]:
            compared += _compare(m, prefix, a, b)
    return compared


def _compare(m: Machine, prefix: list[str], a: str, b: str) -> int:
    ab, s_ab, r1 = _walk(m, prefix, [a, b])
    r1.close()
    ba, s_ba, r2 = _walk(m, prefix, [b, a])
    r2.close()
    if ab[0].fp.dep(ba[0].fp):
        return 0
    where = f"{m.problem.title or m.problem.setup[:1]} on {m.problem.kernel}: after {prefix}, " \
            f"{a} and {b}\n  {a}: {ab[0].fp}\n  {b}: {ba[0].fp}"
    assert len(ab) == 2 and len(ba) == 2, f"one disabled the other: {where}"
    assert ab[0].fp == ba[1].fp and ab[1].fp == ba[0].fp, f"footprints changed: {where}"
    assert ab[0].result == ba[1].result and ab[1].result == ba[0].result, f"results: {where}"
    if s_ab != s_ba:
        i = next(i for i, (x, y) in enumerate(zip(s_ab, s_ba)) if x != y)
        raise AssertionError(f"different states: {where}\n  {s_ab[max(0, i - 15):i + 3]}\n"
                             f"  {s_ba[max(0, i - 15):i + 3]}")
    return 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SHIPPED) - 1), st.integers(0, 10**6), st.integers(0, 60))
def test_independent_steps_of_shipped_races_commute(which: int, seed: int, depth: int) -> None:
    prob = SHIPPED[which]
    check_pair(_machine(("shipped", which), lambda: prob), seed, depth)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SETUPS)), st.sampled_from(KERNELS),
       st.lists(st.lists(st.sampled_from(POOL), min_size=1, max_size=3), min_size=2, max_size=3),
       st.integers(0, 10**6), st.integers(0, 30))
def test_independent_steps_of_mixed_commands_commute(fs: str, kernel: str,
                                                     lines: list[list[str]], seed: int,
                                                     depth: int) -> None:
    threads = {f"t{i}": ls for i, ls in enumerate(lines)}
    m = Machine(Problem(kernel, setup=SETUPS[fs], threads=threads))
    check_pair(m, seed, depth)


def test_the_check_can_fail() -> None:
    """A footprint left out is caught: with the allocators' keys dropped, a create and an
    unlink look independent, and the freed block or inode number goes to the new file in one
    order only."""
    from daxsh.kernel.sched import Scheduler
    orig = Scheduler.note

    def forgetful(self: Scheduler, key: Any, mode: int = 2) -> None:
        if type(key) is tuple and key and key[0] in ("alloc", "block", "ino_alloc"):
            return
        orig(self, key, mode)

    prob = Problem("v4.18", setup=SETUPS["xfs"],
                   threads={"a": ["create /mnt/c 4K"], "b": ["rm /mnt/b"]})
    m = Machine(prob)
    Scheduler.note = forgetful  # type: ignore[method-assign]
    try:
        caught = 0
        for seed in range(60):
            try:
                check_pair(m, seed, seed % 12)  # the allocation is 8-9 steps in
            except AssertionError:
                caught += 1
        assert caught
    finally:
        Scheduler.note = orig  # type: ignore[method-assign]


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
