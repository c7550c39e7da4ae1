"""SVG snapshots of the screen's main states (``pytest tests/tui --snapshot-update`` accepts new
ones; regenerate on purpose, with the pinned Textual, and look at the report before committing)."""

from __future__ import annotations

from typing import Any

from race_steps import RACE_2018

from daxsh.tui.app import DaxApp

V4_16_CORRUPTION = [*RACE_2018, "create /mnt/b 64K", "dma pin1"]
OOPS = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
        "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write", "unbind pfn0.1",
        "munmap 0x7f0000000000", "umount /mnt"]  # in use at unbind: eviction at umount oopses


def typed(lines: list[str], then: Any = None) -> Any:
    """Run ``lines``; the Log shows dmesg only, so a change in the wording of the trace (which
    the Pilot tests check) does not churn every SVG."""
    async def run_before(pilot: Any) -> None:
        pilot.app.query_one("#logfilter").value = "dmesg"
        for line in lines:
            pilot.app.run_line(line)
        if then is not None:
            await then(pilot)
        await pilot.pause()
    return run_before


def test_fresh_machine_80x24(snap_compare: Any) -> None:
    assert snap_compare(DaxApp(kernel="v4.18"), terminal_size=(80, 24), run_before=typed([]))


def test_2018_race_truncate_blocked_on_the_pin(snap_compare: Any) -> None:
    assert snap_compare(DaxApp(kernel="v4.18"), terminal_size=(110, 36),
                        run_before=typed(RACE_2018))


def test_2018_race_block_freed_under_dma_v4_16(snap_compare: Any) -> None:
    assert snap_compare(DaxApp(kernel="v4.16", theme="light"), terminal_size=(110, 36),
                        run_before=typed(V4_16_CORRUPTION))


def test_oops_after_unbind_is_shown(snap_compare: Any) -> None:
    assert snap_compare(DaxApp(kernel="v6.6"), terminal_size=(100, 30), run_before=typed(OOPS))


def test_selected_block_detail(snap_compare: Any) -> None:
    async def select(pilot: Any) -> None:
        pane = pilot.app.query_one("#pmem")
        pane.focus()
        pane.move_cursor_to_item(("block", 16))
        await pilot.press("down")

    assert snap_compare(DaxApp(kernel="v4.18"), terminal_size=(110, 36),
                        run_before=typed(RACE_2018[:6], select))
