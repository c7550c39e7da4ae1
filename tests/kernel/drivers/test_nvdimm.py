"""Device removal evicts the filesystem's unused inodes (del_gendisk; the real-kernel runs, scenarios/real)
and, from v6.6, shuts the filesystem down through fs_bdev_mark_dead."""

from __future__ import annotations

import pytest

MAP = "0x7f0000000000"


def unused_mapped_file(sh, fs: str = "xfs", mkfs: str = "") -> int:
    sh.mounted(fs, mkfs)
    sh.script(f"""
        create /mnt/a 64K
        proc mapper
        mmap /mnt/a 64K
        touch {MAP} 64K --write
        exit mapper
        proc sh
    """)
    inode = sh.inode("/mnt/a")
    assert not inode.mapping.i_mmap and len(inode.mapping.i_pages) == 16  # (its dentry holds it)
    return inode.ino


@pytest.mark.parametrize("kernel, chain", [
    ("v6.1", ["del_gendisk", "__invalidate_device", "invalidate_inodes", "evict"]),
    ("v6.12", ["del_gendisk", "fs_bdev_mark_dead", "invalidate_inodes", "evict"]),
])
def test_unbind_evicts_the_unused_inode_while_the_memmap_exists(shell, kernel, chain) -> None:
    sh = shell(kernel)
    ino = unused_mapped_file(sh)
    sh("unbind pfn0.1")
    assert ino not in sh.k.mounts["/mnt"].sb.icache
    trace = sh.text("trace 2000")
    pos = [trace.find(f" {f}(") for f in chain]
    assert all(p >= 0 for p in pos) and pos == sorted(pos), (chain, pos)
    assert trace.find("dax_delete_mapping_entry(") < trace.find("arch_remove_memory(")
    sh("umount /mnt")
    assert sh.outcome().outcome == "clean"


def test_an_inode_in_use_at_unbind_keeps_its_entries_and_umount_oopses(shell) -> None:
    sh = shell("v6.1").mounted("xfs")
    sh.script(f"""
        create /mnt/a 64K
        proc mapper
        mmap /mnt/a 64K
        touch {MAP} 64K --write
        proc sh
    """)
    sh("unbind pfn0.1")
    assert sh.inode("/mnt/a").mapping.i_pages
    sh("kill -TERM mapper")
    sh("umount /mnt", "error")
    assert sh.outcome().outcome == "oops"


@pytest.mark.parametrize("fs, line", [
    ("xfs", "XFS (pmem0): Block device removal (0x20) detected at fs_bdev_mark_dead"),
    ("ext4", "EXT4-fs (pmem0): shut down requested (2)"),
])
def test_v6_6_mark_dead_shuts_the_filesystem_down(shell, fs, line) -> None:
    sh = shell("v6.6")
    unused_mapped_file(sh, fs)
    sh("unbind pfn0.1")
    assert line in sh.dmesg()
    assert sh.k.mounts["/mnt"].sb.shutdown


def test_before_v6_6_device_removal_does_not_shut_the_filesystem_down(shell) -> None:
    sh = shell("v6.1")
    unused_mapped_file(sh, "ext4")
    sh("unbind pfn0.1")
    assert "shut down requested" not in sh.dmesg()
    assert not sh.k.mounts["/mnt"].sb.shutdown


def test_ext2_has_no_shutdown_but_still_loses_its_unused_inodes(shell) -> None:
    sh = shell("v6.12")
    ino = unused_mapped_file(sh, "ext2")
    sh("unbind pfn0.1")
    assert ino not in sh.k.mounts["/mnt"].sb.icache
    assert not sh.k.mounts["/mnt"].sb.shutdown


def test_v6_8_pre_remove_empties_the_inode_and_mark_dead_evicts_it(shell) -> None:
    """Real 6.12 with rmapbt=1: the entries go under freeze_super, then invalidate_inodes
    evicts the empty inode; XFS is already shut down, so no 'Block device removal'."""
    sh = shell("v6.12")
    ino = unused_mapped_file(sh, "xfs", "-m rmapbt=1")
    sh("unbind pfn0.1")
    d = sh.dmesg()
    assert "Device is about to be removed!" in d and "Block device removal" not in d
    assert ino not in sh.k.mounts["/mnt"].sb.icache
    trace = sh.text("trace 2000")
    assert trace.find("dax_invalidate_mapping_entry_sync(") < trace.find(" invalidate_inodes(")
