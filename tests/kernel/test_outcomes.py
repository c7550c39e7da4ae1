"""Allocator reuse, refcount conventions and the detectors: corruption, oops, WARN, deadlock,
hung task."""

from __future__ import annotations

import re

import pytest

MAP = "0x7f0000000000"


def owners(sh, first: int, n: int) -> list:
    fs = sh.k.media_fs
    return [fs.owner(b) for b in range(first, first + n)]


# -- the block allocator ---------------------------------------------------------------------------


def test_allocator_hands_out_the_lowest_free_block_first(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    sh("create /mnt/a 16K")
    sh("create /mnt/b 8K")
    a, b = sh.inode("/mnt/a").ino, sh.inode("/mnt/b").ino
    assert owners(sh, 16, 6) == [(a, 0), (a, 1), (a, 2), (a, 3), (b, 0), (b, 1)]
    sh("rm /mnt/a")
    assert owners(sh, 16, 4) == [None] * 4
    sh("create /mnt/c 12K")  # the freed blocks go to the next file, lowest first
    c = sh.inode("/mnt/c").ino
    assert owners(sh, 16, 4) == [(c, 0), (c, 1), (c, 2), None]
    sh("create /mnt/d 8K")  # the rest of the hole, then past b
    d = sh.inode("/mnt/d").ino
    assert owners(sh, 19, 4) == [(d, 0), (b, 0), (b, 1), (d, 1)]


def test_truncate_frees_blocks_that_the_next_file_reuses(shell) -> None:
    sh = shell("v4.18").mounted("ext4")
    sh("create /mnt/a 64K")
    sh("truncate /mnt/a 16K")
    assert sh.inode("/mnt/a").di.extents.total() == 4
    sh("create /mnt/b 4K")
    assert sh.k.media_fs.owner(20) == (sh.inode("/mnt/b").ino, 0)
    out = sh.text("show blocks")
    assert re.search(r"^20-20\s+4K\s+0x[0-9a-f]+\s+file\s+/mnt/b", out, re.M), out


def test_punch_frees_a_hole_in_the_middle(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    sh("create /mnt/a 16K")
    sh("punch /mnt/a 4K 8K")
    a = sh.inode("/mnt/a").ino
    assert owners(sh, 16, 4) == [(a, 0), None, None, (a, 3)]
    assert sh.inode("/mnt/a").size == 16 * 1024
    sh("create /mnt/b 4K")
    assert sh.k.media_fs.owner(17) == (sh.inode("/mnt/b").ino, 0)


# -- corruption --------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["truncate /mnt/a 0", "punch /mnt/a 0 4K"])
@pytest.mark.parametrize(("kernel", "fs"), [("v4.16", "xfs"), ("v4.17", "xfs"), ("v4.17", "ext4"),
                                            ("v4.18", "ext4")])
def test_truncate_or_punch_under_dma_then_reuse_is_corruption(shell, kernel, fs, op) -> None:
    sh = shell(kernel).pinned(fs)
    sh(op)
    sh("create /mnt/b 4K")
    r = sh("dma pin1")
    b = sh.inode("/mnt/b").ino
    text = r.output[0]
    # names the writer, the block, the new owner and the old one
    assert text.startswith("CORRUPTION: dma pin1 wrote block 16 (pfn 0x")
    assert f"which now belongs to /mnt/b (ino {b}) index 0" in text
    assert "it was pinned from /mnt/a index 0" in text
    assert r.status == "done"
    o = sh.outcome()
    assert o.outcome == "corruption"
    assert sh.events("corruption") == [text.removeprefix("CORRUPTION: ")]
    assert "corruption" in sh.text("check")
    # the block is marked in the block view, and a read of b reports the foreign data
    assert "foreign-data" in sh.text("show blocks")
    assert "data from dma pin1" in sh.text("read /mnt/b 0 4K")


def test_dma_into_a_freed_but_unallocated_block_is_not_corruption_yet(shell) -> None:
    sh = shell("v4.16").pinned("xfs")
    sh("truncate /mnt/a 0")
    r = sh("dma pin1")
    assert "now free" in r.output[0]
    assert sh.outcome().outcome == "clean"


def test_dma_through_a_pin_on_its_own_file_is_clean(shell) -> None:
    sh = shell("v4.16").pinned("xfs")
    r = sh("dma pin1")
    assert "its own" in r.output[0]
    assert sh.outcome().outcome == "clean"


# -- WARN -----------------------------------------------------------------------------------------------


def test_v4_17_truncate_of_a_busy_page_warns_in_dax_disassociate_entry(shell) -> None:
    sh = shell("v4.17").pinned("xfs")
    r = sh("truncate /mnt/a 0")
    assert any(n.startswith("daxsh: WARN: WARNING at fs/dax.c dax_disassociate_entry")
               for n in r.notice_lines())
    d = sh.dmesg()
    assert "------------[ cut here ]------------" in d
    # no line number: none was read in the v4.17 source (kernel/messages.py WARN_LINES)
    assert re.search(r"WARNING: CPU: 0 PID: \d+ at fs/dax\.c dax_disassociate_entry", d), d
    # a WARN_ON_ONCE prints no condition: the notice and the trace event carry it
    assert "WARN_ON_ONCE(trunc && page_ref_count(page) > 1)" not in d
    assert any("WARN_ON_ONCE(trunc && page_ref_count(page) > 1)" in n for n in r.notice_lines())
    assert "Modules linked in:" in d
    assert re.search(r"Comm: truncate Not tainted 4\.17", d)
    assert " truncate_inode_pages_range" in d and " xfs_setattr_size" in d
    assert "---[ end trace" in d
    assert sh.outcome().outcome == "clean"  # the machine continues
    n = d.count("WARNING: CPU")
    sh("truncate /mnt/a 64K")
    sh(f"touch {MAP} 4K --write")
    sh("truncate /mnt/a 0")  # WARN_ON_ONCE: not again
    assert sh.dmesg().count("WARNING: CPU") == n


@pytest.mark.parametrize(("kernel", "line", "header"), [
    ("v6.1", "fs/dax.c:398", "CPU: 0 PID: "), ("v6.12", "fs/dax.c:390", "CPU: 0 UID: 0 PID: ")])
def test_warn_names_the_line_read_in_that_release_and_its_stack_dump_shape(
        shell, kernel, line, header) -> None:
    sh = shell(kernel).pinned("xfs")
    sh(f"munmap {MAP}")
    sh("truncate /mnt/a 0")  # no VMA: the busy scan is skipped and the entry goes under the pin
    d = sh.dmesg()
    assert re.search(rf"WARNING: CPU: 0 PID: \d+ at {re.escape(line)} dax_disassociate_entry", d), d
    assert header + "" in d and " <TASK>" in d and " </TASK>" in d


def test_v4_17_call_trace_has_no_task_markers(shell) -> None:
    sh = shell("v4.17").pinned("xfs")
    sh("truncate /mnt/a 0")
    d = sh.dmesg()
    assert "Call Trace:" in d and "<TASK>" not in d


@pytest.mark.parametrize("kernel", ["v4.16", "v4.18"])
def test_no_warn_on_v4_16_nor_when_v4_18_waited(shell, kernel) -> None:
    sh = shell(kernel).pinned("xfs")
    if kernel == "v4.18":
        sh("truncate /mnt/a 0 &", "blocked")
        sh("unpin pin1")
    else:
        sh("truncate /mnt/a 0")
    assert "WARNING" not in sh.dmesg()
    assert sh.events("warn") == []


# -- oops after unbind ------------------------------------------------------------------------------


UNBIND = """
    create /mnt/a 64K
    proc mapper
    mmap /mnt/a 64K
    touch 0x7f0000000000 64K --write
    proc sh
"""


def test_v6_6_unbind_then_umount_oopses(shell) -> None:
    sh = shell("v6.6").mounted("xfs", "-m rmapbt=1")
    sh.script(UNBIND)
    sh("unbind pfn0.1")
    d = sh.dmesg()
    assert "Corruption of on-disk metadata (0x10) detected at xfs_dax_notify_failure" in d
    assert "mapper" in sh.k.processes  # 6.0-6.7 kill only the current task: nobody here
    assert sh.events("killed") == []
    sh("exit mapper")
    r = sh("umount /mnt", "error")
    assert "oops" in r.error.lower()
    assert "BUG: unable to handle page fault for address" in "\n".join(r.text())
    d = sh.dmesg()
    assert "BUG: unable to handle page fault for address:" in d
    assert "#PF: supervisor read access in kernel mode" in d
    assert "Oops: 0000 [#1] PREEMPT SMP NOPTI" in d
    assert re.search(r"CPU: 0 PID: \d+ Comm: umount Not tainted 6\.6", d)
    assert "RIP: 0010:dax_disassociate_entry" in d
    trace = d[d.index("RIP: 0010:dax_disassociate_entry"):]
    for f in ("__dax_invalidate_entry", "truncate_inode_pages_range", "evict", "evict_inodes",
              "generic_shutdown_super"):
        assert f" {f}" in trace
    o = sh.outcome()
    assert o.outcome == "oops"
    # the crashed machine refuses further commands until reboot; inspection still works
    r = sh("ls /mnt", "skipped")
    assert "reboot" in r.error
    sh("mount /dev/pmem0 /mnt", "skipped")
    for cmd in ("dmesg", "check", "show pages", "ndctl list", "jobs", "why", "trace 5"):
        sh(cmd)
    assert "outcome: oops" in sh.text("check")
    sh("reboot")
    assert sh.outcome().outcome == "clean"
    sh("mount /dev/pmem0 /mnt -o dax")  # the media survived
    assert "a" in sh.text("ls /mnt").split()


@pytest.mark.parametrize("mkfs", ["-m rmapbt=0", ""])
def test_v6_8_without_rmapbt_still_oopses(shell, mkfs) -> None:
    """the real-kernel runs: notify_failure needs the rmap btree; without it 6.12 oopses
    exactly as 6.1."""
    sh = shell("v6.8").mounted("xfs", mkfs)
    sh.script(UNBIND)
    sh("unbind pfn0.1")
    assert "mapper" in sh.k.processes
    sh("exit mapper")
    sh("umount /mnt", "error")
    assert sh.outcome().outcome == "oops"


def test_v6_8_unbind_with_rmapbt_kills_mappers_and_umount_is_clean(shell) -> None:
    sh = shell("v6.8").mounted("xfs", "-m rmapbt=1")
    sh.script(UNBIND)
    r = sh("unbind pfn0.1")
    assert any("mapper" in n and "SIGBUS (BUS_MCEERR_AO)" in n for n in r.notice_lines()), r.notice_lines()
    d = sh.dmesg()
    assert "XFS (pmem0): Device is about to be removed!" in d
    assert re.search(r"Memory failure: 0x[0-9a-f]+: Sending SIGBUS to mapper:\d+ due to hardware "
                     r"memory corruption", d)
    assert "User initiated shutdown received." in d
    assert "mapper" not in sh.k.processes
    sh("umount /mnt")
    assert "Unmounting Filesystem" in sh.dmesg()
    o = sh.outcome()
    assert o.outcome == "clean"
    assert any("mapper" in x and "BUS_MCEERR_AO" in x for x in o.killed)


def test_unpin_after_unbind_touches_the_removed_memmap(shell) -> None:
    sh = shell("v6.8").pinned("xfs")
    sh(f"munmap {MAP}")
    sh("umount /mnt")
    sh("unbind pfn0.1")
    sh("unpin pin1", "error")
    assert sh.outcome().outcome == "oops"
    assert "unpin_user_page" in sh.dmesg()


# -- deadlock ---------------------------------------------------------------------------------------


PROPOSAL_V59 = "v5.9 +proposed-dax-break-mapping-uninterruptible"


def test_unpin_that_reclaims_into_eviction_of_its_own_page_deadlocks_up_to_v5_12(shell) -> None:
    """Up to v5.12 the inode shrinker evicts an unused DAX inode that holds entries; with an
    eviction that waits for idle pages the completion waits for its own pin."""
    sh = shell(PROPOSAL_V59).pinned("xfs")
    sh(f"munmap {MAP}")  # the inode goes to the LRU with its DAX entries
    sh("mem low")
    r = sh("unpin pin1 --alloc", "blocked")
    assert "dax_break_mapping_uninterruptible" in r.output[-1]
    t = sh.task(1)
    assert "__alloc_pages_direct_reclaim" in t.stack and "evict" in t.stack
    o = sh.outcome()
    assert o.outcome == "deadlock"
    assert o.details[0] == f"deadlock: kworker/0:1:{t.tid} -> kworker/0:1:{t.tid}"
    why = sh.text("why")
    assert "DEADLOCK" in why
    assert "DEADLOCK" in sh.text("show waiters")
    assert "outcome: deadlock" in sh.text("check")


@pytest.mark.parametrize("kernel, off_lru", [
    ("v5.15 +proposed-xfs-evict-break-layouts", False),  # mapping_empty: LRU_RETRY
    ("v6.1 +proposed-xfs-evict-break-layouts", True),    # mapping_shrinkable: never on the LRU
    ("v6.15", True),
])
def test_from_v5_13_reclaim_never_evicts_an_unused_dax_inode_with_entries(shell, kernel,
                                                                           off_lru) -> None:
    sh = shell(kernel).pinned("xfs")
    sh(f"touch {MAP} 64K --write")  # 16 entries: not mapping_shrinkable
    sh(f"munmap {MAP}")
    sh("mem low")
    sh("unpin pin1 --alloc")
    inode = sh.inode("/mnt/a")
    assert inode is not None and inode.i_count == 0 and inode.mapping.i_pages
    assert inode.on_lru is not off_lru
    assert sh.outcome().outcome == "clean"
    r = sh("drop_caches")
    assert "evicted 0 inodes" in r.text()
    assert sh.inode("/mnt/a") is inode
    trace = sh.text("trace 2000")
    want = "!mapping_shrinkable" if off_lru else "LRU_RETRY (!mapping_empty"
    assert want in trace


def test_mapping_shrinkable_keeps_a_single_entry_at_index_0_on_the_lru(shell) -> None:
    """One order-0 value entry at index 0 sits in the xarray head: shrinkable, on the LRU, and
    still never evicted (mapping_empty fails)."""
    sh = shell("v6.15").mounted("xfs")
    sh("create /mnt/a 4K")
    sh("mmap /mnt/a 4K")
    sh(f"touch {MAP} 4K --write")
    sh(f"munmap {MAP}")
    sh("drop_caches")
    inode = sh.inode("/mnt/a")
    assert inode is not None and inode.on_lru and list(inode.mapping.i_pages) == [0]
    assert "LRU_RETRY" in sh.text("trace")


def test_up_to_v5_12_drop_caches_evicts_an_unused_dax_inode(shell) -> None:
    sh = shell("v5.9").mounted("xfs")
    sh("create /mnt/a 64K")
    sh("mmap /mnt/a 64K")
    sh(f"touch {MAP} 64K --write")
    sh(f"munmap {MAP}")
    r = sh("drop_caches")
    assert "evicted 1 inode" in r.text()
    assert not any(i.ino > 128 for i in sh.k.mounts["/mnt"].sb.icache.values())


def test_the_same_unpin_without_memory_pressure_is_clean(shell) -> None:
    sh = shell("v6.15").pinned("xfs")
    sh(f"munmap {MAP}")
    sh("unpin pin1 --alloc")
    assert sh.outcome().outcome == "clean"


# -- hung task ------------------------------------------------------------------------------------------


def test_hung_task_message_after_120_seconds_in_d_state(shell) -> None:
    sh = shell("v6.15").pinned("xfs")
    sh(f"munmap {MAP}")
    sh("umount /mnt", "blocked")
    t = sh.task(1)
    sh("sleep 119")
    assert "INFO: task" not in sh.dmesg()
    r = sh("sleep 2")
    assert r.notice_lines() == [f"daxsh: hung task: task umount:{t.tid} blocked for more than 120 seconds"]
    d = sh.dmesg()
    assert f"INFO: task umount:{t.tid} blocked for more than 120 seconds." in d
    assert '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.' in d
    assert re.search(rf"task:umount\s+state:D .*pid:{t.tid}", d)
    assert " dax_break_layout_final" in d
    line = next(x for x in sh.k.dmesg.format() if "INFO: task" in x)
    assert line.startswith("[  120.000000] ")
    sh("sleep 600")
    assert sh.dmesg().count("INFO: task") == 1  # reported once
    assert sh.outcome().outcome == "hung"
    assert "HUNG" in sh.text("show waiters")
    sh("unpin pin1")
    # a task reported hung that later completed is only a dmesg line
    assert sh.outcome().outcome == "clean"
    assert "INFO: task" in sh.dmesg()


@pytest.mark.parametrize("fs", ["xfs", "ext4"])
def test_sleep_121_reports_a_d_state_umount(shell, fs) -> None:
    sh = shell("v6.15").pinned(fs)
    sh(f"munmap {MAP}")
    sh("umount /mnt &", "blocked")
    t = sh.task(1)
    r = sh("sleep 121")
    assert any(f"task umount:{t.tid} blocked for more than 120 seconds" in n for n in r.notice_lines())
    assert f"INFO: task umount:{t.tid} blocked for more than 120 seconds." in sh.dmesg()
    assert sh.events("hung-task") == [f"task umount:{t.tid} blocked for more than 120 seconds"]


def test_interruptible_sleepers_are_not_reported_hung(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    sh("truncate /mnt/a 0", "blocked")
    sh("sleep 121")
    assert "INFO: task" not in sh.dmesg()
    assert sh.events("hung-task") == []


def test_a_d_state_lock_waiter_behind_an_s_state_waiter_is_reported(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    sh("truncate /mnt/a 0", "blocked")
    sh("write /mnt/a 0 4K", "blocked")  # D on i_rwsem
    w = sh.task(2)
    sh("sleep 121")
    assert f"INFO: task write:{w.tid} blocked for more than 120 seconds." in sh.dmesg()
    assert sh.dmesg().count("INFO: task") == 1


# -- refcount conventions in `show pages` --------------------------------------------------------


def pages_row(sh) -> list[str]:
    out = sh.text("show pages").splitlines()
    return out[0], out[1].split(), out[2].split()


@pytest.mark.parametrize(("kernel", "pinned_ref"), [("v4.18", "2"), ("v5.7", "1025"),
                                                     ("v6.14", "1025")])
def test_one_based_refcount_up_to_v6_14(shell, kernel, pinned_ref) -> None:
    sh = shell(kernel).mounted("xfs")
    sh("create /mnt/a 64K")
    sh("mmap /mnt/a 64K")
    sh(f"touch {MAP} --write")
    head, cols, row = pages_row(sh)
    assert head == "struct page (1-based: idle at 1, busy = refcount > 1)"
    assert cols[:6] == ["pfn", "block", "refcount", "mapcount", "pins", "state"]
    assert row[2:6] == ["1", "-", "0", "idle"]  # a mapping takes no reference
    sh(f"pin {MAP}")
    _h, _c, row = pages_row(sh)
    assert row[2:6] == [pinned_ref, "-", "1", "busy"]
    sh("unpin pin1")
    _h, _c, row = pages_row(sh)
    assert row[2:6] == ["1", "-", "0", "idle"]


def test_zero_based_refcount_with_mapcount_on_v6_15(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    sh("create /mnt/a 64K")
    sh("mmap /mnt/a 64K")
    sh(f"touch {MAP} --write")
    head, _cols, row = pages_row(sh)
    assert head == "struct page (0-based: idle at 0, busy = refcount - mapcount > 0)"
    assert row[2:6] == ["1", "1", "0", "idle"]  # the PTE holds a reference and a mapcount
    sh(f"pin {MAP}")
    _h, _c, row = pages_row(sh)
    assert row[2:6] == ["1025", "1", "1", "busy"]
    sh(f"munmap {MAP}")
    _h, _c, row = pages_row(sh)
    assert row[2:6] == ["1024", "0", "1", "busy"]
    sh("unpin pin1")
    _h, _c, row = pages_row(sh)
    assert row[2:6] == ["0", "0", "0", "idle"]
    page = sh.k.nvdimm.pgmap.pages[int(row[0], 16)]
    assert page.refcount == 0 and page.mapcount == 0


def test_v6_15_pmd_mapping_is_an_order_9_folio(shell) -> None:
    sh = shell("v6.15").mounted("xfs", "-d su=2m")
    sh("create /mnt/a 0")
    sh("truncate /mnt/a 2M")  # sparse: the PMD write fault allocates an aligned extent
    assert sh.text("mmap /mnt/a 2M") == "0x7f0000000000"
    sh(f"touch {MAP} --write")
    assert re.search(r"0x7f0000000000 PMD -> pfn 0x[0-9a-f]+00 rw", sh.text("show ptes"))
    _head, _cols, row = pages_row(sh)
    assert row[2:6] == ["1", "1", "0", "idle"]
    assert "order-9 folio" in sh.text("show pages")


def test_create_on_a_2m_stripe_unit_gets_a_2m_aligned_extent(shell) -> None:
    """mkfs -d su=2m promises 2 MiB-aligned extents for PMD faults; a 2 MiB write to a new
    file at offset 0 is one aligned piece, as xfs_iomap_write_direct allocates it."""
    sh = shell("v6.15").mounted("xfs", "-d su=2m")
    sh("create /mnt/a 2M")
    pieces = sh.inode("/mnt/a").di.extents.items()
    starts = [(fblock, n, block) for fblock, n, _t, block in pieces]
    assert len(starts) == 1 and starts[0][2] % 512 == 0, starts
    sh("mmap /mnt/a 2M")
    sh(f"touch {MAP} --write")
    assert "PMD -> pfn" in sh.text("show ptes")


def test_an_allocation_in_reclaim_evicts_unused_inodes_up_to_v5_12(shell) -> None:
    """alloc under memory pressure enters direct reclaim, whose inode shrinker evicts; up to
    v5.12 it evicts an unused DAX inode too, and an eviction that waits for idle pages (here
    the 2025 v6 proposal) waits uninterruptibly for the pin."""
    sh = shell(PROPOSAL_V59).pinned("xfs")
    sh(f"munmap {MAP}")
    sh("alloc 4K")  # plenty of memory: no reclaim
    assert sh.inode("/mnt/a") is not None
    sh("mem low")
    r = sh("alloc 4K", "blocked")
    assert "dax_break_mapping_uninterruptible" in r.output[-1]
    t = sh.task(1)
    assert "__alloc_pages_direct_reclaim" in t.stack and "prune_icache_sb" in t.stack
    r = sh("unpin pin1")
    assert any("Done  alloc 4K" in n for n in r.notice_lines())
    assert sh.outcome().outcome == "clean"
