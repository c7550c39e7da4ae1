"""pNFS layout recall: nfsd polls for two lease periods (2 x 90 s), then fences
(fs/nfsd/nfs4layouts.c nfsd4_cb_layout_done / nfsd4_cb_layout_fail)."""

from __future__ import annotations

FENCE = "nfsd: client 192.0.2.1 failed to respond to layout recall.   Fencing.."


def test_layout_recall_fences_after_two_lease_periods(shell) -> None:
    sh = shell("v6.12").mounted("xfs")
    sh("create /mnt/a 64K")
    sh("lease /mnt/a")
    sh("truncate /mnt/a 4K", "blocked")
    sh("sleep 179.9")
    assert "blocked: truncate /mnt/a 4K" in sh.text("jobs") and FENCE not in sh.dmesg()
    r = sh("sleep 0.2")
    assert any("Done  truncate /mnt/a 4K" in n for n in r.notice_lines())
    assert f"[  180.000000] {FENCE}" in sh.dmesg()
    assert sh.inode("/mnt/a").lease is None
    assert "nfsd4_layout_lm_break" in sh.text("trace 200")


def test_a_returned_layout_needs_no_fence(shell) -> None:
    sh = shell("v6.12").mounted("xfs")
    sh("create /mnt/a 64K")
    sh("lease /mnt/a")
    sh("truncate /mnt/a 4K", "blocked")
    r = sh("lease /mnt/a --return")
    assert any("Done  truncate /mnt/a 4K" in n for n in r.notice_lines())
    assert "Fencing" not in sh.dmesg()
