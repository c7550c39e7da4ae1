"""Memory failure on fsdax pages: an injection (madvise(MADV_HWPOISON), ``hwpoison``) leaves the
memory good and signals only the injecting task; a hardware error (``poison``) makes the media bad
(badblocks), so a mapping left in place consumes it."""

from __future__ import annotations

import pytest

MAP = "0x7f0000000000"


def two_mappers(sh, mkfs: str = "-m rmapbt=1") -> None:
    sh.mounted("xfs", mkfs)
    sh.script(f"""
        create /mnt/a 64K
        proc mapper
        mmap /mnt/a 64K
        touch {MAP} 64K --write
        proc injector
        mmap /mnt/a 4K
    """)


@pytest.mark.parametrize("kernel", ["v6.1", "v6.12"])
@pytest.mark.parametrize("mkfs", ["-m rmapbt=1", "-m rmapbt=0"])
def test_injection_signals_only_the_injector_and_the_other_mapper_faults_the_page_in_again(
        shell, kernel, mkfs) -> None:
    sh = shell(kernel)
    two_mappers(sh, mkfs)
    mapper = sh.k.processes["mapper"]
    sh(f"hwpoison {MAP}", "error")
    assert sh.events("killed") == [
        "injector:107 killed by SIGBUS (BUS_MCEERR_AR) (memory failure at pfn 0x101210)"]
    dmesg = sh.dmesg()
    assert "Injecting memory failure for pfn 0x101210 at process virtual address 0x7f0000000000" in dmesg
    assert "Sending SIGBUS to injector:107" in dmesg and "mapper" not in dmesg
    assert 0x7F0000000000 not in mapper.mm.ptes  # unmap_and_kill zapped every mapping of the page
    sh("proc mapper")
    sh(f"touch {MAP}")  # the memory is good: faulted in again and read
    sh(f"touch {MAP} --write")
    sh("read /mnt/a 0 4K")  # no badblocks: dax_direct_access does not refuse it
    assert sh.outcome().outcome == "clean"


def test_a_hardware_error_leaves_the_mapping_and_the_access_consumes_the_bad_media(shell) -> None:
    sh = shell("v6.1")
    two_mappers(sh)
    sh("proc sh")
    sh("poison 0x101210")  # not by a mapper: nobody is collected, nothing is unmapped
    assert sh.events("killed") == []
    assert 0x7F0000000000 in sh.k.processes["mapper"].mm.ptes
    sh("proc mapper")
    sh(f"touch {MAP}", "error")
    assert sh.events("killed") == ["mapper:104 killed by SIGBUS (BUS_MCEERR_AR) at 0x7f0000000000"]
    sh("proc sh")
    assert "EIO" in sh("read /mnt/a 0 4K", "error").error
