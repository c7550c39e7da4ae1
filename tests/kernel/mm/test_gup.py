"""GUP against fsdax VMAs: the fault under mmap_lock, the order of the long-term refusal and
the fault by version, MAP_SYNC per filesystem, the mf_flags values."""

from __future__ import annotations

import pytest

from daxsh.kernel import outcomes
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


# -- stable-bio-put-refs: a 6.1.y O_DIRECT bio (FOLL_GET, folio_put_refs) -----------------------

STABLE = "v6.1 +stable-bio-put-refs"


def _pinned_truncate(shell, kernel):
    """A mapped, faulted file whose page 0 a bio holds, and a truncate waiting for it."""
    sh = shell(kernel).mounted("xfs")
    sh.script(f"""
        create /mnt/a 64K
        mmap /mnt/a 64K
        touch {MAP} 64K --write
    """)
    sh(f"pin {MAP} 4K")
    page = sh.k.nvdimm.pgmap.pages[sh.k.pins["pin1"].heads[0]]
    sh("truncate /mnt/a 0 &", "blocked")
    return sh, page, sh.s.jobs[1].task


def _calls(sh, task_prefix):
    lines = [x for x in sh.text("trace 2000").splitlines() if x.split()[0].startswith(task_prefix)]
    return [x.split(": ", 1)[1].strip() for x in lines]


def test_a_6_1_y_bio_takes_foll_get_references(shell) -> None:
    sh, page, truncate = _pinned_truncate(shell, STABLE)
    assert page.refcount == 2 and page.pincount == 0  # +1, no GUP_PIN_COUNTING_BIAS, no pincount
    calls = _calls(sh, "pin-")
    names = [c.split("(", 1)[0] for c in calls]
    assert "iov_iter_get_pages2" in names and "get_user_pages_fast" in names
    assert "pin_user_pages" not in names


def test_without_the_backport_the_pin_is_foll_pin(shell) -> None:
    sh, page, truncate = _pinned_truncate(shell, "v6.1")
    assert page.refcount == 1 + 1024 and page.pincount == 1  # GUP_PIN_COUNTING_BIAS
    names = [c.split("(", 1)[0] for c in _calls(sh, "pin-")]
    assert "pin_user_pages" in names and "iov_iter_get_pages2" not in names


def test_the_bios_folio_put_refs_wakes_nobody(shell) -> None:
    sh, page, truncate = _pinned_truncate(shell, STABLE)
    sh("unpin pin1")
    assert page.refcount == 1  # idle
    sh("sleep 2")
    calls = _calls(sh, "kworker")
    names = [c.split("(", 1)[0] for c in calls]
    assert "folio_put_refs" in names
    for absent in ("wake_up_var", "put_devmap_managed_page_refs", "free_zone_device_page",
                   "unpin_user_page"):
        assert absent not in names, calls
    assert not truncate.done and truncate.wait is not None  # it sleeps on
    why = sh.text("why")
    assert "the page is idle (refcount 1)" in why and "no wake-up will come" in why
    assert outcomes.outcome(sh.k).outcome == "hung"


def test_without_the_backport_the_last_put_wakes_the_truncate(shell) -> None:
    sh, page, truncate = _pinned_truncate(shell, "v6.1")
    sh("unpin pin1")
    assert page.refcount == 1
    names = [c.split("(", 1)[0] for c in _calls(sh, "kworker")]
    assert "unpin_user_page" in names and "wake_up_var" in names and "folio_put_refs" not in names
    assert truncate.done
    assert sh.text("why") == "nothing is blocked"
    assert outcomes.outcome(sh.k).outcome == "clean"


def test_a_longterm_pin_stays_foll_pin_with_the_backport(shell) -> None:
    sh = shell(STABLE).mounted("xfs")
    sh.script(f"""
        create /mnt/a 64K
        mmap /mnt/a 64K
    """)
    r = sh(f"pin {MAP} 4K --longterm", "error")  # an RDMA registration, never a bio
    assert "EOPNOTSUPP" in r.error
    names = [c.split("(", 1)[0] for c in _calls(sh, "pin-")]
    assert "check_vma_flags" in names and "iov_iter_get_pages2" not in names
