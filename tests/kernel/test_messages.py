"""dmesg shapes by version (daxsh/kernel/messages.py): mount messages of each era."""

from __future__ import annotations

import pytest

from daxsh.kernel.messages import EXPERIMENTAL, uuid
from daxsh.lang import Session


def _mount_log(kernel: str, fstype: str, opt: str = "-o dax") -> list[str]:
    s = Session(kernel)
    assert s.execute(f"mkfs {fstype} /dev/pmem0").status == "done"
    start = len(s.k.dmesg.lines)
    assert s.execute(f"mount /dev/pmem0 /mnt {opt}".strip()).status == "done"
    return [text for _t, text in s.k.dmesg.lines[start:]]


U = uuid(1)


@pytest.mark.parametrize(("kernel", "fstype", "want"), [
    # XFS warns EXPERIMENTAL until 27c86d43bcdb (v6.8); the UUID is in the line from v6.2
    ("v4.16", "xfs", [f"XFS (pmem0): {EXPERIMENTAL}", "XFS (pmem0): Mounting V5 Filesystem",
                      "XFS (pmem0): Ending clean mount"]),
    ("v6.1", "xfs", [f"XFS (pmem0): {EXPERIMENTAL}", "XFS (pmem0): Mounting V5 Filesystem",
                     "XFS (pmem0): Ending clean mount"]),
    ("v6.6", "xfs", [f"XFS (pmem0): {EXPERIMENTAL}", f"XFS (pmem0): Mounting V5 Filesystem {U}",
                     "XFS (pmem0): Ending clean mount"]),
    ("v6.12", "xfs", [f"XFS (pmem0): Mounting V5 Filesystem {U}",
                      "XFS (pmem0): Ending clean mount"]),
    # ext4: EXPERIMENTAL until v5.16, "Opts:" until v5.17, UUID and r/w from v6.2
    ("v4.19", "ext4", [f"EXT4-fs (pmem0): {EXPERIMENTAL}",
                       "EXT4-fs (pmem0): mounted filesystem with ordered data mode. Opts: dax"]),
    ("v6.1", "ext4", ["EXT4-fs (pmem0): mounted filesystem with ordered data mode. "
                      "Quota mode: none."]),
    ("v6.12", "ext4", [f"EXT4-fs (pmem0): mounted filesystem {U} r/w with ordered data mode. "
                       "Quota mode: none."]),
    # ext2 has warned on every release (read in 6.1 and 6.12 fs/ext2/super.c:589)
    ("v4.16", "ext2", [f"EXT2-fs (pmem0): {EXPERIMENTAL}"]),
    ("v6.15", "ext2", [f"EXT2-fs (pmem0): {EXPERIMENTAL}"]),
])
def test_mount_messages_of_each_era(kernel: str, fstype: str, want: list[str]) -> None:
    assert _mount_log(kernel, fstype) == want


def test_no_dax_no_experimental_warning() -> None:
    assert not any(EXPERIMENTAL in x for x in _mount_log("v6.1", "xfs", ""))
    assert _mount_log("v4.19", "ext4", "")[-1].endswith("Opts: (null)")
    assert _mount_log("v6.1", "ext2", "") == []


def test_no_line_says_dax_enabled_without_the_kernels_words() -> None:
    for kernel in ("v4.16", "v6.1", "v6.15"):
        for fstype in ("ext4", "ext2"):
            log = _mount_log(kernel, fstype)
            assert not any(x.endswith("DAX enabled") for x in log), (kernel, fstype, log)
