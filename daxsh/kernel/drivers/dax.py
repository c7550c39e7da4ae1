"""Models drivers/dax/super.c: ``struct dax_device``, its holder (v6.0) and ``kill_dax``,
``dax_holder_notify_failure``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import KILL_DAX_NOTIFY, MF_MEM_PRE_REMOVE
from ..errno import ENXIO, EOPNOTSUPP
from ..footprint import R
from ..mm.memory_failure import MF_MEM_PRE_REMOVE_FLAG
from ..sched import kfunc

if TYPE_CHECKING:
    from ..fs.dax import DaxHolderOperations
    from ..fs.super import SuperBlock
    from ..sched import KGen, Task


class DaxDevice:
    """``struct dax_device``: liveness (DAXDEV_ALIVE) and the holder (v6.0)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.alive = True
        self.holder: SuperBlock | None = None
        self.holder_ops: DaxHolderOperations | None = None


@kfunc
def kill_dax(t: Task) -> KGen:
    k = t.k
    dax_dev = k.nvdimm.dax
    assert dax_dev is not None
    if k.has(KILL_DAX_NOTIFY) and dax_dev.holder is not None:
        flags = MF_MEM_PRE_REMOVE_FLAG if k.has(MF_MEM_PRE_REMOVE) else 0
        yield from dax_holder_notify_failure(t, 0, 1 << 64, flags)
    k.sched.note(("nvdimm",))
    dax_dev.alive = False
    k.trace(t, "synchronize_srcu", "dax_srcu")
    dax_dev.holder = None
    dax_dev.holder_ops = None


# -- the holder's notify_failure (XFS) ---------------------------------------------------------


@kfunc
def dax_holder_notify_failure(t: Task, off: int, length: int, mf_flags: int) -> KGen:
    k = t.k
    k.sched.note(("nvdimm",), R)
    dax_dev = k.nvdimm.dax
    if dax_dev is None or not dax_dev.alive:
        return -ENXIO
    sb = dax_dev.holder
    if sb is None:
        return -EOPNOTSUPP
    ops = dax_dev.holder_ops
    assert ops is not None  # set with the holder
    return (yield from ops.notify_failure(t, sb, off, length, mf_flags))
