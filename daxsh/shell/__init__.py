"""The headless interactive core under the shell (cmd2) and the screen (Textual).

Public surface: :class:`Core` (one line in, a :class:`Reply` out), :class:`Timeline`
(branches, back/goto, diff, record), :class:`Journal` and the state directory, the shell's
own commands (:data:`SHELL_COMMANDS`, :func:`help_lines`) and completion.  Nothing here
imports a UI library; the front-ends import this package and never each other.
"""

from ._commands import help_lines  # (defining the commands fills SHELL_COMMANDS)
from ._complete import complete_line, current_word
from ._core import SHELL_COMMANDS, Core, ShellCommand
from ._journal import Journal, JournalBusy, last_journal, read_journal, state_dir
from ._reply import Item, Kind, Reply, Status
from ._start import open_session
from ._timeline import DIFF_VIEWS, Branch, Point, Timeline, TimelineError

__all__ = ["DIFF_VIEWS", "SHELL_COMMANDS", "Branch", "Core", "Item", "Journal", "JournalBusy",
           "Kind", "Point", "Reply", "ShellCommand", "Status", "Timeline", "TimelineError",
           "complete_line", "current_word", "help_lines", "last_journal", "open_session",
           "read_journal", "state_dir"]
