"""Every daxsh command, defined once.

A command's function gets the session, its parsed arguments and the line; it returns lines to
print, or a :class:`Syscall` for the session to run as a task of the modelled kernel.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ..kernel import outcomes, views
from ..kernel.config import BEHAVIOURS, BY_NAME, PRESETS, ConfigError, KernelConfig, changes
from ..kernel.drivers.nvdimm import bind_store, unbind_store
from ..kernel.errno import ENOSPC, ENOTDIR, Ret, strerror
from ..kernel.fs.disk import mkfs
from ..kernel.fs.drop_caches import drop_caches
from ..kernel.fs.ioctl import do_chattr
from ..kernel.fs.namei import do_create, do_unlinkat, path_lookup, path_put
from ..kernel.fs.namespace import sys_mount, sys_umount
from ..kernel.fs.nfsd import nfsd4_layoutget, nfsd4_layoutreturn
from ..kernel.fs.open import do_sys_truncate, vfs_fallocate
from ..kernel.fs.read_write import do_rw
from ..kernel.fs.readdir import iterate_dir
from ..kernel.fs.stat import do_stat
from ..kernel.fs.sync import ksys_sync
from ..kernel.mm.fault import user_access
from ..kernel.mm.gup import device_dma, device_unpin, gup_pin
from ..kernel.mm.madvise import madvise_inject_error
from ..kernel.mm.memory_failure import MF_ACTION_REQUIRED, memory_failure
from ..kernel.mm.mmap import find_vma, ksys_mmap, ksys_munmap
from ..kernel.mm.types import PAGE_SIZE
from ..kernel.mm.vmscan import kmalloc
from ..kernel.sched import KFUNCS, TRACED, msleep_interruptible
from . import render
from .hints import agent_text, error_text, ret_lines
from .lexer import Line, fmt_size, parse_number
from .registry import REGISTRY, ArgError, Choice, Number, Option, Param, Text, command, lookup
from .session import NoticeKind, Result, Session, Syscall
from .types import (
    ADDR,
    BDEV,
    COUNT,
    DIR,
    FILE,
    FSIZE,
    FSTYPE,
    JOB,
    KFUNC,
    LEN,
    MAPLEN,
    OFF,
    PFN,
    PFNDEV,
    PGOFF,
    PIN,
    PROCNAME,
    SHOW,
    SIZE,
    KernelWord,
    SecondsArg,
    SignalArg,
    list_dir,
)

A = dict[str, Any]
_NOT_IN_THREAD_JOBS = ("job control and breakpoints decide who runs when; inside [threads] the "
                       "explorer decides that, over every interleaving")

G_DEV, G_FS, G_FILE, G_MEM, G_PROC, G_KERNEL, G_JOBS, G_INSPECT = (
    "devices", "filesystems", "files", "memory", "processes", "kernel", "jobs and stepping",
    "inspecting")


def _need_proc(s: Session) -> Any:
    p = s.proc
    if p is None:
        raise ArgError(f"process {s.proc_name} has exited; `proc {s.proc_name}` starts it again", 0)
    return p


# -- devices ----------------------------------------------------------------------------------------


@command("ndctl", group=G_DEV, summary="regions, namespaces, pfn and dax devices, their state",
         params=[Param("verb", Choice("list", ["list"], what="ndctl verb"))], example="ndctl list",
         changes_state=False, after_crash=True)
def _ndctl(s: Session, a: A, line: Line) -> list[str]:
    return json.dumps(views.ndctl(s.k), indent=2).splitlines()


@command("unbind", group=G_DEV, summary="echo pfn0.1 > /sys/bus/nd/drivers/nd_pmem/unbind",
         params=[Param("dev", PFNDEV)], example="unbind pfn0.1",
         kfuncs=("unbind_store", "pmem_release_disk", "kill_dax", "dax_holder_notify_failure",
                 "xfs_dax_notify_failure", "mf_dax_kill_procs", "memunmap_pages"),
         needs_process=True, task=True)
def _unbind(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("unbind", lambda t: unbind_store(t, a["dev"]))


@command("bind", group=G_DEV, summary="bind pfn0.1 to nd_pmem again (new memmap, new dax_device)",
         params=[Param("dev", PFNDEV)], example="bind pfn0.1", kfuncs=("pmem_attach_disk",),
         needs_process=True, task=True)
def _bind(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("bind", lambda t: bind_store(t, a["dev"]))


@command("poison", group=G_DEV, summary="memory_failure() on that pfn",
         params=[Param("pfn", PFN)],
         options=[Option(("--ar",), "ar", help="MF_ACTION_REQUIRED: the current task consumed it")],
         example="poison 0x101210",
         kfuncs=("memory_failure", "xfs_dax_notify_failure", "mf_dax_kill_procs",
                 "mf_generic_kill_procs"), needs_process=True, task=True)
def _poison(s: Session, a: A, line: Line) -> Syscall:
    flags = MF_ACTION_REQUIRED if a["ar"] else 0
    return Syscall("poison", lambda t: memory_failure(t, a["pfn"], flags))


@command("hwpoison", group=G_DEV,
         summary="madvise(MADV_HWPOISON) on the page at ADDR: memory_failure() injected (the memory stays good)",
         params=[Param("addr", ADDR)], example="hwpoison 0x7f0000000000",
         kfuncs=("madvise_inject_error", "memory_failure", "xfs_dax_notify_failure", "mf_dax_kill_procs",
                 "mf_generic_kill_procs"), needs_process=True, task=True)
def _hwpoison(s: Session, a: A, line: Line) -> Syscall:
    proc = _check_mapped(s, a["addr"], 1, 1)
    return Syscall("hwpoison", lambda t: madvise_inject_error(t, proc, a["addr"]))


# -- filesystems ------------------------------------------------------------------------------------


class _MkfsOpt(Text):
    def __init__(self, metavar: str, values: tuple[str, ...]) -> None:
        super().__init__(metavar, lambda s, p: [v for v in values if v.startswith(p)])


@command("mkfs", group=G_FS, summary="make a filesystem on the pmem block device",
         params=[Param("type", FSTYPE), Param("dev", BDEV)],
         options=[Option(("-m",), "m", _MkfsOpt("rmapbt=0|1", ("rmapbt=0", "rmapbt=1")), "xfs: reverse-mapping btree "
                         "(default 0, as xfsprogs 6.1; notify_failure needs 1)"),
                  Option(("-d",), "d", _MkfsOpt("su=SIZE", ("su=2m",)), "xfs: stripe unit, e.g. su=2m "
                         "for 2 MiB-aligned extents (PMD faults)"),
                  Option(("-E",), "E", _MkfsOpt("stride=N", ("stride=512",)), "ext4: stride in blocks, e.g. 512")],
         example="mkfs xfs /dev/pmem0 -m rmapbt=1", kfuncs=("mkfs.xfs",), needs_process=True, task=True)
def _mkfs(s: Session, a: A, line: Line) -> Syscall:
    rmapbt = None
    su = 1
    if a["m"] is not None:
        if a["type"] != "xfs" or a["m"] not in ("rmapbt=0", "rmapbt=1"):
            raise ArgError("-m takes rmapbt=0 or rmapbt=1, for xfs only", _word(line, "-m") + 1)
        rmapbt = a["m"] == "rmapbt=1"
    if a["d"] is not None:
        if a["type"] != "xfs" or not a["d"].startswith("su="):
            raise ArgError("-d takes su=SIZE (e.g. su=2m), for xfs only", _word(line, "-d") + 1)
        su = _blocks(a["d"][3:], line, "-d")
    if a["E"] is not None:
        if a["type"] != "ext4" or not a["E"].startswith("stride="):
            raise ArgError("-E takes stride=N (blocks), for ext4 only", _word(line, "-E") + 1)
        try:
            su = parse_number(a["E"][7:])
        except ValueError as e:
            raise ArgError(str(e), _word(line, "-E") + 1) from None
    return Syscall("mkfs." + a["type"], lambda t: mkfs(t, a["type"], a["dev"], rmapbt, su))


def _blocks(text: str, line: Line, flag: str) -> int:
    try:
        v = parse_number(text.upper())
    except ValueError as e:
        raise ArgError(str(e), _word(line, flag) + 1) from None
    if v % PAGE_SIZE or v <= 0:
        raise ArgError("the stripe unit must be a multiple of 4K, e.g. su=2m", _word(line, flag) + 1)
    return v // PAGE_SIZE


def _word(line: Line, text: str) -> int:
    return next((i for i, w in enumerate(line.words) if w.text == text), 0)


@command("mount", group=G_FS, summary="mount the pmem filesystem (-o dax means dax=always)",
         params=[Param("dev", BDEV), Param("dir", DIR)],
         options=[Option(("-o",), "o", Choice("OPT", ["dax", "dax=always", "dax=never", "dax=inode"],
                                                 what="mount option"))],
         example="mount /dev/pmem0 /mnt -o dax",
         kfuncs=("fs_dax_get_by_bdev", "xfs_setup_inode"), needs_process=True, task=True)
def _mount(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("mount", lambda t: sys_mount(t, a["dev"], a["dir"], a["o"]))


@command("umount", group=G_FS, summary="unmount; EBUSY while a file is open or mapped",
         params=[Param("dir", DIR)], example="umount /mnt",
         kfuncs=("generic_shutdown_super", "evict_inodes", "evict", "dax_break_layout_final",
                 "truncate_inode_pages_final", "dax_disassociate_entry"), needs_process=True, task=True)
def _umount(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("umount", lambda t: sys_umount(t, a["dir"]))


@command("mkdir", group=G_FS, summary="make a directory", params=[Param("dir", FILE)],
         example="mkdir /mnt/d", kfuncs=("vfs_mkdir",), needs_process=True, task=True)
def _mkdir(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("mkdir", lambda t: do_create(t, a["dir"], 0, True))


@command("cd", group=G_FS, summary="change the current process's directory",
         params=[Param("dir", DIR, optional=True)], example="cd /mnt", needs_process=True, task=True)
def _cd(s: Session, a: A, line: Line) -> Syscall:
    path = a["dir"] or "/"
    proc = s.proc

    def done(ret: Ret) -> None:
        proc.cwd = path

    def gen(t: Any) -> Any:
        return _chdir(t, path)
    return Syscall("cd", gen, fmt=lambda r: [], on_done=done)


def _chdir(t: Any, path: str) -> Any:
    err, mnt, d = yield from path_lookup(t, path)
    if err:
        return Ret(err)
    if mnt is not None:
        isdir = d.inode.is_dir
        yield from path_put(t, mnt, d)
        if not isdir:
            return Ret(ENOTDIR)
    return Ret(0)


@command("ls", group=G_FS, summary="list a directory", params=[Param("dir", FILE, optional=True)],
         example="ls /mnt", kfuncs=("iterate_dir",), changes_state=False, needs_process=True, task=True)
def _ls(s: Session, a: A, line: Line) -> Syscall:
    path = a["dir"] or s.cwd
    return Syscall("ls", lambda t: iterate_dir(t, path),
                   fmt=lambda r: [f"{n:<24} {fmt_size(sz) if sz else ''}".rstrip() for n, sz in r.value])


# -- files ------------------------------------------------------------------------------------------


@command("create", group=G_FILE, summary="create FILE and write SIZE bytes (blocks allocated)",
         params=[Param("file", FILE), Param("size", FSIZE)], example="create /mnt/a 64K",
         kfuncs=("vfs_create", "dax_iomap_rw", "xfs_alloc_blocks"), needs_process=True, task=True)
def _create(s: Session, a: A, line: Line) -> Syscall:
    path, size = a["file"], a["size"]

    def gen(t: Any) -> Any:
        ret = yield from do_create(t, path, size)
        if isinstance(ret, Ret) and ret.err == ENOSPC and size:
            # the write ran out of blocks after open(O_CREAT) made the file: the file stays, as
            # on the real kernels (scenarios/real/enospc.toml: `rm` of it succeeds on 6.1, 6.12)
            return Ret(ENOSPC, None, [f"{fmt_size(size)} does not fit in the free blocks; "
                                         f"{path} stays with the blocks it got (`rm {path}` "
                                         "frees them)"])
        return ret
    return Syscall("create", gen)


@command("write", group=G_FILE, summary="write LEN bytes at OFF (allocates holes)",
         params=[Param("file", FILE), Param("off", OFF), Param("len", LEN)],
         example="write /mnt/a 0 4K", kfuncs=("dax_iomap_rw", "xfs_break_layouts"),
         needs_process=True, task=True)
def _write(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("write", lambda t: do_rw(t, a["file"], a["off"], a["len"], True))


@command("read", group=G_FILE, summary="read LEN bytes at OFF (reports data that is not the file's)",
         params=[Param("file", FILE), Param("off", OFF), Param("len", LEN)],
         example="read /mnt/b 0 4K", kfuncs=("dax_iomap_rw",), changes_state=False,
         needs_process=True, task=True)
def _read(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("read", lambda t: do_rw(t, a["file"], a["off"], a["len"], False))


@command("truncate", group=G_FILE, summary="truncate(2) FILE to SIZE",
         params=[Param("file", FILE), Param("size", FSIZE)], example="truncate /mnt/a 0",
         kfuncs=("do_sys_truncate", "do_truncate", "xfs_vn_setattr", "xfs_break_layouts", "xfs_break_dax_layouts",
                 "dax_layout_busy_page_range", "___wait_var_event", "xfs_wait_dax_page",
                 "truncate_inode_pages_range", "dax_disassociate_entry", "xfs_itruncate_extents",
                 "ext4_setattr", "ext4_break_layouts"), needs_process=True, task=True)
def _truncate(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("truncate", lambda t: do_sys_truncate(t, a["file"], a["size"]))


@command("punch", group=G_FILE, summary="fallocate(FALLOC_FL_PUNCH_HOLE) LEN bytes at OFF",
         params=[Param("file", FILE), Param("off", OFF), Param("len", LEN)],
         example="punch /mnt/a 0 4K",
         kfuncs=("vfs_fallocate", "xfs_file_fallocate", "xfs_break_layouts", "xfs_free_file_space",
                 "ext4_punch_hole", "ext4_break_layouts"), needs_process=True, task=True)
def _punch(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("punch", lambda t: vfs_fallocate(t, a["file"], a["off"], a["len"]))


@command("rm", group=G_FILE, summary="unlink FILE (blocks go when the last user does)",
         params=[Param("file", FILE)], example="rm /mnt/a",
         kfuncs=("do_unlinkat", "vfs_unlink", "iput_final", "evict"), needs_process=True, task=True)
def _rm(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("rm", lambda t: do_unlinkat(t, a["file"]))


@command("lease", group=G_FILE, summary="a pNFS client takes (or --return's) a layout lease on FILE",
         params=[Param("file", FILE)],
         options=[Option(("--return",), "ret", help="the client returns the layout (LAYOUTRETURN)")],
         example="lease /mnt/a",
         kfuncs=("generic_setlease", "break_layout", "xfs_break_leased_layouts", "lease_modify"),
         needs_process=True, task=True)
def _lease(s: Session, a: A, line: Line) -> Syscall:
    if a["ret"]:
        return Syscall("nfsd", lambda t: nfsd4_layoutreturn(t, a["file"]), kthread=True)
    return Syscall("nfsd", lambda t: nfsd4_layoutget(t, a["file"]), kthread=True)


@command("chattr", group=G_FILE, summary="set (+x) or clear (-x) FS_XFLAG_DAX",
         params=[Param("flag", Choice("+x|-x", ["+x", "-x"], what="flag", accepts_dash=True)), Param("file", FILE)],
         example="chattr +x /mnt/a",
         kfuncs=("xfs_ioctl_setattr", "xfs_ioctl_setattr_dax_invalidate", "d_mark_dontcache",
                 "ext4_fileattr_set"), needs_process=True, task=True)
def _chattr(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("chattr", lambda t: do_chattr(t, a["file"], a["flag"] == "+x"))



@command("stat", group=G_FILE, summary="size, blocks, S_DAX (STATX_ATTR_DAX), flags, i_count",
         params=[Param("file", FILE)], example="stat /mnt/a", changes_state=False,
         needs_process=True, task=True)
def _stat(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("stat", lambda t: do_stat(t, a["file"]), fmt=lambda r: render.stat(r.value))


@command("sync", group=G_FILE, summary="write back dirty DAX entries (PTEs become read-only)",
         example="sync", kfuncs=("dax_writeback_mapping_range",), needs_process=True, task=True)
def _sync(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("sync", ksys_sync)


@command("drop_caches", group=G_FILE, summary="echo 3 > /proc/sys/vm/drop_caches: evict unused inodes",
         example="drop_caches", kfuncs=("shrink_dcache_sb", "prune_icache_sb", "evict"),
         needs_process=True, task=True)
def _drop_caches(s: Session, a: A, line: Line) -> Syscall:
    return Syscall("drop_caches", drop_caches)


# -- memory -----------------------------------------------------------------------------------------


@command("mmap", group=G_MEM, summary="map FILE (MAP_SHARED unless --private); prints the address",
         params=[Param("file", FILE), Param("len", MAPLEN), Param("off", PGOFF, optional=True)],
         options=[Option(("--private",), "private", help="MAP_PRIVATE"),
                  Option(("--sync",), "sync", help="MAP_SHARED_VALIDATE|MAP_SYNC")],
         example="mmap /mnt/a 64K", kfuncs=("do_mmap", "xfs_file_mmap", "vma_link"),
         needs_process=True, task=True)
def _mmap(s: Session, a: A, line: Line) -> Syscall:
    proc = _need_proc(s)
    length = -(-a["len"] // PAGE_SIZE) * PAGE_SIZE
    return Syscall("mmap", lambda t: ksys_mmap(t, proc, a["file"], length, a["off"] or 0,
                                                  a["private"], a["sync"]),
                   fmt=lambda r: [hex(r.value)])


def _check_mapped(s: Session, addr: int, length: int, index: int) -> Any:
    proc = _need_proc(s)
    for a_ in range(addr - addr % PAGE_SIZE, addr + max(length, 1), PAGE_SIZE):
        if find_vma(proc.mm, a_) is None:
            near = ", ".join(f"{v.start:#x}-{v.end:#x}" for v in proc.mm.vmas) or "none"
            raise ArgError(f"{a_:#x} is not inside a mapping of process {proc.name} "
                           f"(mappings: {near}; `show ptes` lists them)", index)
    return proc


@command("munmap", group=G_MEM, summary="unmap the mapping that starts at ADDR",
         params=[Param("addr", ADDR)], example="munmap 0x7f0000000000",
         kfuncs=("do_munmap", "zap_vma", "__fput"), needs_process=True, task=True)
def _munmap(s: Session, a: A, line: Line) -> Syscall:
    proc = _need_proc(s)
    v = find_vma(proc.mm, a["addr"])
    if v is None or v.start != a["addr"]:
        starts = ", ".join(hex(v.start) for v in proc.mm.vmas) or "none"
        raise ArgError(f"no mapping of process {proc.name} starts at {a['addr']:#x} "
                       f"(mappings start at: {starts})", 1)
    return Syscall("munmap", lambda t: ksys_munmap(t, proc, a["addr"]))


@command("touch", group=G_MEM, summary="load (or --write store) each page: page faults",
         params=[Param("addr", ADDR), Param("len", LEN, optional=True)],
         options=[Option(("--write",), "write", help="store instead of load")],
         example="touch 0x7f0000000000 64K --write",
         kfuncs=("handle_mm_fault", "xfs_filemap_fault", "xfs_filemap_huge_fault",
                 "dax_iomap_pte_fault", "dax_iomap_pmd_fault", "grab_mapping_entry",
                 "dax_insert_entry"), needs_process=True, task=True)
def _touch(s: Session, a: A, line: Line) -> Syscall:
    length = a["len"] or 1
    proc = _check_mapped(s, a["addr"], length, 1)
    return Syscall("touch", lambda t: user_access(t, proc, a["addr"], length, a["write"]))


@command("pin", group=G_MEM, summary="a device pins the current process's pages for DMA -> pinN",
         params=[Param("addr", ADDR), Param("len", LEN, optional=True)],
         options=[Option(("--longterm",), "longterm", help="FOLL_LONGTERM (RDMA registration)")],
         example="pin 0x7f0000000000 4K",
         kfuncs=("pin_user_pages", "check_vma_flags", "try_grab_folio", "handle_mm_fault",
                 "iov_iter_get_pages2"),
         needs_process=True, task=True)
def _pin(s: Session, a: A, line: Line) -> Syscall:
    length = a["len"] or PAGE_SIZE
    proc = _check_mapped(s, a["addr"], length, 1)
    return Syscall("pin", lambda t: gup_pin(t, proc, a["addr"], length, a["longterm"]),
                   fmt=ret_lines, value=lambda r: str(r.value))


def _pin_of(s: Session, name: str) -> Any:
    pin = s.k.pins.get(name)
    if pin is None:
        raise ArgError(f"no {name}", 1)
    return pin


@command("dma", group=G_MEM, summary="the device writes through the pin (its own data)",
         params=[Param("pin", PIN)], example="dma pin1", kfuncs=("device_dma",), task=True)
def _dma(s: Session, a: A, line: Line) -> Syscall:
    pin = _pin_of(s, a["pin"])
    return Syscall("dma", lambda t: device_dma(t, pin), kthread=True,
                   fmt=ret_lines)


@command("unpin", group=G_MEM, summary="the device releases the pin (unpin_user_pages)",
         params=[Param("pin", PIN)],
         options=[Option(("--alloc",), "alloc", help="the completion allocates with GFP_KERNEL "
                         "first (direct reclaim when memory is low)")],
         example="unpin pin1", kfuncs=("unpin_user_page", "wake_up_var", "kmalloc", "folio_put_refs"),
         task=True)
def _unpin(s: Session, a: A, line: Line) -> Syscall:
    pin = _pin_of(s, a["pin"])
    if pin.releasing is not None:
        raise ArgError(f"{pin.name} is already being released by job %{pin.releasing.job}", 1)
    return Syscall("unpin", lambda t: device_unpin(t, pin, a["alloc"]), kthread=True)


@command("fsx", group=G_PROC, summary="run fsx on FILE as a background process (random mapped I/O, "
         "truncate, punch; 1 op per 10 ms)",
         params=[Param("file", FILE), Param("ops", Number("OPS", minimum=1, what="operation count"),
                                            optional=True)],
         options=[Option(("--seed",), "seed", Number("N", what="seed"), "the PRNG seed (default: "
                         "the machine's --seed)")],
         example="fsx /mnt/f 10000 --seed 1",
         kfuncs=("fsx_op", "do_mmap", "handle_mm_fault", "xfs_vn_setattr", "xfs_file_fallocate"),
         thread="it starts a background process of its own that runs for thousands of "
                "operations; write the operations you mean (mmap, touch, truncate, punch) as "
                "the thread's lines")
def _fsx(s: Session, a: A, line: Line) -> Result:
    from ..kernel.fsx import fsx
    k = s.k
    name = "fsx"
    n = 2
    while name in k.processes:
        name = f"fsx{n}"
        n += 1
    path = a["file"]
    seed = s.seed if a["seed"] is None else a["seed"]
    nops = a["ops"] or 10000
    if not _exists(s, path):  # create it first, as fsx -O would; the path is not re-parsed
        r = Result(line.text)
        t0 = s.spawn(Syscall("create", lambda t: do_create(t, path, 0)), f"create {path} 0")
        s.k.run(t0)
        ret = t0.result
        if not t0.done or (isinstance(ret, Ret) and ret.err):
            r.status = "error"
            r.error = (f"fsx: cannot create {path}: "
                       f"{strerror(ret.err) if isinstance(ret, Ret) else 'it did not finish'}")
            return r
    proc = k.new_process(name)
    sc_ = Syscall("fsx", lambda t: fsx(t, proc, path, nops, seed))
    t = k.spawn("fsx", proc, sc_.gen, line.command)
    res = Result(line.text)
    job = s._new_job(t, sc_)
    res.job = job.id
    s.last = f"%{job.id}"
    res.output.append(f"[{job.id}] {t.tid} (process {name}, pid {proc.pid})")
    k.run(t)
    return res


def _exists(s: Session, path: str) -> bool:
    names = list_dir(s, posixpath.dirname(path)) or []
    return posixpath.basename(path) in names


@command("alloc", group=G_MEM, summary="the current process allocates kernel memory with GFP_KERNEL "
         "(direct reclaim when memory is low)", params=[Param("size", SIZE)], example="alloc 4K",
         kfuncs=("kmalloc", "__alloc_pages_direct_reclaim", "prune_icache_sb", "evict"),
         needs_process=True, task=True)
def _alloc(s: Session, a: A, line: Line) -> Syscall:
    def body(t: Any) -> Any:
        yield from kmalloc(t, a["size"])
        return Ret(0)
    return Syscall("alloc", body)


@command("mem", group=G_MEM, summary="make memory low (allocations enter direct reclaim) or normal",
         params=[Param("state", Choice("low|normal", ["low", "normal"], what="memory state"))],
         example="mem low", kfuncs=("__alloc_pages_direct_reclaim", "super_cache_scan"))
def _mem(s: Session, a: A, line: Line) -> list[str]:
    s.k.memory_low = a["state"] == "low"
    return [f"free memory is {'below the min watermark' if s.k.memory_low else 'plentiful'}"]


# -- processes -------------------------------------------------------------------------------------


@command("proc", group=G_PROC, summary="switch to process NAME, creating it if new",
         params=[Param("name", PROCNAME)], example="proc p2", changes_state=True)
def _proc(s: Session, a: A, line: Line) -> list[str]:
    name = a["name"]
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ArgError("a process name is letters, digits, - and _", 1)
    if name not in s.k.processes:
        p = s.k.new_process(name)
        s.proc_name = name
        return [f"{name}: new process, pid {p.pid}"]
    s.proc_name = name
    p = s.k.processes[name]
    if p.dying:
        return [f"{name} is exiting ({p.exit_reason}): a task of it is still in the kernel"]
    return []


@command("exit", group=G_PROC, summary="process exit: its mappings and files go",
         params=[Param("name", PROCNAME, optional=True)], example="exit p2",
         kfuncs=("do_exit", "exit_mmap", "do_munmap"))
def _exit(s: Session, a: A, line: Line) -> list[str] | Syscall:
    name = a["name"] or s.proc_name
    p = s.k.processes.get(name)
    if p is None:
        raise ArgError(f"no process {name} (`jobs` and `show ptes` list processes)", 1)
    if s.thread is not None:  # inside a thread: a task of the thread ends the process
        return _kill_task(s, p, "exit")
    s.k.kill_process(p, "exit")
    s.k.run()
    return []


@command("kill", group=G_PROC, summary="send a signal to a process or a job",
         params=[Param("sig", SignalArg(), optional=True), Param("target", Text("NAME|%N"))],
         example="kill -KILL %1", synopsis="[-SIG] NAME|%N", kfuncs=("send_signal",))
def _kill(s: Session, a: A, line: Line) -> list[str] | Result | Syscall:
    sig = a["sig"] or "SIGTERM"
    target = a["target"]
    if target is None:
        raise ArgError("missing NAME or %N (usage: kill [-SIG] NAME|%N)", len(line.words))
    if target.startswith("%"):
        if s.thread is not None:
            raise ArgError("inside a thread there are no jobs: kill a process by NAME",
                           len(line.words) - 1)
        job = s.job(target, len(line.words) - 1)
        t = job.task
        if t.done:
            return []
        t.sigpending.append(sig)
        s.k.trace(t, "send_signal", sig, t.comm, pid=t.tid)
        if t.state == "S":
            s.k.sched.wake(t)
        else:
            return [f"[{job.id}] is in D state (uninterruptible): {sig} stays pending"]
        s.k.run()
        return []
    p = s.k.processes.get(target)
    if p is None and target in s.k.dead:
        gone = s.k.dead[target]
        why = f" ({gone.exit_reason})" if gone.exit_reason and gone.exit_reason != "exit" else ""
        return Result(line.text, status="error",
                      error=f"kill: {target}: No such process (ESRCH): it has exited{why}")
    if p is None:
        raise ArgError(f"no process {target} (known: {', '.join(sorted(s.k.processes)) or 'none'})",
                       len(line.words) - 1)
    if s.thread is not None:
        return _kill_task(s, p, sig)
    s.k.kill_process(p, sig)
    s.k.run()
    return []


def _kill_task(s: Session, p: Any, sig: str) -> Syscall:
    """``exit``/``kill NAME`` inside a thread: the signal is sent by a task of the thread (the
    process's exit then runs as the kernel's own task, as in the shell)."""
    def gen(t: Any) -> Any:
        yield from ()
        t.k.kill_process(p, sig)
        return Ret(0)
    return Syscall("kill", gen)


# -- time ---------------------------------------------------------------------------------------------


@command("sleep", group=G_PROC, summary="model time passes (timers fire, hung tasks are reported)",
         params=[Param("secs", SecondsArg())], example="sleep 120", kfuncs=("khungtaskd",))
def _sleep(s: Session, a: A, line: Line) -> list[str] | Syscall:
    """Inside a thread, the thread's task sleeps (``msleep``) while the others run on; model
    time passes when every thread sleeps."""
    if s.thread is not None:
        secs = a["secs"]
        return Syscall("sleep", lambda t: msleep_interruptible(t, secs))
    s.k.advance(a["secs"])
    return []


# -- kernel ---------------------------------------------------------------------------------------


@command("kernel", group=G_KERNEL, summary="show or set the kernel (setting one reboots)",
         params=[Param("spec", KernelWord(), optional=True, repeat=True)],
         example="kernel v6.14 +dax-break-layout-final", after_crash=True, model_text=False,
         thread="it reboots the machine with another kernel; a scenario names its kernels "
                "(kernel = \"...\" or [expect.\"vX.Y\"] tables)")
def _kernel(s: Session, a: A, line: Line) -> list[str]:
    words = a["spec"]
    if not words:
        cfg = s.k.config
        out = [f"kernel {cfg.spec}"]
        out += [f"  {b['name']:<38} {b['version']:<9} {b['summary'][:60]}" for b in views.behaviours(s.k)]
        return out
    spec = " ".join(words)
    if words[0][:1] in "+-":
        spec = s.kernel_spec + " " + spec
    try:
        cfg = KernelConfig.parse(spec)
    except ConfigError as e:
        raise ArgError(error_text(e), 1) from None
    s.reboot(cfg.spec)
    return [f"kernel {cfg.spec}: rebooted"] + [f"  {n}" for n in cfg.notes]


@command("kernels", group=G_KERNEL, summary="presets, what each changes, and every behaviour",
         params=[Param("name", Text("PRESET|BEHAVIOUR"), optional=True)], example="kernels v6.15",
         changes_state=False, after_crash=True, model_text=False)
def _kernels(s: Session, a: A, line: Line) -> list[str]:
    name = a["name"]
    if name in BY_NAME:
        return render.behaviour(BY_NAME[name])
    if name is not None and name not in PRESETS:
        raise ArgError(f"'{name}' is neither a preset nor a behaviour", 1)
    out = ["Presets (each adds to the one before):"]
    for p in PRESETS:
        if name is not None and p != name:
            continue
        ch = changes(p)
        out.append(f"  {p:<7} " + (", ".join(b.name for b in ch) if ch else "(base)"))
        if name is not None:
            for b in ch:
                out += ["    " + x for x in render.behaviour(b)]
    if name is None:
        out.append("Behaviours:")
        for b in BEHAVIOURS:
            out += ["  " + x for x in render.behaviour(b)]
    return out


@command("reboot", group=G_KERNEL, summary="a fresh machine with the same kernel (pmem contents stay)",
         example="reboot", after_crash=True,
         thread="it throws the machine away; put it in `setup`")
def _reboot(s: Session, a: A, line: Line) -> list[str]:
    s.reboot()
    return [f"kernel {s.kernel_spec}: rebooted"]


# -- jobs and stepping ----------------------------------------------------------------------------


@command("jobs", group=G_JOBS, summary="blocked, stopped and background tasks", example="jobs",
         changes_state=False, after_crash=True, thread=_NOT_IN_THREAD_JOBS)
def _jobs(s: Session, a: A, line: Line) -> list[str]:
    return [s.describe_job(j) for j in s.jobs.values()] or ["no jobs"]


@command("wait", group=G_JOBS, summary="wait for a job (or all); says why one cannot finish",
         params=[Param("job", JOB, optional=True)], example="wait %1", changes_state=False,
         thread=_NOT_IN_THREAD_JOBS)
def _wait(s: Session, a: A, line: Line) -> list[str]:
    s.k.run()
    jobs = [s.job(a["job"])] if a["job"] else list(s.jobs.values())
    out = []
    for j in jobs:
        if not j.task.done:
            out.append(f"{s.describe_job(j)} (nothing running can wake it: "
                       f"{'; '.join(x.strip() for x in outcomes.chain(s.k, j.task, agent_text)[:1])})")
    return out


@command("start", group=G_JOBS, summary="create a task for CMD stopped before its first step",
         params=[Param("cmd", Text("CMD ...", accepts_dash=True), repeat=True)],
         example="start truncate /mnt/a 0", synopsis="CMD [ARGS ...]", thread=_NOT_IN_THREAD_JOBS)
def _start(s: Session, a: A, line: Line) -> Result:
    # the sub-command's words are the line's words from the second on: errors keep their caret
    sub = Line(line.text, line.words[1:], False)
    cmd = REGISTRY.get(sub.words[0].text)
    if cmd is not None and not cmd.task:
        raise ArgError(f"{cmd.name} does not run as a kernel task, so it cannot be started "
                       "stopped; type it without `start`", 1)
    refused = s.refusal(cmd) if cmd is not None else None
    if refused is not None:
        raise ArgError(refused[1], 1)
    p = s.prepare(sub, offset=1)
    out = p.cmd.run(s, p.args, p.line)
    if not isinstance(out, Syscall):
        raise ArgError(f"{p.cmd.name} does not run as a kernel task; type it without `start`", 1)
    res = Result(line.text)
    s._run_syscall(res, out, p.line, p.cmd, stopped=True)
    res.output = [f"[{res.job}] {sub.command}: stopped before its first step "
                  f"(`step %{res.job}`, `continue %{res.job}`)"]
    res.output_kinds.clear()
    return res


@command("step", group=G_JOBS, summary="advance a stopped task K preemption points, printing its trace",
         params=[Param("job", JOB, optional=True), Param("count", COUNT, optional=True)],
         example="step %1 3", thread=_NOT_IN_THREAD_JOBS)
def _step(s: Session, a: A, line: Line) -> list[str]:
    job = s.job(a["job"])
    t = job.task
    k = s.k
    n = a["count"] or 1
    seq = k.trace_buf.seq
    out = []
    for _ in range(n):
        if t.done or t not in k.sched.runq:
            break
        t.stopped = True
        r = k.sched.step(t)
        if r in ("sleep", "done"):
            break
    out += [ev.format() for ev in k.trace_buf.since(seq)]
    if not t.done:
        t.stopped = t in k.sched.runq or t.stopped
        t.stop_reason = t.stop_reason if t.stop_reason.startswith("breakpoint") else "stepped"
    k.run()
    if not t.done:
        out.append(s.describe_job(job))
    return out


@command("break", group=G_JOBS, summary="stop any task when it reaches a kernel function",
         params=[Param("func", KFUNC)], example="break dax_layout_busy_page_range",
         changes_state=True, thread=_NOT_IN_THREAD_JOBS)
def _break(s: Session, a: A, line: Line) -> list[str]:
    s.k.breakpoints.update(_model_funcs(s, a["func"]))
    return [f"breakpoint at {a['func']}"]


def _model_funcs(s: Session, func: str) -> set[str]:
    """The model functions a kernel function name stands for on this kernel (the version's
    name, kernel/names.py, or the model's own): a model name stands for the function this
    version calls by its name too (`break dax_layout_busy_page_range` on v4.18 stops in
    dax_layout_busy_page, the only form that release has)."""
    name = s.k.kname(func)
    return {f for f in set(KFUNCS) | set(TRACED) if f == func or s.k.kname(f) == name}


@command("unbreak", group=G_JOBS, summary="remove a breakpoint (or all)",
         params=[Param("func", KFUNC, optional=True)], example="unbreak dax_layout_busy_page_range",
         thread=_NOT_IN_THREAD_JOBS)
def _unbreak(s: Session, a: A, line: Line) -> list[str]:
    if a["func"]:
        s.k.breakpoints.difference_update(_model_funcs(s, a["func"]))
    else:
        s.k.breakpoints.clear()
    return []


@command("continue", group=G_JOBS, summary="let a stopped task (or all) run on",
         params=[Param("job", JOB, optional=True)], example="continue %1",
         thread=_NOT_IN_THREAD_JOBS)
def _continue(s: Session, a: A, line: Line) -> list[str]:
    jobs = [s.job(a["job"])] if a["job"] else list(s.jobs.values())
    for j in jobs:
        j.task.stopped = False
        j.task.stop_reason = ""
    s.k.run()
    return [s.describe_job(j) for j in jobs if not j.task.done]


@command("why", group=G_JOBS, summary="who is blocked on what, who holds it, the waits-for chain",
         params=[Param("job", JOB, optional=True)], example="why %1", changes_state=False,
         after_crash=True)
def _why(s: Session, a: A, line: Line) -> list[str]:
    if a["job"]:
        jobs = [s.job(a["job"])]
    else:
        jobs = [j for j in s.jobs.values() if not j.task.done]
    tasks = [j.task for j in jobs] + [t for t in s.k.sched.blocked()
                                      if not any(j.task is t for j in s.jobs.values())]
    if not tasks:
        return ["nothing is blocked"]
    out = []
    for t in tasks:
        out.append(f"{t.comm}:{t.tid} ({t.cmdline}) — {outcomes.describe_wait(t)}")
        out += outcomes.chain(s.k, t, agent_text)
    cyc = outcomes.find_cycle(s.k)
    if cyc:
        out.append("DEADLOCK: " + " -> ".join(f"{t.comm}:{t.tid}" for t in cyc + cyc[:1]))
    return out


# -- inspecting --------------------------------------------------------------------------------------


@command("dmesg", group=G_INSPECT, summary="the kernel log", example="dmesg",
         changes_state=False, after_crash=True)
def _dmesg(s: Session, a: A, line: Line) -> list[str]:
    return s.k.dmesg.format()


@command("trace", group=G_INSPECT, summary="the last N trace events (kernel function calls)",
         params=[Param("n", COUNT, optional=True)], example="trace 40", changes_state=False,
         after_crash=True)
def _trace(s: Session, a: A, line: Line) -> Result:
    res = Result(line.text)
    for ev in s.k.trace_buf.last(a["n"] or 50):
        if ev.func == "CORRUPTION":  # the detector's event (Kernel.stray_write)
            res.output_kinds[len(res.output)] = NoticeKind.CORRUPTION
        res.output.append(ev.format())
    return res


@command("check", group=G_INSPECT, summary="the outcome so far: clean, corruption, oops, deadlock, hung, lockdep",
         example="check", changes_state=False, after_crash=True)
def _check(s: Session, a: A, line: Line) -> list[str]:
    o = outcomes.outcome(s.k)
    out = [f"outcome: {o.outcome}"] + [f"  {d}" for d in o.details]
    out += [f"  killed: {x}" for x in o.killed]
    return out


@command("show", group=G_INSPECT, summary="pages | ptes | waiters | inodes | blocks",
         params=[Param("what", SHOW)], example="show pages", changes_state=False, after_crash=True)
def _show(s: Session, a: A, line: Line) -> list[str]:
    return render.show(s.k, a["what"])


@command("help", group=G_INSPECT, summary="commands by group, or one command in detail",
         params=[Param("cmd", Text("CMD", lambda s, p: [c for c in REGISTRY if c.startswith(p)]),
                       optional=True)],
         example="help truncate", changes_state=False, after_crash=True, model_text=False)
def _help(s: Session, a: A, line: Line) -> list[str]:
    if a["cmd"]:
        try:
            return render.command_help(lookup(a["cmd"]))
        except ArgError as e:
            e.word = 1
            raise
    return render.help_index()

