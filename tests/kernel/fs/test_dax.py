"""Truncate / punch / eviction waits for pinned DAX pages, per filesystem and kernel version."""

from __future__ import annotations

import re

import pytest

from daxsh.kernel.sched import TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE

MAP = "0x7f0000000000"


# -- XFS v4.18: xfs_break_layouts -> xfs_break_dax_layouts -> ___wait_var_event ---------------


def test_v4_18_xfs_truncate_blocks_holding_i_rwsem_with_mmaplock_dropped(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    r = sh("truncate /mnt/a 0", "blocked")
    line = r.output[-1]
    assert re.match(r"\[1\] blocked: truncate /mnt/a 0 — wait_var_event\(page pfn 0x[0-9a-f]+\) "
                    r"in xfs_break_dax_layouts .*holds i_rwsem \(W\)$", line), line
    assert r.job == 1 and sh.s.last == "%1"
    t = sh.task(1)
    inode = sh.inode("/mnt/a")
    # i_rwsem (XFS_IOLOCK_EXCL) stays held for the whole wait ...
    assert inode.i_rwsem.holders() == [(t, "W")]
    # (and freeze protection: vfs_truncate's mnt_want_write -> sb_start_write)
    assert [(s.name, m) for s, m in t.held] == [("sb_writers", "R"), ("i_rwsem", "W")]
    # ... while MMAPLOCK (not yet invalidate_lock in 4.18) was dropped by xfs_wait_dax_page
    assert inode.mmaplock.name == "i_mmaplock"
    assert not inode.mmaplock.is_locked()
    assert t.state == TASK_INTERRUPTIBLE
    assert t.wait is not None and t.wait.kind == "var"
    assert "___wait_var_event" in t.stack and "xfs_wait_dax_page" in t.stack
    assert t.stack.index("xfs_break_dax_layouts") < t.stack.index("___wait_var_event")
    # the trace shows MMAPLOCK released before the sleep
    fmt = [ev.format() for ev in sh.k.trace_buf.events if ev.tid == t.tid]
    unlock = next(i for i, x in enumerate(fmt) if "xfs_iunlock" in x and "MMAPLOCK_EXCL" in x)
    sched = max(i for i, x in enumerate(fmt) if x.rstrip().endswith("schedule()"))
    assert unlock < sched
    # the file is untouched while truncate waits
    assert inode.size == 64 * 1024
    assert sh.outcome().outcome == "hung"


def test_v4_18_a_read_fault_from_another_process_proceeds_while_truncate_waits(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    sh("proc p2")
    assert sh.text("mmap /mnt/a 64K") == MAP
    sh("proc sh")
    sh("truncate /mnt/a 0 &", "blocked")
    sh("proc p2")
    r = sh(f"touch {MAP} 8K")  # read faults take MMAPLOCK_SHARED: free while truncate sleeps
    assert "loaded from 2 pages" in r.output
    p2 = sh.k.processes["p2"]
    assert sorted(p2.mm.ptes) == [0x7F0000000000, 0x7F0000001000]
    # a write(2) needs i_rwsem, which truncate keeps: it blocks (D)
    w = sh("write /mnt/a 0 4K", "blocked")
    assert "down_write(i_rwsem" in w.output[-1]
    assert sh.task(2).state == TASK_UNINTERRUPTIBLE
    # the device lets go: truncate rescans (zapping p2's new PTEs), finishes, then write runs
    sh("proc sh")
    r = sh("unpin pin1")
    assert any("[1]+ Done  truncate /mnt/a 0" in n for n in r.notice_lines())
    assert any("[2]+ Done  write /mnt/a 0 4K" in n for n in r.notice_lines())
    assert p2.mm.ptes == {}
    assert sh.inode("/mnt/a").size == 4096
    assert sh.outcome().outcome == "clean"


def test_v4_18_mmaplock_excludes_faults_until_truncate_sleeps(shell) -> None:
    """Stopped before the busy scan, truncate holds both locks and a fault blocks on MMAPLOCK;
    once it sleeps in ___wait_var_event the fault goes through."""
    sh = shell("v4.18").pinned("xfs")
    sh("proc p2")
    sh("mmap /mnt/a 64K")
    sh("proc sh")
    sh("break dax_layout_busy_page_range")
    r = sh("truncate /mnt/a 0", "stopped")
    assert "holds i_rwsem (W), i_mmaplock (W)" in r.output[-1]
    sh("proc p2")
    r = sh(f"touch {MAP}", "blocked")
    assert "down_read(i_mmaplock ino" in r.output[-1]
    assert "held by truncate:" in r.output[-1]
    sh("proc sh")
    sh("unbreak")
    r = sh("continue %1")
    assert any("[2]+ Done  touch" in n for n in r.notice_lines())
    assert "wait_var_event(page pfn" in "\n".join(r.output)
    assert not sh.task(1).done


def test_v4_18_unpin_wakes_truncate_which_then_frees_the_blocks(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    sh("truncate /mnt/a 0", "blocked")
    r = sh("unpin pin1")
    assert r.notice_lines()[0] == "[1]+ Done  truncate /mnt/a 0"
    inode = sh.inode("/mnt/a")
    assert inode.size == 0 and inode.di.extents.total() == 0
    assert not inode.i_rwsem.is_locked() and not inode.mmaplock.is_locked()
    assert sh.s.jobs == {}
    funcs = [ev.func for ev in sh.k.trace_buf.events]
    assert "put_devmap_managed_page" in funcs and "wake_up_var" in funcs
    assert funcs.index("wake_up_var") < funcs.index("xfs_itruncate_extents")
    assert sh.outcome().outcome == "clean"
    assert "WARNING" not in sh.dmesg()


def test_v4_18_punch_waits_too(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    r = sh("punch /mnt/a 0 4K", "blocked")
    assert "xfs_break_dax_layouts" in r.output[-1]
    assert "holds i_rwsem (W)" in r.output[-1]
    sh("unpin pin1")
    assert sh.inode("/mnt/a").di.extents.total() == 15


@pytest.mark.parametrize("sig", ["-INT", "-KILL", "-TERM"])
@pytest.mark.parametrize(("kernel", "fs"), [("v4.18", "xfs"), ("v6.14", "xfs"), ("v6.15", "xfs"),
                                            ("v4.19", "ext4"), ("v6.15", "ext4")])
def test_interruptible_wait_ended_by_a_signal_gives_eintr_and_changes_nothing(shell, kernel, fs,
                                                                             sig) -> None:
    sh = shell(kernel).pinned(fs)
    sh("truncate /mnt/a 0 &", "blocked")
    assert sh.task(1).state == TASK_INTERRUPTIBLE
    inode = sh.inode("/mnt/a")
    r = sh(f"kill {sig} %1")
    assert any("[1]+ Exit  truncate /mnt/a 0" in n and "EINTR" in n for n in r.notice_lines()), r.notice_lines()
    assert sh.s.jobs == {}
    assert inode.size == 64 * 1024 and inode.di.extents.total() == 16
    assert not inode.i_rwsem.is_locked() and not inode.mmaplock.is_locked()
    assert sh.k.sched.blocked() == []
    assert "WARNING" not in sh.dmesg()
    # the pin is still there, and a second truncate waits again
    sh("truncate /mnt/a 0", "blocked")


def test_a_signal_to_a_d_state_job_stays_pending_until_its_interruptible_wait(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    sh("truncate /mnt/a 0 &", "blocked")  # %1 sleeps (S) holding i_rwsem
    sh("punch /mnt/a 0 4K &", "blocked")  # %2 sleeps (D) in down_write(i_rwsem)
    assert sh.task(2).state == TASK_UNINTERRUPTIBLE
    r = sh("kill -INT %2")
    assert "D state" in r.output[0] and "SIGINT stays pending" in r.output[0]
    assert not sh.task(2).done
    r = sh("kill -INT %1")
    # %1 ends with EINTR; %2 gets i_rwsem, finds the page busy and, with SIGINT pending,
    # ___wait_var_event returns -ERESTARTSYS at once
    assert any("[1]+ Exit" in n and "EINTR" in n for n in r.notice_lines()), r.notice_lines()
    assert any("[2]+ Exit" in n and "EINTR" in n for n in r.notice_lines()), r.notice_lines()
    assert sh.inode("/mnt/a").di.extents.total() == 16


def test_kill_of_the_process_ends_its_blocked_truncate_then_the_process(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    sh("proc p2")
    sh("truncate /mnt/a 0", "blocked")
    sh("proc sh")
    sh("kill -KILL p2")
    assert "p2" not in sh.k.processes
    assert sh.k.sched.blocked() == []
    assert not sh.inode("/mnt/a").i_rwsem.is_locked()


# -- ext4 v4.19, ext2 never -----------------------------------------------------------------------


def test_ext4_v4_18_does_not_wait(shell) -> None:
    sh = shell("v4.18").pinned("ext4")
    sh("truncate /mnt/a 0")
    assert sh.inode("/mnt/a").size == 0


@pytest.mark.parametrize("cmd", ["truncate /mnt/a 0", "punch /mnt/a 0 4K"])
def test_ext4_v4_19_waits_holding_i_rwsem_with_i_mmap_sem_dropped(shell, cmd) -> None:
    sh = shell("v4.19").pinned("ext4")
    sh("proc p2")
    sh("mmap /mnt/a 64K")
    sh("proc sh")
    r = sh(cmd, "blocked")
    assert "in ext4_break_layouts" in r.output[-1]
    assert r.output[-1].endswith("holds i_rwsem (W)")
    t = sh.task(1)
    inode = sh.inode("/mnt/a")
    assert inode.mmaplock.name == "i_mmap_sem"
    assert not inode.mmaplock.is_locked()
    assert inode.i_rwsem.holders() == [(t, "W")]
    assert "ext4_wait_dax_page" in t.stack
    assert t.state == TASK_INTERRUPTIBLE
    sh("proc p2")
    sh(f"touch {MAP}")  # read fault proceeds
    sh("proc sh")
    r = sh("kill -INT %1")
    assert any("EINTR" in n for n in r.notice_lines())
    sh(cmd, "blocked")
    r = sh("unpin pin1")
    assert any("Done" in n for n in r.notice_lines())
    assert sh.outcome().outcome == "clean"


def test_ext4_uses_invalidate_lock_name_from_v5_15(shell) -> None:
    sh = shell("v5.15").pinned("ext4")
    sh("truncate /mnt/a 0", "blocked")
    assert sh.inode("/mnt/a").mmaplock.name == "invalidate_lock"
    assert not sh.inode("/mnt/a").mmaplock.is_locked()


@pytest.mark.parametrize("kernel", ["v4.16", "v4.19", "v6.14", "v6.15"])
def test_ext2_never_waits(shell, kernel) -> None:
    sh = shell(kernel).pinned("ext2")
    sh("truncate /mnt/a 0")
    assert sh.inode("/mnt/a").size == 0
    assert sh.k.sched.blocked() == []
    sh("create /mnt/b 4K")
    r = sh("dma pin1")
    assert r.output[0].startswith("CORRUPTION: dma pin1 wrote block 16")
    assert sh.outcome().outcome == "corruption"


def test_ext2_v6_15_umount_does_not_wait_either(shell) -> None:
    sh = shell("v6.15").pinned("ext2")
    sh("munmap 0x7f0000000000")
    sh("umount /mnt")
    assert "/mnt" not in sh.k.mounts


# -- the mapping_mapped() short-cut (v4.18 - v6.14) and its removal (v6.15) -------------------


@pytest.mark.parametrize("kernel", ["v4.18", "v5.8", "v6.14"])
def test_busy_scan_skipped_when_the_file_has_no_vmas(shell, kernel) -> None:
    sh = shell(kernel).pinned("xfs")
    sh(f"munmap {MAP}")
    sh("truncate /mnt/a 0")  # no VMA: dax_layout_busy_page returns NULL at once
    assert any("!mapping_mapped" in ev.args for ev in sh.k.trace_buf.events
               if ev.func == "dax_layout_busy_page_range")
    sh("create /mnt/b 4K")
    r = sh("dma pin1")
    assert "CORRUPTION" in r.output[0]
    assert "/mnt/b" in r.output[0] and "/mnt/a" in r.output[0]
    assert sh.outcome().outcome == "corruption"


def test_v6_15_busy_scan_of_an_unmapped_file_still_waits(shell) -> None:
    sh = shell("v6.15").pinned("xfs")
    sh(f"munmap {MAP}")
    r = sh("truncate /mnt/a 0", "blocked")
    assert "xfs_break_dax_layouts" in r.output[-1]
    sh("create /mnt/b 4K")
    r = sh("dma pin1")
    assert "CORRUPTION" not in r.output[0] and "its own" in r.output[0]
    r = sh("unpin pin1")
    assert any("Done" in n for n in r.notice_lines())
    assert sh.outcome().outcome == "clean"
    assert "WARNING" not in sh.dmesg()  # dax_break_layout deleted the entries itself


# -- v6.15 eviction: umount sleeps in D state until unpin -----------------------------------------


def test_v6_15_umount_blocks_uninterruptibly_until_unpin(shell) -> None:
    sh = shell("v6.15").pinned("xfs")
    r = sh("umount /mnt", "error")
    assert "EBUSY" in r.error  # still mapped
    sh(f"munmap {MAP}")
    r = sh("umount /mnt", "blocked")
    assert "wait_var_event(page pfn" in r.output[-1]
    assert "dax_break_layout_final" in r.output[-1]
    assert "[D]" in r.output[-1]
    t = sh.task(1)
    assert t.state == TASK_UNINTERRUPTIBLE
    assert "xfs_fs_evict_inode" in t.stack and "evict_inodes" in t.stack
    for sig in ("-INT", "-KILL"):
        r = sh(f"kill {sig} %1")
        assert "D state" in r.output[0]
        assert not t.done
    assert sh.outcome().outcome == "hung"
    r = sh("unpin pin1")
    assert r.notice_lines()[0] == "[1]+ Done  umount /mnt"
    assert "/mnt" not in sh.k.mounts
    assert sh.outcome().outcome == "clean"


@pytest.mark.parametrize("kernel", ["v4.18", "v6.14"])
def test_before_v6_15_umount_with_a_pin_completes(shell, kernel) -> None:
    sh = shell(kernel).pinned("xfs")
    sh(f"munmap {MAP}")
    sh("umount /mnt")
    assert "/mnt" not in sh.k.mounts


def test_v6_15_ext4_eviction_waits_too(shell) -> None:
    sh = shell("v6.15").pinned("ext4")
    sh(f"munmap {MAP}")
    r = sh("umount /mnt", "blocked")
    assert "ext4_evict_inode" in sh.task(1).stack
    assert "[D]" in r.output[-1]
    sh("unpin pin1")
    assert "/mnt" not in sh.k.mounts


def test_v6_15_rm_of_a_pinned_unmapped_file_waits_in_eviction(shell) -> None:
    sh = shell("v6.15").pinned("xfs")
    sh(f"munmap {MAP}")
    r = sh("rm /mnt/a", "blocked")
    assert "dax_break_layout_final" in r.output[-1]
    assert sh.task(1).state == TASK_UNINTERRUPTIBLE
    r = sh("unpin pin1")
    assert any("Done  rm /mnt/a" in n for n in r.notice_lines())
