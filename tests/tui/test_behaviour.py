"""The screen's behaviour: completion, a simulated oops, a daxsh bug, time travel, stepping,
panes, resize, themes, NO_COLOR, the log filter, replay."""

from __future__ import annotations

from typing import Any

import pytest
from race_steps import RACE_2018

from daxsh.lang import Session
from daxsh.shell import Core, Timeline
from daxsh.tui.app import DaxApp

SCENARIO = "scenarios/2018-dma-vs-truncate-xfs.toml"


def test_completion_is_the_cores() -> None:
    c = Core(Timeline("v4.18"))
    assert c.complete("trun") == ["truncate"]
    assert c.complete("mount /dev/pm") == ["/dev/pmem0"]
    assert sorted(c.complete("mkfs ")) == ["ext2", "ext4", "xfs"]
    assert "v4.18" in c.complete("kernel v4.1")
    assert c.complete("bogus x") == []
    assert "goto" in c.complete("go") and "replay" in c.complete("rep")  # the shell's too


@pytest.mark.asyncio
async def test_tab_completes_on_the_command_line() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test() as pilot:
        cmd = app.query_one("#cmd")
        cmd.value = "trun"
        cmd.cursor_position = 4
        await pilot.press("tab")
        assert cmd.value == "truncate "
        assert app.focused is cmd  # Tab completes; it does not move the focus
        cmd.value = "m"
        cmd.cursor_position = 1
        await pilot.press("tab")
        assert "mkdir  mkfs  mmap  mount" in app.pane_text("transcript")


@pytest.mark.asyncio
async def test_history_with_up() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test() as pilot:
        cmd = app.query_one("#cmd")
        cmd.value = "ndctl"
        await pilot.press("enter")
        assert cmd.value == ""
        await pilot.press("up")
        assert cmd.value == "ndctl"


@pytest.mark.asyncio
async def test_a_simulated_oops_is_shown_not_fatal() -> None:
    app = DaxApp(kernel="v6.6")
    async with app.run_test(size=(100, 30)) as pilot:
        for line in ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
                     "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write", "unbind pfn0.1"]:
            app.run_line(line)
        assert "memmap REMOVED" in app.pane_text("header")
        assert "memmap removed" in app.pane_text("pmem")
        # the file was in use at unbind: its DAX entries outlive the memmap, eviction oopses
        app.run_line("munmap 0x7f0000000000")
        app.run_line("umount /mnt")
        await pilot.pause()
        assert "CRASHED: BUG: unable to handle page fault" in app.pane_text("header")
        assert app.query_one("#header").has_class("-crashed")
        assert "OOPS" in app.pane_text("transcript")
        assert "BUG: unable to handle page fault" in app.pane_text("log")
        res = app.run_line("ls /mnt")
        assert res is not None and res.status == "skipped"
        assert app.is_running
        app.run_line("reboot")
        assert "CRASHED" not in app.pane_text("header")
        log = app.pane_text("log")
        assert "── a new machine boots" in log
        assert "Linux version" in log.split("── a new machine boots")[-1]


@pytest.mark.asyncio
async def test_a_daxsh_exception_is_reported_and_the_session_survives(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test() as pilot:
        app.run_line("mkfs xfs /dev/pmem0")
        real = Session.execute

        def broken(self: Session, text: Any) -> object:
            if str(getattr(text, "text", text)).startswith("mount"):  # a lexed Line or text
                raise RuntimeError("model bug")
            return real(self, text)

        monkeypatch.setattr(Session, "execute", broken)
        assert app.run_line("mount /dev/pmem0 /mnt -o dax") is None
        await pilot.pause()
        t = app.pane_text("transcript")
        assert "daxsh bug: RuntimeError: model bug (this is not the simulated kernel failing" in t
        assert "RuntimeError" in app.bug
        monkeypatch.setattr(Session, "execute", real)
        app.run_line("mount /dev/pmem0 /mnt -o dax")
        assert "/mnt xfs dax" in app.pane_text("header")  # mkfs was not lost


@pytest.mark.asyncio
async def test_back_undoes_the_truncate_and_goto_returns() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test() as pilot:
        for line in RACE_2018:
            app.run_line(line)
        assert "1 blocked" in app.pane_text("header")
        await pilot.press("f4")  # back
        assert "no task is blocked" in app.pane_text("waiters")
        assert "PTE ×16" in app.pane_text("pt")
        assert "at main:6 of 7" in app.pane_text("transcript")
        app.run_line("goto 7")
        assert "1 blocked" in app.pane_text("header")
        app.run_line("history")
        assert ">   7  truncate /mnt/a 0" in app.pane_text("transcript")


@pytest.mark.asyncio
async def test_back_is_offered_over_a_handed_over_session() -> None:
    s = Session("v4.18")
    app = DaxApp(s)
    async with app.run_test():
        app.run_line("mkfs xfs /dev/pmem0")
        assert app.session is s  # the shell's machine, driven in place
        app.run_line("back")
        assert app.session is not s  # replayed: the shell takes app.session back
        assert "no filesystem" in app.pane_text("pmem")


@pytest.mark.asyncio
async def test_step_and_continue_keys() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(100, 30)) as pilot:
        for line in RACE_2018[:6]:
            app.run_line(line)
        app.run_line("start truncate /mnt/a 0")
        assert "[stopped]" in app.pane_text("waiters")
        await pilot.press("f2")
        assert "$ step" in app.pane_text("transcript")
        await pilot.press("f3")
        assert "$ continue" in app.pane_text("transcript")
        assert "wait_var_event(page pfn 0x101210)" in app.pane_text("waiters")


