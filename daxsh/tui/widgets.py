"""The screen's widgets: a virtualised pane of lines with a cursor, and the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input

from ..shell import current_word
from .model import CHANGED, GONE, N_FILE_COLOURS, NEW, Line

TAGS = ("plain", "head", "dim", "pinned", "danger", "free", "meta", "bad", "ok", "warn",
        *(f"file{i}" for i in range(N_FILE_COLOURS)))
GUTTER = {NEW: "+", CHANGED: "~", GONE: "-"}


class LinesPane(ScrollView, can_focus=True):
    """A pane of :class:`~daxsh.tui.model.Line`; draws only the visible lines (Line API), so a
    thousand entries cost what the twenty on screen cost.  Lines changed by the last command
    carry a gutter mark (``+`` new, ``~`` changed, ``-`` gone) and the ``changed`` style, so the
    change is visible without colour too.  Up/Down move a cursor; Enter or a click selects the
    line's item (:class:`LinesPane.Selected`)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"pane--{t}" for t in TAGS), "pane--changed", "pane--gone", "pane--cursor"}

    DEFAULT_CSS = """
    LinesPane { background: $surface; }
    LinesPane > .pane--plain { }
    LinesPane > .pane--head { text-style: bold; color: $text; }
    LinesPane > .pane--dim { color: $text-muted; }
    LinesPane > .pane--pinned { color: $warning; text-style: bold; }
    LinesPane > .pane--danger { color: $error; text-style: bold reverse; }
    LinesPane > .pane--bad { color: $error; text-style: bold; }
    LinesPane > .pane--warn { color: $warning; }
    LinesPane > .pane--ok { color: $success; }
    LinesPane > .pane--free { color: $text-muted; }
    LinesPane > .pane--meta { color: $secondary; }
    LinesPane > .pane--file0 { color: $primary; }
    LinesPane > .pane--file1 { color: $accent; }
    LinesPane > .pane--file2 { color: $success; }
    LinesPane > .pane--file3 { color: $secondary; }
    LinesPane > .pane--file4 { color: $warning-darken-1; }
    LinesPane > .pane--file5 { color: $primary-lighten-2; }
    LinesPane > .pane--changed { background: $warning 25%; text-style: bold; }
    LinesPane > .pane--gone { color: $text-muted; text-style: strike; }
    LinesPane > .pane--cursor { background: $accent 30%; }
    LinesPane:focus > .pane--cursor { background: $accent 60%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    class Selected(Message):
        def __init__(self, pane: LinesPane, item: Any) -> None:
            super().__init__()
            self.pane = pane
            self.item = item

    def __init__(self, *, id: str | None = None, cursor: bool = True) -> None:
        super().__init__(id=id)
        self.rows: list[tuple[Line, str]] = []
        self.cursor = 0
        self.has_cursor = cursor
        self._styles: dict[str, Style] = {}
        self._width = 0

    # -- data --------------------------------------------------------------------------------
    def set_rows(self, rows: list[tuple[Line, str]]) -> None:
        """Show ``rows`` (line, mark)."""
        self.rows = rows
        self._width = max([x.width for x, _ in rows], default=0) + 2
        self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.virtual_size = Size(self._width, len(rows))
        self.refresh()

    def plain_lines(self) -> list[str]:
        """What the pane says, as text with gutter marks (for tests and captures)."""
        return [f"{GUTTER.get(m, ' ')}{x.text}" for x, m in self.rows]

    @property
    def text(self) -> str:
        return "\n".join(self.plain_lines())

    def item_at_cursor(self) -> Any:
        if not self.rows:
            return None
        return self.rows[self.cursor][0].item

    def move_cursor_to_item(self, item: Any) -> bool:
        for i, (x, _m) in enumerate(self.rows):
            if x.item == item:
                self.cursor = i
                self.scroll_to(y=max(0, i - 2), animate=False)
                self.refresh()
                return True
        return False

    # -- rendering ---------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        st = self._styles.get(name)
        if st is None:
            st = self._styles[name] = self.get_component_rich_style(f"pane--{name}", partial=True)
        return st

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        i = scroll_y + y
        if i >= len(self.rows):
            return Strip.blank(width, base)
        line, mark = self.rows[i]
        extra: Style | None = None
        if mark in (NEW, CHANGED):
            extra = self._style("changed")
        elif mark == GONE:
            extra = self._style("gone")
        if self.has_cursor and i == self.cursor and self.has_focus:
            extra = (extra or Style()) + self._style("cursor")
        segs = [Segment(GUTTER.get(mark, " "), base + (extra or Style()))]
        if line.fold:
            segs.append(Segment(line.fold, base + self._style("dim") + (extra or Style())))
        for text, tag in line.segs:
            if not text:
                continue
            st = base + self._style(tag)
            if extra is not None:
                st = st + extra
            segs.append(Segment(text, st))
        strip = Strip(segs)
        return strip.crop_extend(scroll_x, scroll_x + width, base + (extra or Style()))

    # -- input -------------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        if not self.rows:
            return
        self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))
        top = self.scroll_offset.y
        h = max(1, self.size.height)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + h:
            self.scroll_to(y=self.cursor - h + 1, animate=False)
        self.refresh()
        item = self.item_at_cursor()
        if item is not None:
            self.post_message(self.Selected(self, item))

    def action_select(self) -> None:
        item = self.item_at_cursor()
        if item is not None:
            self.post_message(self.Selected(self, ("toggle", item)))

    def on_click(self, event: events.Click) -> None:
        i = self.scroll_offset.y + event.y
        if 0 <= i < len(self.rows):
            self.cursor = i
            self.refresh()
            item = self.rows[i][0].item
            if item is not None:
                self.post_message(self.Selected(self, item))
                if event.chain == 2:
                    self.post_message(self.Selected(self, ("toggle", item)))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class CommandLine(Input):
    """The command line: the daxsh language, Tab completion from the registry, Up/Down history."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False),
        Binding("up", "history(-1)", "History", show=False),
        Binding("down", "history(1)", "History", show=False),
    ]

    class Line(Message):
        """A line to run (the command line is already cleared, so keys typed while it runs
        are kept)."""

        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    async def action_submit(self) -> None:
        line = self.value
        self.remember(line)
        self.value = ""
        self.post_message(self.Line(line))

    def _on_paste(self, event: events.Paste) -> None:
        """Pasted text: each complete line runs, in order, as if typed and Entered; the text
        after the last newline stays on the command line (Textual's Input keeps only the
        first line of a paste, and a terminal may deliver a paste as one event)."""
        event.stop()
        event.prevent_default()  # not Input's own paste as well
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self.insert_text_at_cursor(text)
            return
        *whole, rest = text.split("\n")
        before, after = self.value[: self.cursor_position], self.value[self.cursor_position:]
        whole[0] = before + whole[0]
        for line in whole:
            self.remember(line)
            self.post_message(self.Line(line))
        self.value = rest + after
        self.cursor_position = len(rest)

    class Candidates(Message):
        def __init__(self, items: list[str]) -> None:
            super().__init__()
            self.items = items

    def __init__(self, complete: Callable[[str], list[str]], **kw: Any) -> None:
        super().__init__(**kw)
        self.complete = complete  # the core's completion: the line so far -> candidates
        self.history: list[str] = []
        self.hpos = 0

    def remember(self, line: str) -> None:
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self.hpos = len(self.history)

    def action_history(self, delta: int) -> None:
        if not self.history:
            return
        self.hpos = max(0, min(len(self.history), self.hpos + delta))
        self.value = self.history[self.hpos] if self.hpos < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        text = self.value[: self.cursor_position]
        start, _word = current_word(text)
        cands = self.complete(text)
        if not cands:
            return
        word = text[start:]
        common = cands[0]
        for c in cands[1:]:
            while not c.startswith(common):
                common = common[:-1]
        if len(cands) == 1:
            common = cands[0] + ("" if cands[0].endswith(("/", ":")) else " ")
        if len(common) > len(word):
            rest = self.value[self.cursor_position:]
            self.value = text[:start] + common + rest
            self.cursor_position = start + len(common)
        if len(cands) > 1:
            self.post_message(self.Candidates(cands))
