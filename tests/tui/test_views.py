"""The screen as a view over the core: NO_COLOR contrast, pasted lines, zoom on the transcript
(issue: one headless shell core; wrong answers of the screen)."""

from __future__ import annotations

from pathlib import Path

import pytest
from race_steps import RACE_2018
from textual import events
from textual.filter import monochrome_style

from daxsh.tui.app import DaxApp


def _grey(c: object) -> float:
    t = c.get_truecolor()  # type: ignore[attr-defined]
    return 0.2126 * t.red + 0.7152 * t.green + 0.0722 * t.blue


@pytest.mark.asyncio
@pytest.mark.parametrize("theme", ["dark", "light"])
async def test_no_color_keeps_file_names_readable(monkeypatch: pytest.MonkeyPatch,
                                                  theme: str) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = DaxApp(kernel="v4.18", theme=theme)
    async with app.run_test(size=(110, 36)) as pilot:
        for line in RACE_2018[:4]:
            app.run_line(line)
        await pilot.pause()
        pane = app.query_one("#pmem")
        bg = pane.rich_style.bgcolor
        for tag in ("file0", "file1", "file2", "file3", "file4", "file5", "meta", "free"):
            st = monochrome_style(pane.rich_style + pane.get_component_rich_style(f"pane--{tag}",
                                                                                 partial=True))
            assert abs(_grey(st.color) - _grey(bg)) > 100, (tag, st, bg)


@pytest.mark.asyncio
async def test_pasted_lines_each_run_in_order() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(110, 36)) as pilot:
        cmd = app.query_one("#cmd")
        cmd.focus()
        cmd.post_message(events.Paste("\n".join(RACE_2018[:3]) + "\nmmap /mnt/a 6"))
        await pilot.pause()
        await pilot.pause()
        assert app.timeline.current.lines == RACE_2018[:3]
        assert cmd.value == "mmap /mnt/a 6"  # the text after the last newline waits
        await pilot.press("4", "K", "enter")
        await pilot.pause()
        assert app.timeline.current.lines[-1] == "mmap /mnt/a 64K"
        cmd.post_message(events.Paste("ls /mnt\r\nstat /mnt/a\r\n"))
        await pilot.pause()
        await pilot.pause()
        t = app.pane_text("transcript")
        assert t.index("$ ls /mnt") < t.index("$ stat /mnt/a") and cmd.value == ""


@pytest.mark.asyncio
async def test_f10_from_the_command_line_zooms_the_transcript() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(100, 30)) as pilot:
        for line in RACE_2018:
            app.run_line(line)
        app.query_one("#cmd").focus()
        await pilot.pause()
        before = app.query_one("#transcript").size.height
        await pilot.press("f10")
        await pilot.pause()
        console = app.query_one("#console")
        assert app.screen.maximized is console
        assert app.query_one("#transcript").size.height > 20
        await pilot.press("l", "s", "enter")  # typing goes on in the zoomed view
        await pilot.pause()
        assert "$ ls" in app.pane_text("transcript")
        await pilot.press("f10")
        await pilot.pause()
        assert app.screen.maximized is None
        assert app.query_one("#transcript").size.height == before


@pytest.mark.asyncio
async def test_the_screen_translates_pasted_shell_lines_and_saves_the_trace(tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(110, 36)) as pilot:
        cmd = app.query_one("#cmd")
        cmd.focus()
        cmd.post_message(events.Paste("mkfs.xfs -f -m rmapbt=0 /dev/pmem0\n"))
        await pilot.pause()
        await pilot.pause()
        assert app.timeline.current.lines == ["mkfs -m rmapbt=0 xfs /dev/pmem0"]
        t = app.pane_text("transcript")
        assert t.count("(shell) -> mkfs -m rmapbt=0 xfs /dev/pmem0") == 1
        app.run_line(f"trace save {out}")
        await pilot.pause()
        assert out.exists() and "events written" in app.pane_text("transcript")
