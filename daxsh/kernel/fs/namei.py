"""Models fs/namei.c: the path walk (``path_lookup``, ``path_put``), ``do_create`` (open
O_CREAT, mkdir) and ``do_unlinkat``.

Paths are absolute (the language layer resolves relative ones against the cwd).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from ..errno import EEXIST, EIO, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EOPNOTSUPP, EROFS, Ret
from ..footprint import C, R
from ..locks import down_write, up_write
from ..sched import kfunc
from .dcache import d_lookup, dget, dput
from .inode import iput
from .namespace import find_mount
from .super import sb_end_write, sb_start_write

if TYPE_CHECKING:
    from ..sched import KGen, Task
    from .dcache import Dentry
    from .namespace import Mount


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
