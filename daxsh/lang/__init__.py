"""The daxsh language: one registry of commands over the kernel model."""

from . import commands as _commands  # noqa: F401  (registers every command)
from .registry import REGISTRY, ArgError, Command
from .session import BLOCKED, DONE, ERROR, SKIPPED, STOPPED, Notice, NoticeKind, Result, Session

__all__ = ["BLOCKED", "DONE", "ERROR", "REGISTRY", "SKIPPED", "STOPPED", "ArgError", "Command",
           "Notice", "NoticeKind", "Result", "Session"]
