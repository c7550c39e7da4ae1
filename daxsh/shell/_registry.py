"""The shell's own commands (``history``, ``back``, ``replay`` ...): their registry.

Each is a :class:`ShellCommand` in :data:`SHELL_COMMANDS`, defined in :mod:`._commands` with
:func:`shell_command`; :class:`~daxsh.shell.Core` dispatches to them, the help and completion
read them.  Scenario files cannot use them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._core import Core
    from ._reply import Reply

Handler = Callable[["Core", list[str], "Reply"], None]


@dataclass(frozen=True)
class ShellCommand:
    """A command of the interactive front-ends (scenario files cannot use it)."""

    name: str
    usage: str
    summary: str
    example: str
    run: Handler
    complete: str = ""  # "points", "tomls", "names" or "" (nothing)


SHELL_COMMANDS: dict[str, ShellCommand] = {}


def shell_command(name: str, usage: str, summary: str, example: str, complete: str = ""
                  ) -> Callable[[Handler], Handler]:
    """Define a shell command: ``fn(core, words, reply)`` fills the reply."""
    def deco(fn: Handler) -> Handler:
        SHELL_COMMANDS[name] = ShellCommand(name, usage, summary, example, fn, complete)
        return fn
    return deco
