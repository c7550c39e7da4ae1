"""GUP against fsdax VMAs: the fault under mmap_lock, the order of the long-term refusal and
the fault by version, MAP_SYNC per filesystem, the mf_flags values (shared/KERNEL.md 10)."""

from __future__ import annotations

import pytest

from daxsh.kernel.mm import memory_failure

MAP = "0x7f0000000000"


def test_gup_faults_with_mmap_lock_held_for_read(shell) -> None:
    sh = shell("v6.1").mounted("xfs")
    sh("create /mnt/a 64K")
    sh("mmap /mnt/a 64K")
    sh(f"pin {MAP} 4K")  # not yet faulted: GUP faults it in
    lines = [x for x in sh.text("trace 400").splitlines() if " pin-" in x or "pin-" in x.split()[0]]
    calls = [x.split(": ", 1)[1].strip() for x in lines]
    down = calls.index("down_read(mmap_lock sh)")
    fault = next(i for i, f in enumerate(calls) if f.startswith("dax_iomap_pte_fault"))
    up = calls.index("up_read(mmap_lock sh)")
    assert down < fault < up, calls
    assert calls.count("up_read(mmap_lock sh)") == 1


@pytest.mark.parametrize("kernel, faulted", [("v4.16", True), ("v5.9", True), ("v5.15", False)])
def test_longterm_refusal_before_or_after_the_fault(shell, kernel, faulted) -> None:
    """Before v5.11 (52650c8b466b) get_user_pages_longterm / __gup_longterm_locked faulted the
    pages in first and refused after; from v5.11 check_vma_flags refuses before any fault."""
    sh = shell(kernel).mounted("xfs")
    sh("create /mnt/a 64K")
    sh("mmap /mnt/a 64K")
    r = sh(f"pin {MAP} 4K --longterm", "error")
    assert "EOPNOTSUPP" in r.error
    inode = sh.inode("/mnt/a")
    assert bool(inode.mapping.i_pages) is faulted
    assert not sh.k.pins
    page_refs = [p.refcount for p in sh.k.nvdimm.pgmap.pages.values()]
    assert all(c <= 1 for c in page_refs)  # whatever was taken was put back


@pytest.mark.parametrize("fs, ok", [("xfs", True), ("ext4", True), ("ext2", False)])
def test_map_sync_is_xfs_and_ext4_only(shell, fs, ok) -> None:
    sh = shell("v6.12").mounted(fs)
    sh("create /mnt/a 4K")
    if ok:
        sh("mmap /mnt/a 4K --sync")
    else:
        r = sh("mmap /mnt/a 4K --sync", "error")
        assert "EOPNOTSUPP" in r.error


def test_mf_flags_values_are_the_kernels() -> None:
    assert memory_failure.MF_ACTION_REQUIRED == 1 << 1
    assert memory_failure.MF_MUST_KILL == 1 << 2
    assert memory_failure.MF_MEM_PRE_REMOVE_FLAG == 1 << 7
