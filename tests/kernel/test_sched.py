"""Task lifecycle edge cases: tasks that are still sleeping when their machine is thrown away
(``reboot``, ``kernel``, the end of a session), and kernel functions a user can break on."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def drop_and_collect(make: Any) -> list[str]:
    """Run ``make`` (which builds and discards a session), collect the garbage, and return
    what Python reported as unraisable meanwhile (e.g. "generator ignored GeneratorExit")."""
    caught: list[Any] = []
    old = sys.unraisablehook
    sys.unraisablehook = caught.append
    gc.freeze()
    try:
        make()
        gc.collect()
    finally:
        gc.unfreeze()
        sys.unraisablehook = old
    return [f"{u.exc_type.__name__}: {u.exc_value} ({u.object!r})" for u in caught]


SLEEPERS = {
    "fsx-on-unlinked-file": ("v6.15", """
        mkfs xfs /dev/pmem0
        mount /dev/pmem0 /mnt -o dax
        create /mnt/a 64K
        fsx /mnt/a 3 &
        rm /mnt/a
    """),
    "blocked-truncate-of-a-dontcache-inode": ("v6.15", """
        mkfs xfs /dev/pmem0
        mount /dev/pmem0 /mnt -o dax=inode
        create /mnt/a 64K
        chattr +x /mnt/a
        mmap /mnt/a 64K
        touch 0x7f0000000000 --write
        pin 0x7f0000000000
        munmap 0x7f0000000000
        truncate /mnt/a 0
        chattr -x /mnt/a
    """),
    "umount-in-d-state": ("v6.15", """
        mkfs xfs /dev/pmem0
        mount /dev/pmem0 /mnt -o dax
        create /mnt/a 64K
        mmap /mnt/a 64K
        touch 0x7f0000000000 --write
        pin 0x7f0000000000
        munmap 0x7f0000000000
        umount /mnt
    """),
    "stopped-at-a-breakpoint": ("v4.18", """
        mkfs xfs /dev/pmem0
        mount /dev/pmem0 /mnt -o dax
        create /mnt/a 64K
        break dax_layout_busy_page_range
        truncate /mnt/a 0
    """),
}


@pytest.mark.parametrize("name", sorted(SLEEPERS))
@pytest.mark.parametrize("how", ["reboot", "end of session"])
def test_throwing_away_a_machine_with_sleeping_tasks_raises_nothing(shell, name, how) -> None:
    kernel, script = SLEEPERS[name]

    def make() -> None:
        sh = shell(kernel)
        for line in script.strip().splitlines():
            r = sh.s.execute(line.strip())
            assert r.status != "error", r.text()
        assert sh.k.sched.tasks, "the script should leave a task sleeping"
        if how != "end of session":
            sh(how)
        sh.s.close()  # whoever drops a machine retires it

    assert drop_and_collect(make) == []


CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import daxsh.lang.commands
from daxsh.lang.registry import REGISTRY
from daxsh.lang.session import Session
from daxsh.kernel.sched import KFUNCS, TRACED
fresh = set(KFUNCS) | set(TRACED)
s = Session("v6.15")
bad = []
for name in sys.argv[2:]:
    r = s.execute("break " + name)
    if r.status != "done":
        bad.append(name)
print(" ".join(sorted(bad)))
"""


def all_breakable() -> set[str]:
    """Every kernel function once every kernel module is imported."""
    import importlib
    import pkgutil

    import daxsh.kernel
    from daxsh.kernel.sched import KFUNCS, TRACED
    for m in pkgutil.iter_modules(daxsh.kernel.__path__):
        importlib.import_module(f"daxsh.kernel.{m.name}")
    return set(KFUNCS) | set(TRACED)


def test_break_accepts_kernel_functions_before_their_module_is_first_used() -> None:
    """`break kmalloc` must not depend on whether an `unpin --alloc` already imported the
    reclaim module: the set of functions cannot change with the session's history."""
    from daxsh.lang.registry import REGISTRY
    everything = all_breakable()
    listed = sorted({f for c in REGISTRY.values() for f in c.kfuncs} & everything)
    assert "kmalloc" in listed
    p = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), *listed], capture_output=True,
                       text=True, timeout=60, check=True)
    assert p.stdout.split() == []
