"""What would help, as data: a :class:`Hint` names an action the user could take (a kind and its
arguments), never the command that does it.  The kernel says *why* in kernel terms ("/dev/pmem0
has no filesystem", "the device holding pin1") and attaches a hint; the language layer
(daxsh/lang/hints.py) renders it in command syntax.  :class:`AgentKind` says who can end a wait
(an ``outcomes.Edge``), so detectors compare kinds, not text.  This module imports nothing of
the model: ``errno`` (``Ret``), ``config`` (``ConfigError``) and ``outcomes`` all use it.
"""

from __future__ import annotations

from enum import Enum


class HintKind(Enum):
    """An action that would help; the arguments each kind takes are in brackets."""

    MKFS = "mkfs"  # (dev): make a filesystem on the block device
    UMOUNT = "umount"  # (path): unmount the filesystem mounted there
    CHECK_BOUND = "check_bound"  # (dev): see whether the pfn device is bound (its disk exists)
    BIND = "bind"  # (dev): bind the pfn device to its driver
    CHDIR_ROOT = "chdir_root"  # (): move the process's cwd out of the mount
    TAKE_LEASE = "take_lease"  # (path): a pNFS client takes a layout lease on the file
    RETURN_LEASE = "return_lease"  # (): the pNFS client returns its layout
    UNPIN = "unpin"  # (pin): the device releases the pinned pages
    PASS_TIME = "pass_time"  # (): let model time pass
    SHOW_BLOCKS = "show_blocks"  # (): list the pmem data area and its blocks
    LIST_KERNELS = "list_kernels"  # (): list the kernel presets and behaviours


class Hint:
    """``Hint(HintKind.MKFS, dev="/dev/pmem0")``: a kind and its arguments (strings)."""

    __slots__ = ("args", "kind")

    def __init__(self, kind: HintKind, **args: str) -> None:
        self.kind = kind
        self.args = dict(args)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hint) and (self.kind, self.args) == (other.kind, other.args)

    def __hash__(self) -> int:
        return hash((self.kind, tuple(sorted(self.args.items()))))

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.args.items())
        return f"Hint({self.kind}{args})"


class AgentKind(Enum):
    """Who or what can end a wait (``outcomes.Edge.kind``)."""

    TASK = "task"  # another task (``Edge.task``)
    NOBODY = "nobody"  # a lock with no holder and nobody ahead
    PIN_HOLDER = "pin_holder"  # the device holding a pin
    STRAY_REFERENCE = "stray_reference"  # a page reference nobody holds
    LOST_WAKEUP = "lost_wakeup"  # an idle page whose last put woke no one: no wake-up will come
    ENTRY_LOCK = "entry_lock"  # a DAX entry lock whose owner is no task
    TIME = "time"  # a timer: only time ends it
    PNFS_CLIENT = "pnfs_client"  # the pNFS client returning its layout, or the lease timeout
    THAW = "thaw"  # thawing the frozen filesystem
    EVICTION = "eviction"  # an inode's eviction
    OTHER = "other"  # a wait of another kind (the agent text names it)
