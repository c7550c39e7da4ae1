"""The interactive shell: cmd2 4.x over the headless core (:mod:`daxsh.shell`).

No command is defined here: every line goes to :meth:`Core.run` (the language's commands and
the shell's own: ``history``, ``back``, ``goto``, ``replay``, ``record``, ...), and the reply's
items are printed with a style per :class:`Kind`.  cmd2's own parser is bypassed (the daxsh
lexer splits words, handles quotes, ``#`` and ``&``), and every cmd2 built-in that reaches
outside the model is removed per instance.  What cmd2 still owns: the prompt_toolkit line
editor, the persistent history file (Up/Down, Ctrl-R), Tab completion display, Ctrl-C/Ctrl-D.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cmd2
from cmd2.completion import CompletionItem, Completions
from cmd2.exceptions import EmptyStatement
from cmd2.parsing import Statement

from ..shell import Core, Kind, Reply
from ..shell import current_word as current_word

# cmd2 built-ins removed from every instance (never from the class).
UNSAFE_BUILTINS = ("shell", "edit", "py", "ipy", "run_pyscript", "run_script",
                   "_relative_run_script", "macro", "alias", "set", "shortcuts")
# cmd2 built-ins the core replaces (every line goes to Core.run; these are never reached)
CORE_COMMANDS = ("help", "history", "quit")

STYLES: dict[Kind, str | None] = {
    Kind.OUTPUT: None, Kind.ECHO: "dim", Kind.TRANSLATED: "cyan", Kind.CARET: None, Kind.ERROR: "red",
    Kind.BLOCKED: "yellow", Kind.STOPPED: "yellow", Kind.JOB_DONE: "green",
    Kind.JOB_EXIT: "bold red", Kind.WARNING: "yellow", Kind.HINT: None, Kind.HEADING: "bold",
    Kind.CURRENT: "bold", Kind.ADDED: "green", Kind.REMOVED: "red", Kind.BUG: "bold red",
    Kind.ALARM: "bold red",
}
TO_STDERR = (Kind.CARET, Kind.ERROR, Kind.BUG, Kind.WARNING)


class DaxShell(cmd2.Cmd):
    """The daxsh prompt."""

    DEFAULT_CATEGORY = "shell"

    def __init__(self, core: Core, *, stdin: Any = None, stdout: Any = None,
                 history_file: str | None = None) -> None:
        super().__init__(
            stdin=stdin, stdout=stdout, allow_cli_args=False, allow_redirection=False,
            allow_clipboard=False, auto_suggest=False, complete_in_thread=False,
            include_py=False, include_ipy=False, persistent_history_file="",
            shortcuts={}, terminators=[], startup_script="",
        )
        for name in UNSAFE_BUILTINS + CORE_COMMANDS:
            setattr(self, f"do_{name}", None)
        for name in ("editor",):
            if name in self.settables:
                self.remove_settable(name)
        self.hidden_commands = ["_eof"]
        if os.environ.get("NO_COLOR"):  # https://no-color.org: no colour, whatever the terminal
            self.allow_style = cmd2.rich_utils.AllowStyle.NEVER
        self.core = core
        self.intro = ""
        if history_file:
            self._use_file_history(history_file)
        self.prompt = core.prompt()
        self.register_cmdfinalization_hook(self._after_command)

    @property
    def tl(self) -> Any:
        return self.core.tl

    @property
    def journal_path(self) -> str | None:
        return self.core.journal_path

    # -- history (prompt_toolkit FileHistory: appended per line, Ctrl-R searches it) ----------
    def _use_file_history(self, path: str) -> None:
        from prompt_toolkit.history import FileHistory
        h = FileHistory(path)
        self.main_session.history = h
        self.main_session.default_buffer.history = h

    # -- the prompt ------------------------------------------------------------------------------
    def make_prompt(self) -> str:
        return self.core.prompt()

    def pre_prompt(self) -> None:
        self.prompt = self.core.prompt()

    def _after_command(self, data: cmd2.plugin.CommandFinalizationData) -> cmd2.plugin.CommandFinalizationData:
        self.prompt = self.core.prompt()
        return data

    # -- dispatch: every line to the core --------------------------------------------------------
    def _input_line_to_statement(self, line: str) -> Statement:
        text = line.rstrip("\r\n")
        stripped = text.strip()
        if not stripped:
            raise EmptyStatement
        parts = stripped.split(None, 1)
        return Statement(parts[1] if len(parts) > 1 else "", raw=text, command=parts[0])

    def onecmd(self, statement: Statement | str, *, add_to_history: bool = True) -> bool:
        if not isinstance(statement, Statement):
            statement = self._input_line_to_statement(statement)
        if statement.command == "_eof":
            self.poutput("")
            return self.show(self.core.run("quit"))
        return self.show(self.core.run(statement.raw))

    def run_line(self, line: str) -> Reply:
        """Run one line and print its reply (for tests and the entry point)."""
        reply = self.core.run(line)
        self.show(reply)
        return reply

    def show(self, reply: Reply) -> bool:
        """Print a reply; True when the shell should leave."""
        for item in reply.items:
            style = STYLES[item.kind]
            text = f"{item.prompt}{item.text}" if item.kind == Kind.ECHO else item.text
            if item.kind in TO_STDERR:
                self.perror(text, style=style)
            else:
                self.poutput(text, style=style)
        if reply.clear:
            self.poutput("\033[H\033[2J", end="")
        if reply.screen and self.core.screen is not None:
            self.core.screen(self.core)
            self.poutput(f"back from the screen at {self.tl.branch}:{self.tl.pos}")
        return reply.quit

    # -- completion ------------------------------------------------------------------------------
    def complete(self, text: str, line: str, begidx: int, endidx: int,
                 custom_settings: Any = None) -> Completions:
        if custom_settings is not None:  # a command's own prompt (not used by daxsh)
            return super().complete(text, line, begidx, endidx, custom_settings)
        cands = self.core.complete(line[:endidx])
        _, word = current_word(line[:endidx])
        cut = len(word) - len(text)  # cmd2 may break words at quotes; keep its view
        items = [CompletionItem(c[cut:] if cut > 0 else c) for c in cands]
        final = not (len(cands) == 1 and (cands[0].endswith("/") or cands[0].endswith(":")))
        return Completions(items=items, allow_finalization=final)


def history_path(state: Path) -> str:
    return str(state / "history")
