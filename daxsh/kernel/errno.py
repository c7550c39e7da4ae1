"""Models include/uapi/asm-generic/errno-base.h, include/uapi/asm-generic/errno.h and
include/linux/errno.h: every errno value the model returns, their names and texts
(``strerror``), and ``Ret``, what a task run for a command returns.

A ``Ret(err, value, lines, hint)``: ``err`` is 0 or a positive errno, ``value`` what the command
prints (an address, a pin name, a listing), ``lines`` remarks for the user in kernel terms,
``hint`` what would help (a :class:`~daxsh.kernel.hint.Hint`, data; the language renders it in
command syntax after the last of ``lines``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from .hint import Hint

# include/uapi/asm-generic/errno-base.h
EPERM = 1
ENOENT = 2
ESRCH = 3
EINTR = 4
EIO = 5
ENXIO = 6
EBADF = 9
EAGAIN = 11
EWOULDBLOCK = EAGAIN  # include/uapi/asm-generic/errno.h
ENOMEM = 12
EACCES = 13
EFAULT = 14
ENOTBLK = 15
EBUSY = 16
EEXIST = 17
ENODEV = 19
ENOTDIR = 20
EISDIR = 21
EINVAL = 22
ENOSPC = 28
EROFS = 30
# include/uapi/asm-generic/errno.h
ENOTEMPTY = 39
EOPNOTSUPP = 95
# include/linux/errno.h (never seen by user space)
ERESTARTSYS = 512


ERRNO_NAMES = {
    1: "EPERM", 3: "ESRCH", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 19: "ENODEV",
    2: "ENOENT", 4: "EINTR", 5: "EIO", 6: "ENXIO", 14: "EFAULT", 15: "ENOTBLK", 16: "EBUSY",
    17: "EEXIST", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 28: "ENOSPC", 30: "EROFS",
    39: "ENOTEMPTY", 95: "EOPNOTSUPP", 512: "ERESTARTSYS",
}
ERRNO_TEXT = {
    1: "Operation not permitted", 3: "No such process", 9: "Bad file descriptor",
    11: "Resource temporarily unavailable", 12: "Cannot allocate memory", 13: "Permission denied",
    19: "No such device", 512: "Interrupted system call (restart)",
    2: "No such file or directory", 4: "Interrupted system call", 5: "Input/output error",
    6: "No such device or address", 14: "Bad address", 15: "Block device required",
    16: "Device or resource busy", 17: "File exists", 20: "Not a directory",
    21: "Is a directory", 22: "Invalid argument", 28: "No space left on device",
    30: "Read-only file system", 39: "Directory not empty", 95: "Operation not supported",
}


def strerror(err: int) -> str:
    return f"{ERRNO_TEXT.get(err, 'error')} ({ERRNO_NAMES.get(err, err)})"


class Ret:
    __slots__ = ("err", "hint", "lines", "value")

    def __init__(self, err: int = 0, value: Any = None, lines: list[str] | None = None,
                 hint: Hint | None = None) -> None:
        self.err = err
        self.value = value
        self.lines = lines or []
        self.hint = hint
