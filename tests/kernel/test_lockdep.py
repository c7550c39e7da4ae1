"""lockdep: lock classes, the order they are taken in, and the report of a possible circular
locking dependency -- on an execution that did not deadlock too (kernel/locking/lockdep.c)."""

from __future__ import annotations

from typing import Any

from daxsh.kernel import outcomes
from daxsh.kernel.config import KernelConfig
from daxsh.kernel.locks import RwSem, down_read, down_write, up_read, up_write
from daxsh.kernel.machine import Kernel
from daxsh.kernel.sched import Task
from daxsh.scenario.bad import Bad


def nest(first: RwSem, second: RwSem) -> Any:
    """Take ``first``, then ``second`` under it, then drop both."""
    def body(t: Task) -> Any:
        yield from down_write(t, first)
        yield from down_read(t, second)
        up_read(t, second)
        up_write(t, first)
    return body


def run(k: Kernel, name: str, body: Any) -> Task:
    t = k.spawn(name, None, body, name)
    k.run(t)
    assert t.done
    return t


def kernel() -> Kernel:
    return Kernel(KernelConfig.parse("v6.12"))


def dmesg(k: Kernel) -> list[str]:
    return [x.split("] ", 1)[1] for x in k.dmesg.format()]


def test_abba_in_two_tasks_that_never_overlap_is_reported() -> None:
    k = kernel()
    i_rwsem = RwSem("i_rwsem", "ino 129")
    mmap_lock = RwSem("mmap_lock", "sh")
    run(k, "truncate", nest(i_rwsem, mmap_lock))
    assert "circular" not in "\n".join(dmesg(k))
    assert outcomes.outcome(k).outcome == "clean"
    t2 = run(k, "fault", nest(mmap_lock, i_rwsem))
    log = dmesg(k)
    i = log.index("WARNING: possible circular locking dependency detected")
    assert log[i - 1] == "======================================================"
    assert log[i + 1] == "6.12 #1 Not tainted"
    assert log[i + 3] == f"fault/{t2.tid} is trying to acquire lock:"
    assert log[i + 4].startswith("(&sb->s_type->i_mutex_key), at: ")
    assert log[i + 7].startswith("(&mm->mmap_lock), at: ")
    assert "which lock already depends on the new lock." in log
    a = log.index("-> #1 (&mm->mmap_lock):")
    b = log.index("-> #0 (&sb->s_type->i_mutex_key):")
    assert a < b
    scen = log[log.index(" Possible unsafe locking scenario:"):]
    assert scen[4:8] == ["  lock(&mm->mmap_lock);",
                         "                               lock(&sb->s_type->i_mutex_key);",
                         "                               lock(&mm->mmap_lock);",
                         "  lock(&sb->s_type->i_mutex_key);"]
    assert " *** DEADLOCK ***" in log
    assert f"1 lock held by fault/{t2.tid}:" in log
    assert "Chain exists of:" not in log
    o = outcomes.outcome(k)
    assert o.outcome == "lockdep" and "lockdep" in o.found
    assert Bad.parse("lockdep").outcome == "lockdep"


def test_one_order_everywhere_is_not_reported() -> None:
    k = kernel()
    a, b = RwSem("i_rwsem", "ino 129"), RwSem("invalidate_lock", "ino 129")
    run(k, "t1", nest(a, b))
    run(k, "t2", nest(a, b))
    c = RwSem("i_rwsem", "ino 130")  # another instance of the same class: same order
    run(k, "t3", nest(c, RwSem("invalidate_lock", "ino 130")))
    assert not any("circular" in x for x in dmesg(k))
    assert outcomes.outcome(k).outcome == "clean"


def test_a_three_class_cycle_shows_the_chain() -> None:
    k = kernel()
    a = RwSem("s_umount", "pmem0")
    b = RwSem("i_rwsem", "ino 129")
    c = RwSem("mmap_lock", "sh")
    run(k, "t1", nest(a, b))
    run(k, "t2", nest(b, c))
    run(k, "t3", nest(c, a))
    log = dmesg(k)
    assert "Chain exists of:" in log
    i = log.index("Chain exists of:")
    assert log[i + 1] == "  &type->s_umount_key --> &sb->s_type->i_mutex_key --> &mm->mmap_lock"
    assert [x for x in log if x.startswith("-> #")] == [
        "-> #2 (&mm->mmap_lock):", "-> #1 (&sb->s_type->i_mutex_key):",
        "-> #0 (&type->s_umount_key):"]


def test_directories_have_their_own_i_rwsem_class(shell) -> None:
    """unlink takes the directory's i_rwsem, then the victim's: no self-dependency, and a
    directory-then-file order is not an inversion of file-then-anything."""
    sh = shell("v6.12").mounted("xfs")
    sh("create /mnt/a 4K")
    sh("rm /mnt/a")
    deps = set(sh.k.lockdep.graph())
    assert ("&sb->s_type->i_mutex_dir_key", "&sb->s_type->i_mutex_key") in deps
    assert ("sb_writers", "&sb->s_type->i_mutex_dir_key") in deps


def test_the_freezer_does_not_carry_the_freeze_levels_into_its_later_locks(shell) -> None:
    """v6.8 unbind freezes, then takes s_umount again (thaw, del_gendisk): without
    lockdep_sb_freeze_release that would record sb_writers -> ... after the freeze."""
    sh = shell("v6.12").mounted("xfs", "-m rmapbt=1")
    sh("create /mnt/a 64K")
    sh("unbind pfn0.1")
    assert "Device is about to be removed!" in sh.dmesg()
    assert not any("circular" in x for x in dmesg(sh.k))
    assert outcomes.outcome(sh.k).outcome == "clean"


def test_bad_lockdep_holds_for_the_explorer(shell) -> None:
    """`[expect] bad = "lockdep"`: an execution is bad when lockdep reported, deadlock or not."""
    sh = shell("v6.12")
    bad = Bad.parse("lockdep")
    assert not bad.holds(sh.s, outcomes.outcome(sh.k))
    a, b = RwSem("i_rwsem", "ino 1"), RwSem("mmap_lock", "x")
    run(sh.k, "t1", nest(a, b))
    run(sh.k, "t2", nest(b, a))
    assert bad.holds(sh.s, outcomes.outcome(sh.k))
    assert "WARNING: possible circular locking dependency detected" in sh.text("dmesg")
    assert "outcome: lockdep" in sh.text("check")


def test_an_ended_task_leaves_its_dependencies_not_its_tables(shell) -> None:
    """A long session keeps one dependency per pair of lock classes: each ended task's table
    joins the ended tasks' (earliest first), and the graph is the same as before it ended."""
    sh = shell("v6.12").mounted("xfs")
    for i in range(50):
        sh(f"create /mnt/f{i} 4K")
        sh(f"rm /mnt/f{i}")
    ld = sh.k.lockdep
    assert ld.deps == {} and ld.sites == {}  # every command's task ended
    first = min((d for d in ld.ended.values()), key=lambda d: d.time)
    assert ld.ended[(first.before, first.after)] is first
    assert len(ld.ended) < 20
