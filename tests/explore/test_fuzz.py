"""Random small kernel scenarios: DPOR explores exactly the traces plain enumeration finds.

A footprint the kernel forgets to note, or a flaw in the reduction, shows up here as a missed
trace.  On the shipped scenarios the search is optimal (one execution per trace,
test_search.py); on random ones a few executions may repeat a trace or end sleep-set blocked
(the model's events are steps whose footprint depends on the state they find, which the
optimality proof does not allow for -- see daxsh/explore/dpor.py): the test bounds that
redundancy.  A seeded sample runs by default, more with the slow marker."""

from __future__ import annotations

import random
import time

import pytest

from daxsh.explore import Machine, Problem, explore
from daxsh.explore.search import Limits, count_traces

POOL = ["truncate /mnt/a 0", "pin 0x7f0000000000 4K", "dma pin1", "unpin pin1",
        "create /mnt/c 4K", "touch 0x7f0000000000 4K --write", "punch /mnt/a 0 4K",
        "read /mnt/a 0 4K", "sync", "rm /mnt/b", "munmap 0x7f0000000000", "write /mnt/a 0 4K",
        "touch 0x7f0000000000 4K", "stat /mnt/a", "drop_caches", "chattr +x /mnt/a",
        "touch 0x7f0000001000 4K"]
SETUP = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 8K",
         "create /mnt/b 4K", "mmap /mnt/a 8K", "touch 0x7f0000000000 4K --write"]
KERNELS = ["v4.13", "v4.16", "v4.18", "v5.19", "v6.8", "v6.15"]


def _check(seed: int, count: int) -> int:
    rng = random.Random(seed)
    checked = 0
    tried = 0
    traces = executions = 0
    while checked < count and tried < 20 * count:
        tried += 1
        kernel = rng.choice(KERNELS)
        threads = {f"t{i}": [rng.choice(POOL) for _ in range(rng.choice([1, 1, 2]))]
                   for i in range(rng.choice([2, 2, 3]))}
        m = Machine(Problem(kernel, setup=SETUP, threads=threads))
        plain = count_traces(m, Limits(budget=3000, deadline=time.monotonic() + 10))
        if not plain.exhaustive:
            continue
        dpor = explore(m, mode="dpor", count_all=True)
        assert set(dpor.seen) == set(plain.seen), (kernel, threads)
        assert dict(dpor.outcomes) == dict(plain.outcomes), (kernel, threads)
        assert dpor.verdict == plain.verdict
        assert dpor.executions <= 1.5 * dpor.traces + 1, (kernel, threads)
        traces += dpor.traces
        executions += dpor.executions
        checked += 1
    assert executions <= 1.05 * traces, (executions, traces)
    return checked


def test_random_scenarios_quick() -> None:
    assert _check(seed=11, count=10) == 10


@pytest.mark.slow
def test_random_scenarios_many() -> None:
    assert _check(seed=12, count=200) == 200
