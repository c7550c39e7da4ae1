"""Freeze protection (sb_start_write / sb_start_pagefault) and freeze_super's levels, as
MF_MEM_PRE_REMOVE's freeze meets them at unbind (v6.8, fa422b353d21; the real-kernel runs, scenarios/real)."""

from __future__ import annotations

MAP = "0x7f0000000000"


def truncate_waiting(sh, kernel_rmapbt: str = "-m rmapbt=1"):
    sh.mounted("xfs", kernel_rmapbt)
    sh.script(f"""
        create /mnt/a 64K
        create /mnt/b 4K
        proc mapper
        mmap /mnt/a 64K
        touch {MAP} 64K --write
        pin {MAP} 4K
        proc sh
    """)
    sh("truncate /mnt/a 0", "blocked")
    return sh


def test_truncate_holds_freeze_protection_while_it_waits(shell) -> None:
    sh = truncate_waiting(shell("v6.12"))
    t = sh.task(1)
    sb = sh.k.mounts["/mnt"].sb
    assert sb.s_writers[0].holders() == [(t, "R")]


def test_v6_8_unbind_freeze_waits_for_the_truncate_then_completes(shell) -> None:
    sh = truncate_waiting(shell("v6.12"))
    r = sh("unbind pfn0.1", "blocked")
    assert "percpu_down_write" in r.output[-1] and "freeze_super" in r.output[-1]
    u = sh.task(2)
    assert "xfs_dax_notify_failure" in u.stack and "kill_dax" in u.stack
    sb = sh.k.mounts["/mnt"].sb
    assert sb.frozen == 1  # SB_FREEZE_WRITE: waiting for the writers
    assert sh.k.nvdimm.pgmap is not None  # the memmap is still there
    r = sh("unpin pin1")
    done = " ".join(r.notice_lines())
    assert "Done  truncate /mnt/a 0" in done and "Done  unbind pfn0.1" in done
    assert sb.frozen == 0 and not any(s.is_locked() for s in sb.s_writers)
    d = sh.dmesg()
    assert d.index("Device is about to be removed!") < d.index("User initiated shutdown received.")


def test_a_writer_that_comes_after_the_freezer_waits_behind_it(shell) -> None:
    sh = truncate_waiting(shell("v6.12"))
    sh("unbind pfn0.1", "blocked")
    r = sh("write /mnt/b 0 4K", "blocked")
    assert "percpu_down_read" in r.output[-1]
    r = sh("unpin pin1")
    notes = " ".join(r.notice_lines())
    assert "Done  truncate" in notes and "Done  unbind" in notes
    assert "Exit  write /mnt/b 0 4K: write: /mnt/b: Input/output error (EIO)" in notes  # shut down


def test_without_rmapbt_there_is_no_freeze_and_the_memmap_goes_under_the_pin(shell) -> None:
    sh = truncate_waiting(shell("v6.12"), "-m rmapbt=0")
    sh("unbind pfn0.1")
    assert "freeze_super" not in sh.text("trace 400")
    assert sh.k.nvdimm.pgmap is None
    sh("unpin pin1", "error")
    assert sh.outcome().outcome == "oops"


def test_v6_1_has_no_freeze_at_unbind(shell) -> None:
    sh = truncate_waiting(shell("v6.1"))
    sh("unbind pfn0.1")
    assert "Corruption of on-disk metadata (0x10)" in sh.dmesg()
    assert "freeze_super" not in sh.text("trace 400")
