"""What one line typed at a front-end did: a status and typed items, never text to parse.

A front-end renders a :class:`Reply` item by item and picks a style by :class:`Kind`; it
never looks inside the text to decide what happened.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..lang.session import BLOCKED, DONE, ERROR, SKIPPED, STOPPED, NoticeKind, Result


class Status(enum.StrEnum):
    """How a line ended (the language's statuses; shell commands are DONE or ERROR)."""

    DONE = DONE
    BLOCKED = BLOCKED
    ERROR = ERROR
    SKIPPED = SKIPPED
    STOPPED = STOPPED
    INTERRUPTED = "interrupted"  # ^C: the machine is back where it was before the line
    BUG = "bug"  # an exception in daxsh itself (never the simulated kernel failing)


class Kind(enum.StrEnum):
    OUTPUT = "output"  # what a command printed
    ECHO = "echo"  # a command line run on the person's behalf (replay, explore)
    TRANSLATED = "translated"  # ``(shell) -> LINE``: the daxsh line a pasted shell line became
    CARET = "caret"  # the line with a caret under the wrong word
    ERROR = "error"  # what was wrong (usage, kernel error)
    BLOCKED = "blocked"  # a job blocked in the kernel
    STOPPED = "stopped"  # a job stopped (start, break)
    JOB_DONE = "job-done"  # [N]+ Done
    JOB_EXIT = "job-exit"  # [N]+ Exit, a process killed, a crash notice
    WARNING = "warning"  # something the person should know (journal stopped, replay stopped)
    HINT = "hint"  # what to type next
    HEADING = "heading"  # a title line (help groups, usage)
    CURRENT = "current"  # the line marking where we are (history)
    ADDED = "added"  # a diff's + line
    REMOVED = "removed"  # a diff's - line
    BUG = "bug"  # a daxsh bug report
    ALARM = "alarm"  # the simulated kernel corrupted data or oopsed (the screen raises a toast)


@dataclass(frozen=True)
class Item:
    kind: Kind
    text: str
    prompt: str = ""  # for ECHO: the prompt of the point the line ran at


@dataclass
class Reply:
    line: str
    status: Status = Status.DONE
    items: list[Item] = field(default_factory=list)
    result: Result | None = None  # the language's result, for a language line
    machine_replaced: bool = False  # back/goto/replay: a new Session (the log starts again)
    quit: bool = False
    clear: bool = False  # the front-end clears its transcript
    screen: bool = False  # the front-end opens the live screen on this core
    traceback: str = ""  # for Status.BUG: where daxsh failed

    def add(self, kind: Kind, text: str, prompt: str = "") -> None:
        self.items.append(Item(kind, text, prompt))

    def text(self) -> list[str]:
        return [i.text for i in self.items]


# the kind of a line the language typed (a notice, or an output line that is more than output)
NOTICE_KINDS: dict[NoticeKind, Kind] = {
    NoticeKind.JOB_DONE: Kind.JOB_DONE,
    NoticeKind.JOB_OUTPUT: Kind.OUTPUT,
    NoticeKind.JOB_EXIT: Kind.JOB_EXIT,
    NoticeKind.JOB_BLOCKED: Kind.BLOCKED,
    NoticeKind.JOB_STOPPED: Kind.STOPPED,
    NoticeKind.JOB_ENDED: Kind.OUTPUT,
    NoticeKind.CORRUPTION: Kind.ALARM,
    NoticeKind.OOPS: Kind.ALARM,
    NoticeKind.KILLED: Kind.JOB_EXIT,
    NoticeKind.WARN: Kind.JOB_EXIT,
    NoticeKind.HUNG_TASK: Kind.JOB_EXIT,
}


def from_result(res: Result, reply: Reply) -> None:
    """Add a language result's lines to ``reply`` with their kinds (by the language's types,
    never by their text)."""
    for i, x in enumerate(res.output):
        kind = res.output_kinds.get(i)
        reply.add(Kind.OUTPUT if kind is None else NOTICE_KINDS[kind], x)
    if res.error:
        if res.caret:
            reply.add(Kind.CARET, res.caret)
        reply.add(Kind.ERROR if res.status == ERROR else Kind.WARNING, res.error)
    for n in res.notices:
        reply.add(NOTICE_KINDS[n.kind], n.text)


__all__ = ["BLOCKED", "DONE", "ERROR", "NOTICE_KINDS", "SKIPPED", "STOPPED", "Item", "Kind",
           "Reply", "Status", "from_result"]
