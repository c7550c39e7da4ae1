"""The live screen: the machine's page tables, pmem blocks, blocked waiters, inodes and log,
redrawn after every command typed on its command line.

:class:`DaxApp` is a view over the headless :class:`~daxsh.shell.Core` (the same core the
shell runs on: its commands, time travel, replay, recording, journal and completion).  What
the screen owns: the panes and their diff marks, the log feed and its filter, the block
detail, zoom, themes, the command line widget.  Every line goes through :meth:`Core.run`: the
screen never mutates the model.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import Footer, Input, Label, Log, Static

from ..lang.session import Result, Session
from ..shell import Core, Kind, Reply, Timeline
from . import model
from .model import LogFeed, diff_lines, log_match
from .widgets import CommandLine, LinesPane

PANES = ("pt", "pmem", "waiters", "inodes", "log")
TITLES = {"pt": "Page tables", "pmem": "pmem", "waiters": "Waiters", "inodes": "Inodes",
          "log": "Log"}
LOG_KEEP = 20_000


class Header(Static):
    """Kernel preset and machine state on one line (markup off: kernel text)."""

    DEFAULT_CSS = """
    Header { height: 1; background: $panel; color: $text; }
    Header.-crashed { background: $error; color: $text; text-style: bold; }
    """


class PaneBox(Vertical):
    """One pane with its title; F10 maximizes it."""

    ALLOW_MAXIMIZE = True


class DaxApp(App[int]):
    """daxsh's live screen."""

    TITLE = "daxsh"
    CSS = """
    Screen { layout: vertical; layers: base overlay; }
    #toosmall { layer: overlay; dock: top; width: 100%; height: auto; display: none;
                background: $warning; color: $text; text-style: bold; padding: 0 1; }
    #toosmall.-shown { display: block; }
    #panes { layout: grid; grid-size: 2; grid-rows: 1fr 1fr 1fr; grid-gutter: 0 1; height: 1fr; }
    LinesPane, Log { scrollbar-size-horizontal: 0; }
    .pane { border: none; border-top: solid $panel-lighten-2; border-title-color: $text;
            border-title-style: bold; height: 1fr; min-height: 2; }
    .pane:focus-within { border-top: solid $accent; }
    #pmembox { layout: vertical; }
    #pmem { height: 1fr; min-height: 3; border: none; }
    #detail { height: auto; max-height: 60%; display: none; border: none;
              border-top: dashed $panel-lighten-2; }
    #detail.-shown { display: block; }
    #logbox { column-span: 2; layout: vertical; }
    #logfilter { height: 1; border: none; padding: 0 1; background: $surface; }
    #log { height: 1fr; }
    #console { height: auto; layout: vertical; }
    #transcript { height: 5; border: none; border-top: solid $panel-lighten-2;
                  background: $surface; }
    Screen #console.-zoomed #transcript { height: 1fr; }
    Screen #console.-zoomed { height: 1fr; }
    #cmdrow { height: 1; }
    Screen.-no-color LinesPane > .pane--file0, Screen.-no-color LinesPane > .pane--file1,
    Screen.-no-color LinesPane > .pane--file2, Screen.-no-color LinesPane > .pane--file3,
    Screen.-no-color LinesPane > .pane--file4, Screen.-no-color LinesPane > .pane--file5,
    Screen.-no-color LinesPane > .pane--meta, Screen.-no-color LinesPane > .pane--ok,
    Screen.-no-color LinesPane > .pane--warn, Screen.-no-color LinesPane > .pane--pinned,
    Screen.-no-color LinesPane > .pane--bad, Screen.-no-color LinesPane > .pane--danger {
        color: $foreground; }
    Screen.-no-color LinesPane > .pane--free, Screen.-no-color LinesPane > .pane--dim {
        color: $foreground; text-style: italic; }
    #prompt { width: auto; padding: 0 0 0 1; color: $accent; text-style: bold; }
    #cmd { height: 1; border: none; padding: 0 1; width: 1fr; }
    #waiters-box, #pt-box, #inodes-box { layout: vertical; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "step", "Step"),
        Binding("f3", "cont", "Continue"),
        Binding("f4", "timeline_back", "Back"),
        Binding("f5", "toggle_pane('pt')", "PTEs"),
        Binding("f6", "toggle_pane('pmem')", "pmem"),
        Binding("f7", "toggle_pane('waiters')", "Wait"),
        Binding("f8", "toggle_pane('inodes')", "Inodes"),
        Binding("f9", "toggle_pane('log')", "Log"),
        Binding("f10", "zoom", "Zoom"),
        Binding("f11", "next", "Next step", show=False),
        Binding("escape", "focus_cmd", "Cmd"),
        Binding("ctrl+t", "toggle_dark", "Theme"),
        Binding("ctrl+e", "expand", "Expand PTEs", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, session: Session | None = None, *, core: Core | None = None,
                 timeline: Timeline | None = None, theme: str | None = None,
                 kernel: str = "", pmem: int | None = None, seed: int = 0) -> None:
        super().__init__()
        if core is None:
            if timeline is None:
                from ..kernel.machine import DEFAULT_PMEM
                if session is not None:  # a machine handed over: driven in place
                    timeline = Timeline(session.kernel_spec, session.pmem, session.seed)
                    timeline.session = session
                    timeline.current.lines[:] = session.executed  # its past, to go back over
                    timeline.pos = len(session.executed)
                else:
                    timeline = Timeline(kernel, pmem if pmem is not None else DEFAULT_PMEM, seed)
            core = Core(timeline)
        self.core = core
        self.journal_path = core.journal_path
        self._theme_arg = theme
        self.collapsed: set[Any] = set()
        self.expanded = False
        self.selected_block: int | None = None
        self.baseline: dict[str, list[model.Line]] = {}
        self.current: dict[str, list[model.Line]] = {}
        self.log_lines: list[tuple[str, str]] = []
        self.log_filter = ""
        self.feed = LogFeed(self.session.k)
        self.last_result: Result | None = None
        self.bug: str = ""
        self.startup_lines: list[str] = []
        core.on_event = self._core_event

    @property
    def timeline(self) -> Timeline:
        return self.core.tl

    # -- the machine ---------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        """The machine shown now (``back``/``goto`` replace it with a replayed one)."""
        return self.core.tl.session

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(id="header", markup=False)
        yield Static("", id="toosmall", markup=False)
        with Container(id="panes"):
            with PaneBox(id="pt-box", classes="pane"):
                yield LinesPane(id="pt")
            with PaneBox(id="pmem-box", classes="pane"), Vertical(id="pmembox"):
                yield LinesPane(id="pmem")
                yield LinesPane(id="detail", cursor=False)
            with PaneBox(id="waiters-box", classes="pane"):
                yield LinesPane(id="waiters")
            with PaneBox(id="inodes-box", classes="pane"):
                yield LinesPane(id="inodes")
            with PaneBox(id="logbox", classes="pane"):
                yield Input(placeholder="filter the log: words; 'dmesg' or 'trace' picks one",
                            id="logfilter")
                yield Log(id="log", max_lines=LOG_KEEP)
        with PaneBox(id="console"):
            yield Log(id="transcript", max_lines=2000)
            with Horizontal(id="cmdrow"):
                yield Label("daxsh$", id="prompt", markup=False)
                yield CommandLine(self.core.complete, id="cmd",
                                  placeholder="a daxsh command (Tab completes, `help` lists)")
        yield Footer()

    def on_mount(self) -> None:
        if self._theme_arg == "light":
            self.theme = "textual-light"
        elif self._theme_arg == "dark":
            self.theme = "textual-dark"
        if self.no_color:  # NO_COLOR (Textual reads it): every tag in the text colour, styles stay
            self.screen.add_class("-no-color")
        for p in PANES:
            box = self.query_one(f"#{'logbox' if p == 'log' else p + '-box'}")
            box.border_title = TITLES[p]
        self.query_one("#transcript", Log).write_line(
            f"daxsh {self._version()} — kernel {self.session.kernel_spec}. Type a command "
            "(`help`), Esc returns here, Ctrl-Q quits." +
            (f" Journal: {self.journal_path}" if self.journal_path else ""))
        self._check_size(*self.size)
        self.refresh_panes(new_command=False)
        for line in self.startup_lines:
            if line.strip() and not line.lstrip().startswith("#"):
                self.run_line(line)
        self.query_one("#cmd", CommandLine).focus()

    MIN_SIZE = (80, 24)

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, w: int, h: int) -> None:
        """Below 80x24 the panes are cramped: say so (nothing is lost; enlarge to go on)."""
        small = w < self.MIN_SIZE[0] or h < self.MIN_SIZE[1]
        note = self.query_one("#toosmall", Static)
        if small:
            note.update(f"daxsh needs a terminal of at least {self.MIN_SIZE[0]}x{self.MIN_SIZE[1]}"
                        f" (this one is {w}x{h}); the session goes on, enlarge it to see the "
                        "panes")
        note.set_class(small, "-shown")

    @staticmethod
    def _version() -> str:
        from .. import __version__
        return __version__

    # -- running a line --------------------------------------------------------------------------
    @on(CommandLine.Line)
    def _submitted(self, event: CommandLine.Line) -> None:
        self.run_line(event.line)

    @on(Input.Changed, "#logfilter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.log_filter = event.value
        self._rebuild_log()

    @on(CommandLine.Candidates)
    def _candidates(self, event: CommandLine.Candidates) -> None:
        self.query_one("#transcript", Log).write_line("  " + "  ".join(event.items[:40]))

    def run_line(self, line: str) -> Result | None:
        """Run one command line as if typed; the panes are redrawn and marked with what it
        changed.  A simulated kernel failure is shown; a daxsh bug is reported and the
        session goes on."""
        out = self.query_one("#transcript", Log)
        if line.strip():
            out.write_line(f"$ {line}")
        self.baseline = {k: list(v) for k, v in self.current.items()}
        reply = self.core.run(line)
        self.show(reply)
        self.refresh_panes(new_command=True)
        return reply.result if reply.status != "bug" else None

    def show(self, reply: Reply) -> None:
        """Write a reply to the transcript (an echoed step as ``$ LINE``)."""
        out = self.query_one("#transcript", Log)
        if reply.result is not None:
            self.last_result = reply.result
        alarmed = False
        for item in reply.items:
            if item.kind == Kind.ECHO:
                out.write_line(f"$ {item.text}")
                continue
            out.write_lines(item.text.split("\n"))
            if item.kind == Kind.BUG:
                self.bug = reply.traceback or item.text
                out.write_lines(reply.traceback.rstrip().splitlines()[-6:])
                self.notify(item.text, severity="error", timeout=8, markup=False)
            elif item.kind == Kind.ALARM and not alarmed:
                alarmed = True
                self.notify(item.text.removeprefix("daxsh: "), severity="error", timeout=8,
                            markup=False)
        if reply.clear:
            out.clear()
        if reply.quit:
            self.exit(0)

    def _core_event(self, what: str, arg: str) -> None:
        if what == "machine":  # back, goto, replay: another machine, a new log
            self._machine_replaced()
        elif what == "step":  # a replayed (or explored) step ran: its log under its own line
            self._drain_log(True, heading=arg)

    def _machine_replaced(self) -> None:
        self.feed.reset(self.session.k)
        self.log_lines.clear()
        self.query_one("#log", Log).clear()

    # -- drawing ---------------------------------------------------------------------------------
    def compute(self) -> dict[str, list[model.Line]]:
        k = self.session.k
        shown = self.shown_panes()
        out: dict[str, list[model.Line]] = {}
        if "pt" in shown:
            out["pt"] = model.page_table_lines(k, self.collapsed, self.expanded)
        if "pmem" in shown:
            out["pmem"] = model.pmem_lines(k)
        if "waiters" in shown:
            out["waiters"] = model.waiter_lines(k)
        if "inodes" in shown:
            out["inodes"] = model.inode_lines(k)
        return out

    def shown_panes(self) -> set[str]:
        return {p for p in PANES if self._box(p).display}

    def _box(self, p: str) -> Any:
        return self.query_one(f"#{'logbox' if p == 'log' else p + '-box'}")

    def refresh_panes(self, new_command: bool = True) -> None:
        hdr = self.query_one("#header", Header)
        from rich.text import Text
        st = model.machine_state(self.session)
        hdr.update(Text("".join(s for s, _ in model.header_segs(self.session)), no_wrap=True,
                        overflow="ellipsis"))
        hdr.set_class(bool(st["crashed"]), "-crashed")
        self.current = self.compute()
        for name, lines in self.current.items():
            pane = self.query_one(f"#{name}", LinesPane)
            before = self.baseline.get(name) if new_command or self.baseline else None
            rows = diff_lines(before, lines, self.collapsed)
            pane.set_rows(rows)
            n_new = sum(1 for _x, m in rows if m in (model.NEW, model.CHANGED))
            n_gone = sum(1 for _x, m in rows if m == model.GONE)
            title = TITLES[name] if name != "waiters" else \
                f"Waiters ({sum(1 for x in lines if x.item and x.item[0] == 'task')})"
            marks = ([f"~{n_new}"] if n_new else []) + ([f"-{n_gone}"] if n_gone else [])
            if marks:
                title += "  " + " ".join(marks)
            box = self._box(name)
            box.border_title = title
        self._update_detail()
        self._drain_log(new_command)

    def _drain_log(self, new_command: bool, heading: str | None = None) -> None:
        """Append the trace events and dmesg lines since the last call (under a line naming
        the command that produced them)."""
        if self.feed.k is not self.session.k:  # `reboot`, `kernel`: a new machine, a new log
            self.feed.reset(self.session.k)
            self.query_one("#log", Log).write_line("── a new machine boots")
        new = self.feed.take()
        if new:
            self.log_lines.extend(new)
            if len(self.log_lines) > LOG_KEEP:
                del self.log_lines[: len(self.log_lines) - LOG_KEEP]
            log = self.query_one("#log", Log)
            shown = [t for s, t in new if log_match(self.log_filter, s, t)]
            if shown:
                if heading is None and self.last_result is not None:
                    heading = self.last_result.line
                if heading is not None and new_command:
                    log.write_line(f"── {heading}")
                log.write_lines(shown)

    def _rebuild_log(self) -> None:
        log = self.query_one("#log", Log)
        log.clear()
        log.write_lines([t for s, t in self.log_lines if log_match(self.log_filter, s, t)])

    def _update_detail(self) -> None:
        det = self.query_one("#detail", LinesPane)
        if self.selected_block is None:
            det.set_class(False, "-shown")
            return
        det.set_rows([(x, model.SAME) for x in model.block_detail(self.session.k,
                                                                   self.selected_block)])
        det.set_class(True, "-shown")

    # -- selection -------------------------------------------------------------------------------
    @on(LinesPane.Selected)
    def _selected(self, event: LinesPane.Selected) -> None:
        item = event.item
        toggle = isinstance(item, tuple) and item and item[0] == "toggle"
        if toggle:
            item = item[1]
        if not isinstance(item, tuple) or not item:
            return
        if item[0] == "block":
            self.select_block(item[1])
        elif item[0] in ("proc", "vma") and toggle:
            self.collapsed.symmetric_difference_update({item})
            self.refresh_panes(new_command=False)
            self.query_one("#pt", LinesPane).move_cursor_to_item(item)

    def select_block(self, block: int | None) -> None:
        self.selected_block = block
        self._update_detail()

    # -- actions -------------------------------------------------------------------------------
    def action_step(self) -> None:
        self.run_line("step")

    def action_cont(self) -> None:
        self.run_line("continue")

    def action_next(self) -> None:
        self.run_line("next")

    def action_timeline_back(self) -> None:
        self.run_line("back")

    def action_toggle_pane(self, pane: str) -> None:
        box = self._box(pane)
        box.display = not box.display
        if box.display:
            self.refresh_panes(new_command=False)

    def action_zoom(self) -> None:
        """F10: the focused pane fills the screen (from the command line: the transcript,
        with the command line under it); F10 or Esc again restores the layout."""
        if self.screen.maximized is not None:
            self.screen.maximized.remove_class("-zoomed")
            self.screen.minimize()
            return
        w = self.focused
        while w is not None and "pane" not in w.classes and w.id != "console":
            w = w.parent  # type: ignore[assignment]
        if w is None:
            w = self.query_one("#console")
        w.add_class("-zoomed")
        self.screen.maximize(w, container=False)

    def action_focus_cmd(self) -> None:
        if self.screen.maximized is not None and self.screen.maximized.id != "console":
            self.screen.maximized.remove_class("-zoomed")
            self.screen.minimize()
        self.query_one("#cmd", CommandLine).focus()

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_expand(self) -> None:
        self.expanded = not self.expanded
        self.refresh_panes(new_command=False)

    # -- for tests and captures ----------------------------------------------------------------
    def pane_text(self, name: str) -> str:
        if name == "log":
            return "\n".join(str(x) for x in self.query_one("#log", Log).lines)
        if name == "transcript":
            return "\n".join(str(x) for x in self.query_one("#transcript", Log).lines)
        if name == "header":
            return "".join(s for s, _ in model.header_segs(self.session))
        return self.query_one(f"#{name}", LinesPane).text
