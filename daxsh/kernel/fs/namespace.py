"""Models fs/namespace.c: mounts, ``mount``/``umount`` (the superblock set up on the way,
fs/super.c's ``vfs_get_tree``), the mount a path is under and whether it is busy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import DAX_HOLDER_NOTIFY_FAILURE
from ..errno import EBUSY, EINVAL, ENOENT, Ret
from ..footprint import R
from ..hint import Hint, HintKind
from ..locks import down_write, up_write
from ..messages import mount_lines
from ..sched import kfunc
from .dcache import Dentry
from .filesystems import FS_TYPES
from .inode import iget
from .super import SuperBlock, generic_shutdown_super
from .xfs import xfs_dax_holder_operations

if TYPE_CHECKING:
    from ..machine import Kernel
    from ..sched import KGen, Task


class Mount:
    def __init__(self, path: str, sb: SuperBlock, root: Dentry) -> None:
        self.path = path
        self.sb = sb
        self.root = root
        self.mnt_count = 0  # files open and paths held through this mount


# -- the mount table and mount(2), umount(2) ----------------------------------------------------


def find_mount(k: Kernel, path: str) -> tuple[Mount | None, list[str]]:
    k.sched.note(("mounts",), R)
    best: Mount | None = None
    for mp, m in k.mounts.items():
        if (path == mp or path.startswith(mp.rstrip("/") + "/")) and \
                (best is None or len(mp) > len(best.path)):
            best = m
    if best is None:
        return None, [c for c in path.split("/") if c]
    rest = path[len(best.path):]
    return best, [c for c in rest.split("/") if c]


@kfunc
def sys_mount(t: Task, dev: str, path: str, opt: str | None) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    k.sched.note(("mounts",))
    disk = nv.disk
    if disk is None or not nv.pfn.bound or dev != disk.path:
        return Ret(ENOENT, None, [f"{dev}: no such block device"],
                   hint=Hint(HintKind.CHECK_BOUND, dev=nv.pfn.name))
    if path not in k.rootdirs:
        return Ret(ENOENT, None, [f"{path}: mount point must be an existing directory on /"])
    if path in k.mounts:
        return Ret(EBUSY, None, [f"{path} is already a mount point"])
    # a superblock still being torn down holds s_umount: grab_super waits for it
    for dying in list(k.dying_sbs):
        if dying.bdev is disk:
            yield from down_write(t, dying.s_umount)
            up_write(t, dying.s_umount)
    if disk.sb is not None:
        return Ret(EBUSY, None, [f"{dev} is already mounted on {disk.sb.mountpoint}"])
    fs = k.media_fs
    if fs is None:
        return Ret(EINVAL, None, [f"{dev} has no filesystem"], hint=Hint(HintKind.MKFS, dev=dev))
    ops = FS_TYPES[fs.fstype]()
    mode, msg = ops.parse_dax_option(k, opt)
    if msg:
        prefix = {"xfs": "XFS", "ext4": "EXT4-fs", "ext2": "EXT2-fs"}[fs.fstype]
        k.printk(t, f"{prefix} ({disk.name}): {msg}")
        return Ret(EINVAL, None, [f"{prefix} ({disk.name}): {msg}"])
    sb = SuperBlock(k, disk, fs, ops, mode, path)
    yield from down_write(t, sb.s_umount)
    try:
        k.sched.note(("nvdimm",))
        k.sched.note(("mounts",))
        k.sched.note(sb.key)
        disk.sb = sb
        sb.dax_dev = nv.dax
        if fs.fstype == "xfs" and k.has(DAX_HOLDER_NOTIFY_FAILURE):
            if nv.dax is not None and nv.dax.holder is None:
                nv.dax.holder = sb
                nv.dax.holder_ops = xfs_dax_holder_operations
                sb.holder = True
                k.trace(t, "fs_dax_get_by_bdev", disk.name, holder="mp",
                        holder_ops="&xfs_dax_holder_operations")
        else:
            k.trace(t, "fs_dax_get_by_bdev", disk.name, holder="NULL")
        sb.born = True
        sb.active = True
        root_inode = yield from iget(t, sb, fs.root.ino)
        sb.root = Dentry(fs.root.ino, "/", root_inode)
        sb.root.d_count = 1
        mnt = Mount(path, sb, sb.root)
        k.mounts[path] = mnt
        for line in mount_lines(k.config.base, fs.fstype, disk.name, mode == "always", opt or "",
                                fs.uuid):
            k.printk(t, line)
        return Ret(0)
    finally:
        up_write(t, sb.s_umount)


def mount_busy(k: Kernel, mnt: Mount) -> tuple[str, Hint | None]:
    """Why the mount is busy ("" if it is not), and what would help."""
    sched = k.sched
    sched.note(("mnt", mnt.path), R)
    if mnt.mnt_count > 0:
        return "a file on it is open or mapped", None
    sched.note(("procs",), R)
    if sched.footprint is not None:
        for p in k.processes.values():
            sched.note(("proc", p.name, "cwd"), R)
    for p in k.processes.values():
        if p.alive and (p.cwd == mnt.path or p.cwd.startswith(mnt.path.rstrip("/") + "/")):
            return f"the cwd of process {p.name} is inside it", Hint(HintKind.CHDIR_ROOT)
    return "", None


@kfunc
def sys_umount(t: Task, path: str) -> KGen:
    k = t.k
    k.sched.note(("mounts",))
    mnt = k.mounts.get(path)
    if mnt is None:
        return Ret(EINVAL, None, [f"{path}: not mounted"])
    busy, hint = mount_busy(k, mnt)
    if busy:
        return Ret(EBUSY, None, [f"{path}: target is busy: {busy}"], hint=hint)
    del k.mounts[path]  # detached now; cleanup_mnt runs the rest in task_work
    sb = mnt.sb
    k.sched.note(sb.key)
    k.dying_sbs.append(sb)
    sb.dying = True
    k.trace(t, "cleanup_mnt", sb)
    yield from down_write(t, sb.s_umount)
    try:
        yield from generic_shutdown_super(t, sb)
    finally:
        up_write(t, sb.s_umount)
        if sb in k.dying_sbs:
            k.sched.note(("mounts",))  # get_super (del_gendisk) looks for it there
            k.dying_sbs.remove(sb)
    return Ret(0)
