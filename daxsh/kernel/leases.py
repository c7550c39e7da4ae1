"""pNFS layout leases (FL_LAYOUT) and ``break_layout`` (shared/KERNEL.md 2.6).

``lease FILE`` stands for a pNFS client holding a layout of FILE (nfsd keeps the file open).
A local truncate, punch or write on XFS recalls it in ``xfs_break_leased_layouts``: every lock
in ``iolock`` is dropped while the recall waits, for the client to return the layout
(``lease FILE --return``) or for lease-break-time (45 s) to pass and the lease to be revoked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .footprint import R
from .sched import TASK_INTERRUPTIBLE, KGen, Task, Wait, WaitQueue, finish_wait, kfunc, prepare_to_wait, schedule

if TYPE_CHECKING:
    from .fs import File, Inode

LEASE_BREAK_TIME_NS = 45 * 1_000_000_000
EWOULDBLOCK = 11


class Lease:
    def __init__(self, file: File) -> None:
        self.file = file
        self.breaking = False
        self.deadline = 0
        self.wq = WaitQueue(f"lease ino {file.inode.ino}")

    def tr(self) -> str:
        return f"FL_LAYOUT lease on ino {self.file.inode.ino}"


@kfunc
def break_layout(t: Task, inode: Inode, wait: bool) -> KGen:
    """``__break_lease(inode, O_WRONLY, FL_LAYOUT)``: -EWOULDBLOCK while a lease is held and
    ``wait`` is false; with ``wait``, sleep until it is returned or revoked."""
    k = t.k
    key = ("inode", inode.ino, "lease")
    k.sched.note(key, R)
    lease: Lease | None = inode.lease
    if lease is None:
        return 0
    k.sched.note(key)
    if not lease.breaking:
        lease.breaking = True
        lease.deadline = k.clock.now + LEASE_BREAK_TIME_NS
        k.trace(t, "lease_break_callback", lease, "recall the layout from the pNFS client")
    if not wait:
        return -EWOULDBLOCK
    while inode.lease is lease:
        k.sched.note(key, R)
        if k.clock.now >= lease.deadline:
            k.printk(t, f"nfsd: client did not return the layout of ino {inode.ino} within "
                        "lease-break-time: revoked, client fenced")
            yield from revoke_lease(t, inode)
            break
        if t.signal_pending():
            finish_wait(t, lease.wq)
            return -512
        t.timer = lease.deadline
        prepare_to_wait(t, lease.wq, TASK_INTERRUPTIBLE,
                        Wait("lease", lease, lease.tr(), "break_layout", "layout returned"))
        yield from schedule(t)
        finish_wait(t, lease.wq)
        t.timer = None
    return 0


@kfunc
def revoke_lease(t: Task, inode: Inode) -> KGen:
    t.k.sched.note(("inode", inode.ino, "lease"))
    lease: Lease | None = inode.lease
    if lease is None:
        return
    inode.lease = None
    lease.wq.wake_up(t.k)
    yield from t.k.fput(t, lease.file)
