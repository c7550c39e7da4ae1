"""Models fs/filesystems.c: the registered filesystem types ``mkfs`` and ``mount`` know."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ext2 import Ext2Ops
from .ext4 import Ext4Ops
from .xfs import XfsOps

if TYPE_CHECKING:
    from .ops import FsOps

FS_TYPES: dict[str, type[FsOps]] = {"xfs": XfsOps, "ext4": Ext4Ops, "ext2": Ext2Ops}