@pytest.mark.asyncio
async def test_toggle_panes_zoom_and_focus_keys() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test() as pilot:
        await pilot.press("f5")
        assert not app.query_one("#pt-box").display
        assert "pt" not in app.compute()
        await pilot.press("f5")
        assert app.query_one("#pt-box").display
        app.query_one("#waiters").focus()
        await pilot.press("f10")
        assert app.screen.maximized is app.query_one("#waiters-box")
        await pilot.press("escape")  # the first Esc restores the layout ...
        assert app.screen.maximized is None
        await pilot.press("escape")  # ... the next goes back to the command line
        assert app.focused is app.query_one("#cmd")


@pytest.mark.asyncio
async def test_resize_down_to_80x24_and_below() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(160, 50)) as pilot:
        for line in RACE_2018:
            app.run_line(line)
        for size in [(80, 24), (60, 12), (20, 5), (120, 40)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert app.is_running
            small = size < (80, 24) or size[1] < 24
            assert app.query_one("#toosmall").has_class("-shown") is small
            if small:
                assert f"this one is {size[0]}x{size[1]}" in str(
                    app.query_one("#toosmall").render())
        assert "truncate" in app.pane_text("waiters")


@pytest.mark.asyncio
async def test_light_theme_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    app = DaxApp(kernel="v4.18", theme="light")
    async with app.run_test() as pilot:
        assert app.theme == "textual-light"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-dark"
    monkeypatch.setenv("NO_COLOR", "1")
    app = DaxApp(kernel="v4.18")
    assert app.no_color
    async with app.run_test() as pilot:
        app.run_line("mkfs xfs /dev/pmem0")
        await pilot.pause()
        # without colour, what changed is still marked in the gutter
        assert app.pane_text("pmem").splitlines()[2].startswith("+")


@pytest.mark.asyncio
async def test_log_filter() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test() as pilot:
        for line in RACE_2018:
            app.run_line(line)
        app.query_one("#logfilter").value = "dmesg"
        await pilot.pause()
        log = app.pane_text("log").splitlines()
        assert log and all(x.startswith("[") for x in log)
        assert any("XFS (pmem0): Mounting" in x for x in log)
        app.query_one("#logfilter").value = "trace wait_var"
        await pilot.pause()
        log = app.pane_text("log").splitlines()
        assert log and all("wait_var" in x for x in log)


@pytest.mark.asyncio
async def test_replay_a_scenario_step_by_step() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test() as pilot:
        app.run_line(f"replay {SCENARIO} v4.16 --next")
        assert "10 steps" in app.pane_text("transcript")
        for _ in range(7):
            await pilot.press("f11")
        assert "step 7 of 10" in app.pane_text("transcript")
        assert "no task is blocked" in app.pane_text("waiters")
        app.run_line("next")
        app.run_line("next")
        assert "CORRUPTION" in app.pane_text("transcript")
        app.run_line(f"replay {SCENARIO} v4.18")  # stops at the truncate that blocks
        assert "truncate /mnt/a 0" in app.pane_text("waiters")
        app.run_line("replay")
        assert "going on with scenarios/2018-dma-vs-truncate-xfs.toml: 3 step(s) left" in \
            app.pane_text("transcript")
        assert "+no task is blocked" in app.pane_text("waiters")  # unpinned at step 10
        app.run_line("replay nosuch.toml")
        assert "replay: " in app.pane_text("transcript").splitlines()[-1]


@pytest.mark.asyncio
async def test_deadlock_and_hung_task_are_shown_as_such() -> None:
    app = DaxApp(kernel="v6.15")
    async with app.run_test(size=(120, 40)):
        app.run_line("replay scenarios/2022-evict-wait-in-reclaim.toml v5.9 "
                     "+proposed-dax-break-mapping-uninterruptible")
        assert "replay stopped: that step blocked; `replay` runs the 3 step(s) left" in \
            app.pane_text("transcript")
        assert "DEADLOCK" in app.pane_text("waiters")
        app.run_line("replay")  # show inodes; why; sleep 121
        w = app.pane_text("waiters")
        assert "DEADLOCK: kworker/0:1:108 → kworker/0:1:108" in w
        assert "[D] DEADLOCK HUNG unpin pin1 --alloc" in w
        assert "in dax_break_mapping_uninterruptible  blocked 121.000000s" in w
        assert "(DEADLOCK: the chain closes on itself)" in w
        h = app.pane_text("header")
        assert "│ DEADLOCK │ 1 hung │ 1 blocked" in h
        assert "hung task: task kworker/0:1:108 blocked for more than 120 seconds" in \
            app.pane_text("transcript")


@pytest.mark.asyncio
async def test_kernel_text_is_never_taken_for_markup() -> None:
    app = DaxApp(kernel="v4.18")
    async with app.run_test(size=(120, 40)) as pilot:
        for line in ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax",
                     "create '/mnt/[bold]x' 4K"]:
            app.run_line(line)
        await pilot.pause()
        assert "/mnt/[bold]x" in app.pane_text("inodes")
        assert "/mnt/[bold]x" in app.pane_text("pmem")
        assert "$ create '/mnt/[bold]x' 4K" in app.pane_text("transcript")


