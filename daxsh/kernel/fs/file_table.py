"""Models fs/file_table.c: ``struct file`` (``fput`` is ``Kernel.fput``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dcache import Dentry
    from .namespace import Mount


class File:
    """``struct file``: holds its dentry and its mount."""

    __slots__ = ("dentry", "f_count", "inode", "mnt")

    def __init__(self, mnt: Mount, dentry: Dentry) -> None:
        self.mnt = mnt
        self.dentry = dentry
        self.inode = dentry.inode
        self.f_count = 1
