"""The in-process, deterministic model of the kernel's FS-DAX paths (no I/O, no UI).

The modules follow the kernel's tree (each module's docstring names the files it models):

* ``fs/`` -- the VFS (inode, dcache, super, namespace, namei, open, read_write, stat,
  readdir, sync, drop_caches, ioctl, locks, file_table, filesystems), ``fs/dax.py``,
  ``fs/nfsd.py``, the operations tables (``fs/ops.py``), the on-media model (``fs/disk.py``)
  and the filesystems (``fs/xfs.py``, ``fs/ext4.py``, ``fs/ext2.py``);
* ``mm/`` -- ``types`` (mm.h, mm_types.h), ``memory``, ``fault``, ``mmap``, ``gup``,
  ``memremap``, ``memory_failure``, ``madvise``, ``vmscan``;
* ``drivers/`` -- ``nvdimm`` (region, namespace, pfn device, pmem, bind/unbind) and ``dax``
  (drivers/dax/super.c); ``block.py`` -- block/genhd.c and block/bdev.c;
* core: ``sched`` (tasks, wait queues, the scheduler), ``locks`` (rwsems), ``lockdep``,
  ``hung_task``, ``exit``, ``errno``;
* daxsh's own: ``machine`` (the ``Kernel``), ``config`` (versions and behaviours), ``names``
  (each version's function names), ``outcomes`` (the detectors: deadlock, corruption, the outcome of a run),
  ``footprint``, ``trace``, ``messages``, ``views``, ``rangemap``, ``fsx`` (a user program).

Imports point down: machine > drivers > block > fs > mm > core (pyproject.toml's
import-linter contracts); a lower layer calls a higher one through an operations table.
"""

# import every module that defines kernel functions, so that they are registered by name
from . import block, exit, fsx  # noqa: F401
from .config import BEHAVIOURS, PRESETS, KernelConfig
from .drivers import dax as _drivers_dax  # noqa: F401
from .drivers import nvdimm as _nvdimm  # noqa: F401
from .fs import (  # noqa: F401
    dax,
    dcache,
    drop_caches,
    ext2,
    ext4,
    filesystems,
    inode,
    ioctl,
    locks,
    namei,
    namespace,
    nfsd,
    open,
    read_write,
    readdir,
    stat,
    super,
    sync,
    xfs,
)
from .machine import Kernel
from .mm import fault, gup, madvise, memory, memory_failure, memremap, mmap, vmscan  # noqa: F401

__all__ = ["BEHAVIOURS", "PRESETS", "Kernel", "KernelConfig"]
