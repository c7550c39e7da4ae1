"""The 2018 race (DMA vs truncate, Dan Williams' v6 series) typed into the screen, pane by pane."""

from __future__ import annotations

import pytest
from race_steps import RACE_2018

from daxsh.tui.app import DaxApp

pytestmark = pytest.mark.asyncio


async def type_line(app: DaxApp, pilot: object, line: str) -> None:
    """Set the command line and press Enter (typing each key costs ~90 ms under Pilot)."""
    app.query_one("#cmd").value = line
    await pilot.press("enter")  # type: ignore[attr-defined]


async def test_2018_race_v4_18_truncate_waits_for_the_pin() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(120, 40)) as pilot:
        assert "v4.18" in app.pane_text("header")
        assert "not mounted" in app.pane_text("header")
        assert "no task is blocked" in app.pane_text("waiters")

        await type_line(app, pilot, RACE_2018[0])  # mkfs
        pmem = app.pane_text("pmem")
        assert "0-15 metadata" in pmem and "+·· 16-257535 free" in pmem

        await type_line(app, pilot, RACE_2018[1])  # mount
        assert "/mnt xfs dax" in app.pane_text("header")
        assert "/mnt/" in app.pane_text("inodes")

        await type_line(app, pilot, RACE_2018[2])  # create
        assert any(x.startswith("+129") and "/mnt/a" in x
                   for x in app.pane_text("inodes").splitlines())
        assert "file /mnt/a" in app.pane_text("pmem")

        await type_line(app, pilot, RACE_2018[3])  # mmap
        pt = app.pane_text("pt")
        assert "0x7f0000000000-0x7f0000010000 /mnt/a +0 r w shared huge" in pt
        assert "(no entries)" in pt

        await type_line(app, pilot, RACE_2018[4])  # touch --write: 16 PTEs, one line
        pt = app.pane_text("pt").splitlines()
        run = [x for x in pt if "PTE ×16" in x]
        assert run and run[0].startswith("+"), pt
        assert "→ pfn 0x101210..0x10121f rw" in run[0]
        assert "16 entries" in app.pane_text("pt")

        await type_line(app, pilot, RACE_2018[5])  # pin: the pinned block in pmem
        pmem = app.pane_text("pmem").splitlines()
        assert any("16-31 file /mnt/a @0 PINNED" in x and x.startswith("~") for x in pmem), pmem
        assert any("└ block 16 pinned" in x and x.startswith("+") for x in pmem), pmem
        assert "no task is blocked" in app.pane_text("waiters")

        await type_line(app, pilot, RACE_2018[6])  # truncate: blocks on the pinned page
        w = app.pane_text("waiters")
        assert "+truncate:" in w and "truncate /mnt/a 0" in w
        assert "in xfs_break_dax_layouts" in w
        assert "wait_var_event(page pfn 0x101210)" in w and "holds i_rwsem (W)" in w
        assert "pinned by pin1" in w and "`unpin pin1`" in w
        # unmap_mapping_range ran before the wait: the PTEs are gone (shown struck, marked -)
        pt = app.pane_text("pt").splitlines()
        assert any(x.startswith("-") and "PTE ×16" in x for x in pt), pt
        assert any(x.startswith("+") and "(no entries)" in x for x in pt), pt
        assert "0 entries" in pt[0]
        # the block is still the file's, and still pinned: truncate has not freed it
        assert "16-31 file /mnt/a @0 PINNED" in app.pane_text("pmem")
        assert "1 blocked" in app.pane_text("header")
        log = app.pane_text("log")
        assert "── truncate /mnt/a 0" in log
        assert "unmap_mapping_pages(mapping ino 129" in log
        assert "xfs_break_dax_layouts" in log
        assert " object at 0x" not in log  # reprs are made stable
        assert "[1] blocked: truncate /mnt/a 0" in app.pane_text("transcript")
        assert app.query_one("#waiters-box").border_title.startswith("Waiters (1)")

        await type_line(app, pilot, "unpin pin1")  # the device lets go: truncate finishes
        assert "no task is blocked" in app.pane_text("waiters")
        assert "[1]+ Done  truncate /mnt/a 0" in app.pane_text("transcript")
        pmem = app.pane_text("pmem")
        assert "PINNED" not in pmem.replace("-", "")
        assert "16-257535 free" in pmem


async def test_2018_race_v4_16_block_freed_under_dma() -> None:
    app = DaxApp(kernel="v4.16")
    async with app.run_test(size=(120, 40)) as pilot:
        for line in RACE_2018:
            app.run_line(line)
        assert "no task is blocked" in app.pane_text("waiters")  # nothing waited
        await type_line(app, pilot, "create /mnt/b 64K")
        pmem = app.pane_text("pmem")
        assert "16-31 file /mnt/b @0 FREED-WHILE-PINNED PINNED" in pmem
        assert "block 16 pinned, freed-while-pinned" in pmem
        await type_line(app, pilot, "dma pin1")
        t = app.pane_text("transcript")
        assert "CORRUPTION: dma pin1 wrote block 16" in t
        assert app.query_one("#header").has_class("-crashed") is False


async def test_select_block_shows_struct_page_entry_mappers_and_pins() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(120, 40)) as pilot:
        for line in RACE_2018[:6]:
            app.run_line(line)
        pane = app.query_one("#pmem")
        pane.focus()
        await pilot.pause()
        assert pane.move_cursor_to_item(("block", 16))
        await pilot.press("down")  # to "└ block 16 pinned"; selecting shows the detail
        await pilot.pause()
        d = app.pane_text("detail")
        assert "block 16  pfn 0x101210" in d
        assert "owner: /mnt/a file block 0" in d
        assert "struct page: refcount 2 pins 1 busy  mapping ino 129 index 0" in d
        assert "DAX entry: /mnt/a index 0: normal pfn 0x101210" in d
        assert "mapped by sh:100 at 0x7f0000000000 PTE rw" in d
        assert "pinned by pin1" in d
        assert app.query_one("#detail").display


async def test_page_tables_collapse_and_expand() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(120, 40)) as pilot:
        for line in RACE_2018[:5]:
            app.run_line(line)
        app.action_expand()
        assert app.pane_text("pt").count(" PTE → pfn") == 16
        app.action_expand()
        pane = app.query_one("#pt")
        pane.focus()
        pane.move_cursor_to_item(("proc", 100))
        await pilot.press("enter")
        assert app.pane_text("pt")[1:].startswith("▸ sh:100")
        assert "PTE" not in app.pane_text("pt")


async def test_a_click_on_a_block_shows_its_detail() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(120, 40)) as pilot:
        for line in RACE_2018[:6]:
            app.run_line(line)
        await pilot.pause()
        rows = app.pane_text("pmem").splitlines()
        y = next(i for i, x in enumerate(rows) if "16-31 file /mnt/a" in x)
        await pilot.click("#pmem", offset=(5, y))
        assert "block 16  pfn 0x101210" in app.pane_text("detail")
        assert "pinned by pin1" in app.pane_text("detail")
