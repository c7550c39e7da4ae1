"""Writeback write-protects DAX mappings (dax_writeback_mapping_range -> dax_writeback_one ->
dax_entry_mkclean before v5.18, pfn_mkclean_range after) so the next store faults again."""

from __future__ import annotations

import pytest

from daxsh.kernel.mm.memory import lookup_pte

MAP = 0x7f0000000000


@pytest.mark.parametrize("kernel, func", [("v5.9", "dax_entry_mkclean"),
                                          ("v6.1", "pfn_mkclean_range")])
def test_sync_write_protects_and_the_next_store_dirties_again(shell, kernel, func) -> None:
    sh = shell(kernel).mounted("xfs")
    sh("create /mnt/a 8K")
    sh("mmap /mnt/a 8K")
    sh(f"touch {MAP:#x} 8K --write")
    mm = sh.k.processes["sh"].mm
    mapping = sh.inode("/mnt/a").mapping
    assert all(lookup_pte(mm, MAP + i * 4096).write for i in range(2))
    assert all(e.dirty for e in mapping.i_pages.values())
    sh("sync")
    trace = sh.text("trace 300")
    assert f"{func}(" in trace and "dax_writeback_one(" in trace and "dax_flush(" in trace
    assert not any(lookup_pte(mm, MAP + i * 4096).write for i in range(2))
    assert not any(e.dirty for e in mapping.i_pages.values())
    assert not any(e.locked for e in mapping.i_pages.values())
    sh(f"touch {MAP:#x} 4K --write")  # write-protect fault: pfn_mkwrite dirties it again
    assert lookup_pte(mm, MAP).write and not lookup_pte(mm, MAP + 4096).write
    assert mapping.i_pages[0].dirty and not mapping.i_pages[1].dirty
    sh("sync")
    assert not lookup_pte(mm, MAP).write


def test_a_second_sync_with_nothing_dirty_writes_nothing_back(shell) -> None:
    sh = shell("v6.12").mounted("xfs")
    sh("create /mnt/a 4K")
    sh("mmap /mnt/a 4K")
    sh(f"touch {MAP:#x} 4K --write")
    sh("sync")
    n = sh.text("trace 500").count("dax_writeback_one(")
    sh("sync")
    assert sh.text("trace 500").count("dax_writeback_one(") == n
