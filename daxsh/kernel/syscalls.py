"""Entry points: the syscalls and tools the shell's commands run, as task generators.

Each returns ``Ret(err, value, lines)``: ``err`` is 0 or a positive errno, ``value`` what the
command prints (an address, a pin name, a listing), ``lines`` remarks for the user.
Paths are absolute (the language layer resolves relative ones against the cwd).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from . import dax
from .config import DAX_DONTCACHE, DAX_HOLDER_NOTIFY_FAILURE, EXT4_DAX_DONTCACHE
from .footprint import C, R
from .fs import (
    I_FREEING,
    Dentry,
    DiskFs,
    File,
    Mount,
    SuperBlock,
    d_lookup,
    dget,
    dput,
    evict,
    evict_inodes,
    iget,
    inode_blocks,
    inode_lru_isolate,
    iput,
    sb_end_write,
    sb_start_write,
    shrink_dcache_sb,
)
from .fsops import FS_TYPES
from .locks import down_read, down_write, up_read, up_write
from .messages import mount_lines, umount_lines
from .mm import (
    Pin,
    Process,
    do_mmap,
    do_munmap,
    do_user_access,
    exit_mmap,
    find_vma,
    pin_user_pages,
    unpin_user_page,
)
from .nvdimm import PAGE_SIZE
from .reclaim import kmalloc
from .sched import (
    ERESTARTSYS,
    TASK_INTERRUPTIBLE,
    KGen,
    Task,
    TaskExit,
    Wait,
    finish_wait,
    kfunc,
    prepare_to_wait,
    schedule,
)

if TYPE_CHECKING:
    from .fs import Inode
    from .machine import Kernel

ENOENT, EIO, ENXIO, EFAULT, EBUSY, EEXIST, ENOTDIR, EISDIR, EINVAL = 2, 5, 6, 14, 16, 17, 20, 21, 22
ENOSPC, ENOTEMPTY, EOPNOTSUPP, EINTR, ENOTBLK, EROFS = 28, 39, 95, 4, 15, 30

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
    __slots__ = ("err", "lines", "value")

    def __init__(self, err: int = 0, value: Any = None, lines: list[str] | None = None) -> None:
        self.err = err
        self.value = value
        self.lines = lines or []


# -- path walk ----------------------------------------------------------------------------------


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
def path_lookup(t: Task, path: str) -> KGen:
    """Returns (err, mount, dentry) with a reference on the dentry and the mount."""
    k = t.k
    mnt, comps = find_mount(k, path)
    if mnt is None:
        return (0 if path in k.rootdirs else ENOENT), None, None
    sb = mnt.sb
    d: Dentry = dget(mnt.root)
    for name in comps:
        if not d.inode.is_dir:
            yield from dput(t, d)
            return ENOTDIR, None, None
        child = yield from d_lookup(t, sb, d.inode.ino, name)
        yield from dput(t, d)
        if child is None:
            return ENOENT, None, None
        d = child
    k.sched.note(("mnt", mnt.path), C)
    mnt.mnt_count += 1
    return 0, mnt, d


def path_put(t: Task, mnt: Mount, d: Dentry) -> KGen:
    t.k.sched.note(("mnt", mnt.path), C)
    mnt.mnt_count -= 1
    yield from dput(t, d)


def lookup_file(t: Task, path: str, want_dir: bool | None = False) -> KGen:
    err, mnt, d = yield from path_lookup(t, path)
    if err:
        return err, None, None
    if mnt is None:
        return (EISDIR if want_dir is False else EOPNOTSUPP), None, None
    if want_dir is False and d.inode.is_dir:
        yield from path_put(t, mnt, d)
        return EISDIR, None, None
    if want_dir is True and not d.inode.is_dir:
        yield from path_put(t, mnt, d)
        return ENOTDIR, None, None
    return 0, mnt, d


# -- mkfs / mount / umount ----------------------------------------------------------------------


@kfunc
def mkfs(t: Task, fstype: str, dev: str, rmapbt: bool | None, su: int) -> KGen:
    k = t.k
    k.sched.note(("nvdimm",))
    disk = k.nvdimm.disk
    if disk is None or not k.nvdimm.pfn.bound or dev != disk.path:
        return Ret(ENOENT)
    if disk.sb is not None:
        return Ret(EBUSY, None, [f"{dev} is mounted on {disk.sb.mountpoint}; umount it first"])
    yield from ()
    k.fs_uuid += 1
    if rmapbt is None:
        rmapbt = False
    fs = DiskFs(fstype, disk.nblocks, k.fs_uuid, rmapbt and fstype == "xfs", max(su, 1))
    k.media_fs = fs
    k.trace(t, f"mkfs.{fstype}", dev, blocks=disk.nblocks, rmapbt=fs.rmapbt, su=fs.su)
    desc = f"{fstype} on {dev}: {disk.nblocks} blocks of 4096"
    if fstype == "xfs":
        desc += f", rmapbt={int(fs.rmapbt)}" + (f", su={fs.su * 4}k" if fs.su > 1 else "")
    return Ret(0, desc)


@kfunc
def sys_mount(t: Task, dev: str, path: str, opt: str | None) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    k.sched.note(("mounts",))
    disk = nv.disk
    if disk is None or not nv.pfn.bound or dev != disk.path:
        return Ret(ENOENT, None, [f"{dev}: no such block device (is pfn0.1 bound? `ndctl list`)"])
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
        return Ret(EINVAL, None, [f"{dev} has no filesystem: run `mkfs xfs {dev}` first"])
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
                nv.dax.holder_ops = "xfs_dax_holder_operations"
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


def mount_busy(k: Kernel, mnt: Mount) -> str:
    sched = k.sched
    sched.note(("mnt", mnt.path), R)
    if mnt.mnt_count > 0:
        return "a file on it is open or mapped"
    sched.note(("procs",), R)
    if sched.footprint is not None:
        for p in k.processes.values():
            sched.note(("proc", p.name, "cwd"), R)
    for p in k.processes.values():
        if p.alive and (p.cwd == mnt.path or p.cwd.startswith(mnt.path.rstrip("/") + "/")):
            return f"the cwd of process {p.name} is inside it; `cd /` first"
    return ""


@kfunc
def sys_umount(t: Task, path: str) -> KGen:
    k = t.k
    k.sched.note(("mounts",))
    mnt = k.mounts.get(path)
    if mnt is None:
        return Ret(EINVAL, None, [f"{path}: not mounted"])
    busy = mount_busy(k, mnt)
    if busy:
        return Ret(EBUSY, None, [f"{path}: target is busy: {busy}"])
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


@kfunc
def generic_shutdown_super(t: Task, sb: SuperBlock) -> KGen:
    k = t.k
    if sb.root is not None:
        k.sched.note(sb.root.key)
        sb.root.d_count -= 1
    yield from shrink_dcache_sb(t, sb)
    k.trace(t, "sync_filesystem", sb)
    yield from sync_sb(t, sb)
    k.sched.note(sb.key)
    sb.active = False
    yield from evict_inodes(t, sb)
    if sb.root is not None and sb.root.inode.i_count > 0:
        sb.root.inode.i_count = 0
        yield from evict_inodes(t, sb)
    k.trace(t, "put_super", sb)
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    if sb.holder and nv.dax is not None and nv.dax.holder is sb:
        nv.dax.holder = None
        nv.dax.holder_ops = None
        k.trace(t, "fs_put_dax", sb.name, holder="mp")
    if sb.bdev.sb is sb:
        sb.bdev.sb = None
    for line in umount_lines(k.config.base, sb.disk.fstype, sb.name, sb.disk.uuid):
        k.printk(t, line)


def sync_sb(t: Task, sb: SuperBlock) -> KGen:
    sched = t.k.sched
    sched.note(("icache", sb.name), R)
    for inode in sorted(sb.icache.values(), key=lambda i: i.ino):
        sched.note(("inode", inode.ino, "flags"), R)
        if not inode.dax:
            continue
        if sched.footprint is not None:
            sched.note(("i_pages", inode.ino), R)
            for i in inode.mapping.i_pages:
                sched.note(("entry", inode.ino, i), R)
        if any(isinstance(e, dax.DaxEntry) and e.dirty for e in inode.mapping.i_pages.values()):
            yield from dax.dax_writeback_mapping_range(t, inode.mapping)


# -- files ----------------------------------------------------------------------------------------


@kfunc
def do_create(t: Task, path: str, size: int, is_dir: bool = False) -> KGen:
    k = t.k
    parent_path, name = posixpath.split(path)
    mnt, _comps = find_mount(k, parent_path)
    if mnt is None:
        if is_dir:
            k.sched.note(("mounts",))
            if parent_path not in k.rootdirs:
                return Ret(ENOENT)
            if path in k.rootdirs:
                return Ret(EEXIST)
            k.rootdirs.add(path)
            return Ret(0)
        return Ret(EROFS, None, ["files can only be created on a mounted pmem filesystem"])
    err, mnt, pd = yield from lookup_file(t, parent_path, want_dir=True)
    if err:
        return Ret(err)
    dir_inode = pd.inode
    try:
        yield from sb_start_write(t, mnt.sb)  # mnt_want_write (open O_CREAT, mkdir)
        yield from down_write(t, dir_inode.i_rwsem)
        try:
            sched = k.sched
            sched.note(("inode", dir_inode.ino, "dir"))
            if name in dir_inode.di.entries:
                return Ret(EEXIST)
            sched.note(mnt.sb.key, R)
            if mnt.sb.shutdown:
                return Ret(EIO)
            fs = mnt.sb.disk
            sched.note(("ino_alloc", fs.uuid))
            sched.note(("inode", dir_inode.ino, "flags"), R)
            di = fs.new_inode(is_dir, dir_inode.ino)
            di.dax_flag = dir_inode.di.dax_flag  # inherited from the parent directory
            dir_inode.di.entries[name] = di.ino
            if is_dir:
                sched.note(("inode", dir_inode.ino, "nlink"))
                dir_inode.di.nlink += 1
            k.trace(t, "vfs_mkdir" if is_dir else "vfs_create", dir_inode, name=name, ino=di.ino)
            d = yield from d_lookup(t, mnt.sb, dir_inode.ino, name)
        finally:
            up_write(t, dir_inode.i_rwsem)
        try:
            if size and not is_dir:
                err = yield from mnt.sb.ops.write_iter(t, d.inode, 0, size)
                if err:
                    return Ret(err)
            return Ret(0)
        finally:
            yield from dput(t, d)
    finally:
        if mnt.sb.s_writers[0].held_by(t):
            sb_end_write(t, mnt.sb)
        yield from path_put(t, mnt, pd)


@kfunc
def do_rw(t: Task, path: str, off: int, length: int, write: bool) -> KGen:
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    try:
        inode = d.inode
        if write:
            yield from sb_start_write(t, inode.sb)  # file_start_write (vfs_write)
            try:
                err = yield from inode.sb.ops.write_iter(t, inode, off, length)
            finally:
                sb_end_write(t, inode.sb)
        else:
            err = yield from inode.sb.ops.read_iter(t, inode, off, length)
        if err:
            return Ret(err)
        lines = [t.note] if t.note else []
        if not write:
            n = max(0, min(off + length, inode.size) - off)
            return Ret(0, f"read {n} bytes", lines)
        return Ret(0, None, lines)
    finally:
        yield from path_put(t, mnt, d)


@kfunc
def do_sys_truncate(t: Task, path: str, size: int) -> KGen:
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    try:
        # vfs_truncate: mnt_want_write -> sb_start_write, held across do_truncate (and so
        # across a wait in xfs_break_dax_layouts); do_ftruncate takes sb_start_write itself
        yield from sb_start_write(t, d.inode.sb)
        try:
            err = yield from do_truncate(t, d.inode, size)
        finally:
            sb_end_write(t, d.inode.sb)
        return Ret(_errno(err))
    finally:
        yield from path_put(t, mnt, d)


@kfunc
def do_truncate(t: Task, inode: Inode, size: int) -> KGen:
    """``inode_lock`` (XFS_IOLOCK_EXCL), ``notify_change(ATTR_SIZE)``, unlock; returns 0 or an
    errno (negative for -ERESTARTSYS)."""
    yield from down_write(t, inode.i_rwsem)
    try:
        t.k.trace(t, "notify_change", inode, ATTR_SIZE=size)
        return (yield from inode.sb.ops.setattr_size(t, inode, size))
    finally:
        up_write(t, inode.i_rwsem)


def _errno(err: int) -> int:
    if err == -ERESTARTSYS or err == ERESTARTSYS:
        return EINTR
    return abs(err)


@kfunc
def vfs_fallocate(t: Task, path: str, off: int, length: int) -> KGen:
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    try:
        inode = d.inode
        if not inode.sb.ops.supports_punch:
            return Ret(EOPNOTSUPP, None, [f"{inode.sb.disk.fstype} has no fallocate"])
        t.k.trace(t, "vfs_fallocate", inode, "FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE",
                  off=off, len=length)
        yield from sb_start_write(t, inode.sb)  # file_start_write
        try:
            err = yield from inode.sb.ops.punch(t, inode, off, length)
        finally:
            sb_end_write(t, inode.sb)
        return Ret(_errno(err))
    finally:
        yield from path_put(t, mnt, d)


@kfunc
def do_unlinkat(t: Task, path: str) -> KGen:
    k = t.k
    parent_path, name = posixpath.split(path)
    k.sched.note(("mounts",), R)
    if path in k.rootdirs or path in k.mounts:
        return Ret(EISDIR)
    err, mnt, pd = yield from lookup_file(t, parent_path, want_dir=True)
    if err:
        return Ret(ENOENT if err == EOPNOTSUPP else err)
    dir_inode = pd.inode
    try:
        yield from sb_start_write(t, mnt.sb)  # mnt_want_write
        yield from down_write(t, dir_inode.i_rwsem)
        try:
            d = yield from d_lookup(t, mnt.sb, dir_inode.ino, name)
            if d is None:
                return Ret(ENOENT)
            victim = d.inode
            k.sched.note(("inode", victim.ino, "dir"), R)
            if victim.is_dir and victim.di.entries:
                yield from dput(t, d)
                return Ret(ENOTEMPTY)
            yield from down_write(t, victim.i_rwsem)
            try:
                sched = k.sched
                sched.note(("inode", dir_inode.ino, "dir"))
                sched.note(("inode", victim.ino, "nlink"))
                del dir_inode.di.entries[name]
                victim.di.nlink = 0
                if victim.is_dir:
                    sched.note(("inode", dir_inode.ino, "nlink"))
                    dir_inode.di.nlink -= 1
                k.trace(t, "vfs_unlink", dir_inode, name=name, ino=victim.ino)
                sched.note(("dcache", mnt.sb.name, dir_inode.ino, name))
                sched.note(("dcache", mnt.sb.name), C)
                mnt.sb.dcache.pop((dir_inode.ino, name), None)  # d_delete: unhash
            finally:
                up_write(t, victim.i_rwsem)
        finally:
            up_write(t, dir_inode.i_rwsem)
        k.trace(t, "d_delete", victim)
        k.sched.note(d.key)
        d.d_count -= 1
        if d.d_count == 0:
            yield from iput(t, d.inode)  # the final iput runs before mnt_drop_write
        return Ret(0)
    finally:
        if mnt.sb.s_writers[0].held_by(t):
            sb_end_write(t, mnt.sb)
        yield from path_put(t, mnt, pd)


@kfunc
def do_chattr(t: Task, path: str, on: bool) -> KGen:
    err, mnt, d = yield from lookup_file(t, path, want_dir=None)
    if err:
        return Ret(err)
    try:
        inode = d.inode
        t.k.trace(t, "ioctl", "FS_IOC_FSSETXATTR", inode, FS_XFLAG_DAX=on)
        yield from sb_start_write(t, inode.sb)  # mnt_want_write_file
        try:
            err = yield from inode.sb.ops.fileattr_set_dax(t, inode, on)
        finally:
            sb_end_write(t, inode.sb)
        return Ret(_errno(err))
    finally:
        yield from path_put(t, mnt, d)


@kfunc
def do_stat(t: Task, path: str) -> KGen:
    k = t.k
    err, mnt, d = yield from path_lookup(t, path)
    if err:
        return Ret(err)
    if mnt is None:
        return Ret(0, {"path": path, "type": "directory", "fs": "rootfs"})
    try:
        inode = d.inode
        # what vfs_getattr reads; `i_count`, `mapped` and `dax_entries` are printed as a
        # debugging aid, read beside the kernel's getattr and ordered by nothing (the explorer
        # does not count them as reads: they change no state)
        sched = k.sched
        if sched.footprint is not None:
            for f in ("size", "extents", "nlink", "flags"):
                sched.note(("inode", inode.ino, f), R)
        flags = []
        if inode.dax:
            flags.append("S_DAX")
        if inode.dontcache:
            flags.append("I_DONTCACHE")
        statx_dax = k.has(DAX_DONTCACHE) or (inode.sb.disk.fstype == "ext4" and k.has(EXT4_DAX_DONTCACHE))
        info = {
            "path": path,
            "type": "directory" if inode.is_dir else "regular file",
            "ino": inode.ino,
            "size": inode.size,
            "blocks": inode_blocks(inode),
            "nlink": inode.di.nlink,
            "S_DAX": inode.dax,
            "STATX_ATTR_DAX": inode.dax if statx_dax else None,
            "FS_XFLAG_DAX": inode.di.dax_flag,
            "i_count": inode.i_count - 1,  # not counting this lookup's own reference
            "flags": flags,
            "fs": inode.sb.disk.fstype,
            "mapped": len(inode.mapping.i_mmap),
            "dax_entries": sum(1 for e in inode.mapping.i_pages.values() if isinstance(e, dax.DaxEntry)),
        }
        return Ret(0, info)
    finally:
        yield from path_put(t, mnt, d)


@kfunc
def iterate_dir(t: Task, path: str) -> KGen:
    k = t.k
    err, mnt, d = yield from path_lookup(t, path)
    if err:
        return Ret(err)
    if mnt is None:
        k.sched.note(("mounts",), R)
        names = sorted({p[len(path.rstrip('/')) + 1:].split("/")[0] for p in k.rootdirs
                        if p.startswith(path.rstrip("/") + "/") and p != path})
        names += sorted(m[len(path.rstrip('/')) + 1:].split("/")[0] for m in k.mounts
                        if m.startswith(path.rstrip("/") + "/") and m != path and
                        m[len(path.rstrip('/')) + 1:].split("/")[0] not in names)
        return Ret(0, [(n + "/", 0) for n in sorted(set(names))])
    try:
        inode = d.inode
        if not inode.is_dir:
            return Ret(0, [(posixpath.basename(path), inode.size)])
        yield from down_read(t, inode.i_rwsem)
        try:
            out = []
            k.sched.note(("inode", inode.ino, "dir"), R)
            for name, ino in sorted(inode.di.entries.items()):
                k.sched.note(("inode", ino, "size"), R)
                di = inode.sb.disk.inodes[ino]
                out.append((name + ("/" if di.is_dir else ""), di.size))
            return Ret(0, out)
        finally:
            up_read(t, inode.i_rwsem)
    finally:
        yield from path_put(t, mnt, d)


@kfunc
def ksys_sync(t: Task) -> KGen:
    t.k.sched.note(("mounts",), R)
    for mnt in list(t.k.mounts.values()):
        yield from sync_sb(t, mnt.sb)
    return Ret(0)


@kfunc
def drop_caches(t: Task) -> KGen:
    """``echo 3 > /proc/sys/vm/drop_caches``: page cache (DAX entries untouched), then the
    dentry and inode caches; unused inodes are evicted."""
    k = t.k
    n = 0
    k.sched.note(("mounts",), R)
    for mnt in list(k.mounts.values()):
        sb = mnt.sb
        yield from shrink_dcache_sb(t, sb)
        n += yield from prune_icache_sb(t, sb)
    return Ret(0, None, [f"evicted {n} inode{'s' if n != 1 else ''}"])


@kfunc
def prune_icache_sb(t: Task, sb: SuperBlock) -> KGen:
    sched = t.k.sched
    sched.note(("lru", sb.name), R)
    if sched.footprint is not None:
        for i in sb.lru.values():
            sched.note(("inode", i.ino, "count"), R)
    victims = []
    for inode in sorted(sb.lru.values(), key=lambda i: i.ino):
        if inode.i_count:
            continue
        how = inode_lru_isolate(t, inode)
        if how == "removed":
            sched.note(("inode", inode.ino, "state"))
            sched.note(("lru", sb.name), C)
            sb.lru.pop(inode.ino, None)
            inode.on_lru = False
            t.k.trace(t, "inode_lru_isolate", inode, "LRU_REMOVED (!mapping_shrinkable)")
        elif how == "retry":
            t.k.trace(t, "inode_lru_isolate", inode,
                      "LRU_RETRY (!mapping_empty: invalidate_mapping_pages leaves DAX entries)")
        else:
            victims.append(inode)
    for inode in victims:
        sched.note(("inode", inode.ino, "state"))
        sched.note(("lru", sb.name), C)
        inode.i_state.add(I_FREEING)
        sb.lru.pop(inode.ino, None)
        inode.on_lru = False
    t.k.trace(t, "dispose_list", n=len(victims))
    for inode in victims:
        yield from evict(t, inode)
    return len(victims)


# -- memory ---------------------------------------------------------------------------------------


@kfunc
def ksys_mmap(t: Task, proc: Process, path: str, length: int, off: int, private: bool,
              sync: bool) -> KGen:
    k = t.k
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    file = File(mnt, d)  # the lookup's references move to the file
    try:
        ret = yield from do_mmap(t, proc, file, length, off // PAGE_SIZE, not private, sync)
        if isinstance(ret, int) and ret < 0x10000:
            return Ret(ret)
        return Ret(0, ret)
    finally:
        yield from k.fput(t, file)  # close(fd): the VMA keeps its own reference


@kfunc
def ksys_munmap(t: Task, proc: Process, addr: int) -> KGen:
    t.k.sched.note(("vmas", proc.mm.name), R)
    vma = find_vma(proc.mm, addr)
    if vma is None or vma.start != addr:
        return Ret(EINVAL)
    yield from do_munmap(t, proc, vma)
    return Ret(0)


@kfunc
def user_access(t: Task, proc: Process, addr: int, length: int, write: bool) -> KGen:
    k = t.k
    first = addr - addr % PAGE_SIZE
    n = 0
    for a in range(first, addr + max(length, 1), PAGE_SIZE):
        sig = yield from do_user_access(t, proc, a, write)
        if sig is not None:
            signame, code = sig
            k.trace(t, "force_sig_fault", signame, code, addr=f"{a:#x}")
            k.kill_process(proc, signame, code, f"at {a:#x}")
            raise TaskExit(signame)
        n += 1
    return Ret(0, None, [f"{'stored to' if write else 'loaded from'} {n} page{'s' if n != 1 else ''}"])


@kfunc
def gup_pin(t: Task, proc: Process, addr: int, length: int, longterm: bool) -> KGen:
    k = t.k
    first = addr - addr % PAGE_SIZE
    nr = (addr + max(length, 1) - first + PAGE_SIZE - 1) // PAGE_SIZE
    pin = Pin(f"pin{k.pin_seq + 1}", proc, first, longterm)
    err = yield from pin_user_pages(t, proc, first, nr, longterm, pin)
    if err:
        for pfn, bias in zip(pin.heads, pin.biases):
            unpin_user_page(t, pfn, bias)
        return Ret(-err)
    k.sched.note(("pins",))
    k.pin_seq += 1
    pin.name = f"pin{k.pin_seq}"  # named when it exists: a failed pin uses up no name
    k.pins[pin.name] = pin
    owners = sorted({o[3] + f" index {o[2]}" for o in pin.origin if o}) if pin.origin else []
    return Ret(0, pin.name, [f"{pin.name}: {len(pin.pfns)} page(s) from pfn {pin.pfns[0]:#x}"
                             + (f" ({owners[0]}{' ...' if len(owners) > 1 else ''})" if owners else "")])


@kfunc
def device_dma(t: Task, pin: Pin) -> KGen:
    """The device completes a DMA write into every pinned page (its own data)."""
    k = t.k
    lines = []
    for pfn, origin in zip(pin.pfns, pin.origin):
        yield from ()
        if k.is_pmem_pfn(pfn):
            lines.append(k.stray_write(t, pfn, f"dma {pin.name}", origin))
    return Ret(0, None, lines)


@kfunc
def device_unpin(t: Task, pin: Pin, alloc: bool) -> KGen:
    k = t.k
    k.sched.note(("pin", pin.name))
    pin.releasing = t
    if alloc:
        yield from kmalloc(t, 256)
    for pfn, bias in zip(pin.heads, pin.biases):
        unpin_user_page(t, pfn, bias)
    k.sched.note(("pin", pin.name))
    k.sched.note(("pins",))
    pin.released = True
    k.pins.pop(pin.name, None)
    return Ret(0)


@kfunc
def do_exit(t: Task, p: Process) -> KGen:
    k = t.k
    yield from exit_mmap(t, p)
    for f in list(p.files):  # exit_files: close every fd
        k.sched.note(("proc", p.name))
        p.files.remove(f)
        yield from k.fput(t, f)
    k.sched.note(("proc", p.name))
    k.sched.note(("procs",))
    p.alive = False
    k.processes.pop(p.name, None)
    k.dead[p.name] = p
    return Ret(0)


@kfunc
def nfsd4_layoutget(t: Task, path: str) -> KGen:
    """A pNFS client gets a block layout of ``path``: nfsd opens it and holds an FL_LAYOUT lease."""
    from .leases import Lease
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    inode = d.inode
    if inode.sb.disk.fstype != "xfs":
        yield from path_put(t, mnt, d)
        return Ret(EOPNOTSUPP, None, ["only XFS exports pNFS block layouts"])
    t.k.sched.note(("inode", inode.ino, "lease"))
    if inode.lease is not None:
        yield from path_put(t, mnt, d)
        return Ret(EBUSY, None, [f"{path} already has a layout lease"])
    inode.lease = Lease(File(mnt, d))
    t.k.trace(t, "generic_setlease", inode, "F_LAYOUT")
    return Ret(0, None, [f"pNFS client holds a layout of {path}"])


@kfunc
def nfsd4_layoutreturn(t: Task, path: str) -> KGen:
    from .leases import revoke_lease
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    try:
        t.k.sched.note(("inode", d.inode.ino, "lease"), R)
        if d.inode.lease is None:
            return Ret(EINVAL, None, [f"{path} has no layout lease (`lease {path}` takes one)"])
        t.k.trace(t, "lease_modify", d.inode, "F_UNLCK")
        yield from revoke_lease(t, d.inode)
        return Ret(0)
    finally:
        yield from path_put(t, mnt, d)


@kfunc
def msleep_interruptible(t: Task, ns: int) -> KGen:
    t.timer = t.k.clock.now + ns
    from .sched import WaitQueue
    wq = WaitQueue(f"timer {t.tid}")
    prepare_to_wait(t, wq, TASK_INTERRUPTIBLE, Wait("timer", None, "timer", "schedule_timeout",
                                                    f"time >= {t.timer}"))
    yield from schedule(t)
    finish_wait(t, wq)
    t.timer = None
    return 0


__all__ = [
    "ERRNO_NAMES",
    "Ret",
    "device_dma",
    "device_unpin",
    "do_chattr",
    "do_create",
    "do_exit",
    "do_rw",
    "do_stat",
    "do_sys_truncate", "do_truncate",
    "do_unlinkat",
    "drop_caches",
    "gup_pin",
    "iterate_dir",
    "ksys_mmap",
    "ksys_munmap",
    "ksys_sync",
    "mkfs",
    "msleep_interruptible",
    "strerror",
    "sys_mount",
    "sys_umount",
    "user_access",
    "vfs_fallocate",
]
