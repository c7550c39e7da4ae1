"""The one place where the kernel's hints (daxsh/kernel/hint.py: what would help, as data) become
command syntax.  The kernel says why in kernel terms ("/dev/pmem0 has no filesystem"); this
module adds the command that helps ("run `mkfs xfs /dev/pmem0` first") where a command's
``Ret``, a waits-for ``Edge`` or a ``ConfigError`` becomes user text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..kernel.config import ConfigError
from ..kernel.hint import Hint, HintKind

if TYPE_CHECKING:
    from ..kernel.errno import Ret
    from ..kernel.outcomes import Edge

# kind -> (what joins it to the kernel's text, the hint in command syntax: str.format of its args)
HINTS: dict[HintKind, tuple[str, str]] = {
    HintKind.MKFS: (": ", "run `mkfs xfs {dev}` first"),
    HintKind.UMOUNT: ("; ", "umount it first"),
    HintKind.CHECK_BOUND: (" ", "(is {dev} bound? `ndctl list`)"),
    HintKind.BIND: ("; ", "`bind {dev}`"),
    HintKind.CHDIR_ROOT: ("; ", "`cd /` first"),
    HintKind.TAKE_LEASE: (" ", "(`lease {path}` takes one)"),
    HintKind.RETURN_LEASE: (" ", "(`lease FILE --return`)"),
    HintKind.UNPIN: (" ", "(`unpin {pin}`)"),
    HintKind.PASS_TIME: (" ", "(`sleep`)"),
    HintKind.SHOW_BLOCKS: (" ", "(`show blocks`)"),
    HintKind.LIST_KERNELS: (" ", "(`kernels` lists them)"),
}


def render(hint: Hint) -> str:
    """The hint alone, in command syntax: ``run `mkfs xfs /dev/pmem0` first``."""
    return HINTS[hint.kind][1].format(**hint.args)


def with_hint(text: str, hint: Hint | None) -> str:
    """The kernel's text followed by the hint in command syntax (the text alone if none)."""
    if hint is None:
        return text
    sep, _ = HINTS[hint.kind]
    return f"{text}{sep}{render(hint)}"


def ret_lines(ret: Ret) -> list[str]:
    """A Ret's remarks for the user: its hint follows the last line (or is a line of its own)."""
    lines = list(ret.lines)
    if ret.hint is not None:
        if lines:
            lines[-1] = with_hint(lines[-1], ret.hint)
        else:
            lines.append(render(ret.hint))
    return lines


def agent_text(e: Edge) -> str:
    """A waits-for edge's agent outside the kernel, with its hint: ``the device holding pin1
    (`unpin pin1`)`` (``outcomes.chain``'s ``agent``)."""
    return with_hint(e.agent, e.hint)


def error_text(e: BaseException) -> str:
    """An exception's message; a ConfigError's hint follows it in command syntax."""
    return with_hint(str(e), e.hint if isinstance(e, ConfigError) else None)