def test_main_rejects_a_bad_kernel_and_a_missing_script(capsys: pytest.CaptureFixture[str]) -> None:
    from daxsh.tui import main
    assert main(["--kernel", "v9.99"]) == 2
    assert "unknown kernel preset 'v9.99'" in capsys.readouterr().err
    assert main(["--pmem", "lots"]) == 2
    assert main(["/nonexistent/script"]) == 2
    assert "/nonexistent/script" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "F2 step" in capsys.readouterr().out


@pytest.mark.asyncio
async def test_startup_lines_run_before_the_first_command() -> None:
    app = DaxApp(kernel="v4.18")
    app.startup_lines = [f"replay {SCENARIO} v4.18", "# a comment", ""]
    async with app.run_test(size=(120, 40)):
        assert "(2018: DMA vs truncate on fsdax XFS) on a fresh machine, branch main: kernel " \
            "v4.18, 10 steps" in app.pane_text("transcript")
        log = app.pane_text("log")
        # each step's trace and dmesg under its own command line, in order
        assert log.index("── mount /dev/pmem0 /mnt -o dax") < log.index("XFS (pmem0): Mounting") \
            < log.index("── create /mnt/a 64K")
        assert "replay stopped: that step blocked" in app.pane_text("transcript")
        assert "truncate /mnt/a 0" in app.pane_text("waiters")


@pytest.mark.asyncio
async def test_explore_on_the_screen_says_the_verdict() -> None:
    """`explore` typed on the screen's command line: the same verdict words as `daxsh explore`
    (Sometimes with the race of v4.16, Never on v4.18), and a bad interleaving as a branch."""
    for kernel, word in (("v4.16", "Sometimes"), ("v4.18", "Never")):
        app = DaxApp(kernel=kernel)
        async with app.run_test(size=(120, 40)):
            for line in ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
                         "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write"]:
                app.run_line(line)
            app.run_line("explore --bad corruption --thread 'truncate /mnt/a 0; create /mnt/b 64K' "
                         "--thread 'pin 0x7f0000000000 4K; dma pin1; unpin pin1'")
            text = app.pane_text("transcript")
            assert word in text, text[-2000:]
            assert ("new branch" in text) == (word == "Sometimes")
