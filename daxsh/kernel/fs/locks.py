"""Models fs/locks.c: layout leases (FL_LAYOUT) and ``break_layout``,
with nfsd's side of the lease break (fs/nfsd/nfs4layouts.c).

``lease FILE`` stands for a pNFS client holding a block layout of FILE (nfsd keeps the file
open).  A local truncate, punch or write on XFS recalls it in ``xfs_break_leased_layouts``:
every lock in ``iolock`` is dropped while the recall waits for the client to return the layout
(``lease FILE --return``).

The lease break is nfsd's, not the locks code's: ``nfsd4_layout_lm_break`` sets
``fl_break_time = 0`` (so ``time_out_leases`` never removes it; ``past_time(0)`` is false) and
sends CB_LAYOUTRECALL (tl:fs/nfsd/nfs4layouts.c@v6.1 lines 725-735).  ``nfsd4_cb_layout_done``
polls the client for two lease periods (``nfsd4_lease * 2``, ``nfsd4_lease`` = 90 s by default,
tl:fs/nfsd/nfs4state.c@v6.1 line 4456; 6b9b21073d3b "nfsd: give up on CB_LAYOUTRECALLs after
two lease periods", before every preset), then fences: the block layout type has no
``fence_client`` (only SCSI layouts do, fs/nfsd/blocklayout.c line 358), so
``nfsd4_cb_layout_fail`` logs ``nfsd: client %s failed to respond to layout recall.   Fencing..``
and runs /sbin/nfsd-recall-failed (nfs4layouts.c lines 623-633); the callback's release returns
all the layouts and the lease goes (``vfs_setlease(F_UNLCK)``).  The modelled client's address
is the documentation address 192.0.2.1 (RFC 5737).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errno import ERESTARTSYS, EWOULDBLOCK
from ..footprint import R
from ..sched import TASK_INTERRUPTIBLE, Wait, WaitQueue, finish_wait, kfunc, prepare_to_wait, schedule

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .file_table import File
    from .inode import Inode

NFSD4_LEASE_S = 90  # nn->nfsd4_lease, the default lease time
LAYOUT_RECALL_CUTOFF_NS = NFSD4_LEASE_S * 2 * 1_000_000_000
CLIENT_ADDR = "192.0.2.1"


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
        lease.deadline = k.clock.now + LAYOUT_RECALL_CUTOFF_NS
        k.trace(t, "nfsd4_layout_lm_break", lease, "fl_break_time = 0, CB_LAYOUTRECALL")
    if not wait:
        return -EWOULDBLOCK
    while inode.lease is lease:
        k.sched.note(key, R)
        if k.clock.now >= lease.deadline:
            # nfsd4_cb_layout_done past the cutoff: no fence_client for block layouts
            k.trace(t, "nfsd4_cb_layout_done", lease, "two lease periods passed")
            k.trace(t, "nfsd4_cb_layout_fail", lease, CLIENT_ADDR)
            k.printk(t, f"nfsd: client {CLIENT_ADDR} failed to respond to layout recall. "
                        "  Fencing..")
            yield from revoke_lease(t, inode)
            break
        if t.signal_pending():
            finish_wait(t, lease.wq)
            return -ERESTARTSYS
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
