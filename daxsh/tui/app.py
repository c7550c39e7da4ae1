"""The live screen: the machine's page tables, pmem blocks, blocked waiters, inodes and log,
redrawn after every command typed on its command line.

:class:`DaxApp` runs over a :class:`~daxsh.scenario.timeline.Timeline` (time travel, journal) or
over a bare :class:`~daxsh.lang.Session` (the shell's ``tui`` command hands over the machine it
is driving; ``app.session`` is the machine to take back on exit, which ``back`` may have
replaced).  Every line goes through ``Session.execute``: the screen never mutates the model.
"""

from __future__ import annotations

import os
import traceback
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import Footer, Input, Label, Log, Static

from ..lang.session import Result, Session
from . import model
from .model import LogFeed, diff_lines, log_match
from .widgets import CommandLine, LinesPane

PANES = ("pt", "pmem", "waiters", "inodes", "log")
TITLES = {"pt": "Page tables", "pmem": "pmem", "waiters": "Waiters", "inodes": "Inodes",
          "log": "Log"}
TUI_COMMANDS = ("back", "goto", "history", "quit", "clear", "replay", "next")
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
    #transcript { height: 5; border: none; border-top: solid $panel-lighten-2;
                  background: $surface; }
    #cmdrow { height: 1; }
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

    def __init__(self, session: Session | None = None, *, timeline: Any = None,
                 journal_path: str | None = None, theme: str | None = None,
                 kernel: str = "", pmem: int | None = None, seed: int = 0) -> None:
        super().__init__()
        if timeline is None and session is None:
            timeline = _new_timeline(kernel, pmem, seed)
        elif timeline is None and session is not None and not session.executed:
            # a fresh machine handed over: time travel works from here
            timeline = _new_timeline(session.kernel_spec, session.pmem, session.seed)
            timeline.session = session
        self.timeline = timeline
        self._session = session if session is not None else timeline.session
        self.journal_path = journal_path or (
            str(timeline.journal.path) if timeline is not None and timeline.journal else None)
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
        self.queue: list[str] = []  # steps of a scenario loaded with `replay FILE --next`

    # -- the machine ---------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        """The machine shown now (``back``/``goto`` replace it with a replayed one)."""
        return self.timeline.session if self.timeline is not None else self._session

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
        yield Log(id="transcript", max_lines=2000)
        with Horizontal(id="cmdrow"):
            yield Label("daxsh$", id="prompt", markup=False)
            yield CommandLine(lambda: self.session, id="cmd",
                              placeholder="a daxsh command (Tab completes, `help` lists)")
        yield Footer()

    def on_mount(self) -> None:
        if self._theme_arg == "light":
            self.theme = "textual-light"
        elif self._theme_arg == "dark":
            self.theme = "textual-dark"
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
        words = line.split()
        self.baseline = {k: list(v) for k, v in self.current.items()}
        res: Result | None = None
        if words and words[0] in TUI_COMMANDS and words[0] not in _registry():
            self._tui_command(words)
        else:
            res = self._execute(line)
        self.refresh_panes(new_command=True)
        return res

    def _execute(self, line: str) -> Result | None:
        out = self.query_one("#transcript", Log)
        res: Result | None = None
        try:
            res = (self.timeline.execute(line) if self.timeline is not None
                   else self.session.execute(line))
        except Exception as e:  # a daxsh bug: report it, keep the session
            self.bug = traceback.format_exc()
            where = f" The journal is {self.journal_path}." if self.journal_path else ""
            out.write_lines([f"daxsh bug: {type(e).__name__}: {e} (this is not the simulated "
                             f"kernel failing; please report it).{where}",
                             *self.bug.rstrip().splitlines()[-6:]])
            self.notify(f"daxsh bug: {type(e).__name__}: {e}", severity="error", timeout=8,
                        markup=False)
        if res is not None:
            self.last_result = res
            text = res.text()
            if text:
                out.write_lines([x for t in text for x in t.split("\n")])
            for n in text:
                if "OOPS" in n or "CORRUPTION" in n:
                    self.notify(n.removeprefix("daxsh: "), severity="error", timeout=8,
                                markup=False)
                    break
        return res

    _queued_total = 0

    def _replay(self, args: list[str]) -> None:
        """``replay FILE [KERNEL] [--next]``, as in the shell: a fresh machine (the scenario's
        first kernel unless KERNEL) runs the scenario's steps until one blocks or fails;
        ``replay`` alone goes on with the steps left, ``next`` (F11) runs one of them.  With
        ``--next`` nothing runs until ``next``."""
        out = self.query_one("#transcript", Log)
        one_by_one = "--next" in args
        args = [a for a in args if a != "--next"]
        if args:
            from ..scenario.load import ScenarioError, load
            try:
                sc = load(os.path.expanduser(args[0]))
            except (ScenarioError, OSError) as e:
                out.write_line(f"replay: {e}")
                return
            kernel = " ".join(args[1:]) if len(args) > 1 else sc.kernels()[0]
            steps = [st.line for st in sc.setup + sc.steps]
            if sc.threads:
                out.write_line(f"replay: {args[0]}: its [threads] are not replayed here; "
                               f"`daxsh run {args[0]}` runs them")
            try:
                if self.timeline is not None:
                    self.timeline.reset(kernel, sc.pmem, sc.seed)
                else:
                    self._session = Session(kernel, sc.pmem, sc.seed)
            except ValueError as e:
                out.write_line(f"replay: {e}")
                return
            self._machine_replaced()
            out.write_line(f"replay {sc.title or args[0]} on {self.session.kernel_spec}: "
                           f"{len(steps)} steps" +
                           (" (`next` or F11 runs each)" if one_by_one else ""))
            self.queue = steps
            self._queued_total = len(steps)
        elif not self.queue:
            out.write_line("replay: which scenario? (usage: replay FILE.toml [KERNEL] [--next])")
            return
        else:
            out.write_line(f"going on: {len(self.queue)} step(s) left")
        if one_by_one:
            return
        while self.queue:
            line = self.queue.pop(0)
            out.write_line(f"$ {line}")
            res = self._execute(line)
            self._drain_log(True)
            if res is not None and res.status in ("blocked", "error", "skipped") and self.queue:
                out.write_line(f"replay stopped: that step {res.status}; `replay` runs the "
                               f"{len(self.queue)} step(s) left, `next` (F11) one of them")
                return

    def _tui_command(self, words: list[str]) -> None:
        """The screen's own commands (those the registry does not define)."""
        out = self.query_one("#transcript", Log)
        name = words[0]
        if name == "quit":
            self.exit(0)
            return
        if name == "clear":
            out.clear()
            return
        if name == "next":
            if not self.queue:
                out.write_line("next: no scenario steps are queued (`replay FILE [KERNEL] --next`)")
                return
            line = self.queue.pop(0)
            out.write_line(f"$ {line}    # step {self._queued_total - len(self.queue)} of "
                           f"{self._queued_total}")
            self._execute(line)
            return
        if name == "replay":
            self._replay(words[1:])
            return
        tl = self.timeline
        if tl is None:
            out.write_line(f"{name}: time travel needs the session's timeline (start the screen "
                           "with `daxsh tui`)")
            return
        try:
            if name == "back":
                tl.back(int(words[1]) if len(words) > 1 else 1)
            elif name == "goto":
                if len(words) < 2:
                    out.write_line("goto: which point? (usage: goto N | BRANCH:N; `history`)")
                    return
                tl.goto(words[1])
            elif name == "history":
                out.write_lines(tl.history())
                return
        except (ValueError, IndexError) as e:
            out.write_line(f"{name}: {e}")
            return
        self._machine_replaced()
        out.write_line(f"at point {tl.branch}:{tl.pos}")

    def _machine_replaced(self) -> None:
        self._session = self.timeline.session
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

    def _drain_log(self, new_command: bool) -> None:
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
                if self.last_result is not None and new_command:
                    log.write_line(f"── {self.last_result.line}")
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "timeline_back" and self.timeline is None:
            return None  # no timeline: hide the binding
        return True

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
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        w = self.focused
        if w is not None and w.id == "transcript":
            self.screen.maximize(w, container=False)
            return
        while w is not None and "pane" not in w.classes:
            w = w.parent  # type: ignore[assignment]
        if w is None:
            w = self.query_one("#pmem-box")
        self.screen.maximize(w, container=False)

    def action_focus_cmd(self) -> None:
        if self.screen.maximized is not None:
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


def _registry() -> dict[str, Any]:
    from ..lang.registry import REGISTRY
    return REGISTRY


def _new_timeline(kernel: str, pmem: int | None, seed: int) -> Any:
    from ..kernel.machine import DEFAULT_PMEM
    from ..scenario.timeline import Timeline
    return Timeline(kernel, pmem if pmem is not None else DEFAULT_PMEM, seed)
