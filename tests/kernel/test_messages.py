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


def _oops_lines(kernel: str) -> list[str]:
    """The kernel log of an oops on a removed memmap: unbind under a mapped file, then umount."""
    s = Session(kernel)
    for line in ["mkfs xfs /dev/pmem0 -m rmapbt=0", "mount /dev/pmem0 /mnt -o dax",
                 "create /mnt/a 64K", "proc mapper", "mmap /mnt/a 64K",
                 "touch 0x7f0000000000 64K --write", "proc sh", "unbind pfn0.1",
                 "kill -TERM mapper", "umount /mnt"]:
        s.execute(line)
    assert s.k.crashed, kernel
    return [text for _t, text in s.k.dmesg.lines for text in text.split("\n")]


@pytest.mark.parametrize(("kernel", "headline", "pf", "die"), [
    # before f28b11a2abd9 (v5.1): "unable to handle kernel paging request at", no #PF decode
    ("v4.18", "BUG: unable to handle kernel paging request at ffffea", False,
     "Oops: 0000 [#1] PREEMPT SMP NOPTI"),
    # real 6.1.192 printed these two lines and "Oops: 0000 [#1] PREEMPT SMP NOPTI"
    ("v6.1", "BUG: unable to handle page fault for address: ffffea", True,
     "Oops: 0000 [#1] PREEMPT SMP NOPTI"),
    # real 6.12.117 printed "Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI" (the v6.10 prefix)
    ("v6.12", "BUG: unable to handle page fault for address: ffffea", True,
     "Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI"),
])
def test_the_page_fault_oops_is_printed_as_its_era_prints_it(kernel: str, headline: str, pf: bool,
                                                              die: str) -> None:
    lines = _oops_lines(kernel)
    i = next(i for i, x in enumerate(lines) if x.startswith("BUG: unable to handle"))
    assert lines[i].startswith(headline), lines[i]
    rest = lines[i + 1:i + 5]
    assert any(x.startswith("#PF: error_code(0x0000) - not-present page") for x in rest) == pf, rest
    assert die in rest and not any(x.startswith("Oops") and x != die for x in rest), rest


def test_the_die_header_by_era() -> None:
    from daxsh.kernel.messages import die_header, page_fault_oops

    assert die_header("v4.14", 0) == "Oops: 0000 [#1] PREEMPT SMP"  # no PTI before v4.15
    assert die_header("v4.15", 2) == "Oops: 0002 [#1] PREEMPT SMP NOPTI"
    assert die_header("v6.12", 0, "invalid opcode") == "Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI"
    # a NULL dereference: its own headline in each era (read 6.1.192 fault.c:553)
    assert page_fault_oops("v4.18", 0, True, False)[0] == \
        "BUG: unable to handle kernel NULL pointer dereference at 0000000000000000"
    assert page_fault_oops("v6.1", 8, True, False) == (
        "BUG: kernel NULL pointer dereference, address: 0000000000000008",
        ("#PF: supervisor write access in kernel mode", "#PF: error_code(0x0002) - not-present page"))
