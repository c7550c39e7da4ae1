"""Every command in the registry: at least one success and its error cases.

An error must say what was wrong (and how to do it right), put a caret under the wrong word
when one word is wrong, and change nothing in the model (the views before and after agree).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from daxsh.kernel import views
from daxsh.lang import render
from daxsh.lang.registry import REGISTRY

MAP = "0x7f0000000000"

_MOUNTED = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax"]
_FILE = [*_MOUNTED, "create /mnt/a 64K"]
# /mnt/a mapped by sh, page 0 written and pinned (pin1); process p2 exists; cwd /
_BASE = [*_FILE, "mmap /mnt/a 64K", f"touch {MAP} 4K --write", f"pin {MAP} 4K", "proc p2", "proc sh"]

SETUPS: dict[str, list[str]] = {
    "fresh": [],
    "mounted": _MOUNTED,
    "file": _FILE,
    "base": _BASE,
    "blocked": [*_BASE, "truncate /mnt/a 0 &"],  # job %1: a truncate blocked on the pin
    "stopped": [*_FILE, "start stat /mnt/a"],  # job %1 created stopped before its first step
}


def make(shell: Any, setup: str, kernel: str = "v6.15") -> Any:
    sh = shell(kernel)
    for line in SETUPS[setup]:
        r = sh.s.execute(line)
        assert r.status in ("done", "blocked", "stopped"), (line, r.text())
    return sh


def snapshot(s: Any) -> dict[str, Any]:
    """Everything a user can see of the model, minus the logs (trace, dmesg)."""
    k = s.k
    disk: dict[str, Any] = {}
    fs = k.media_fs
    if fs is not None:
        disk = {
            "fstype": fs.fstype, "uuid": fs.uuid,
            "free": list(fs.free.items()), "rmap": list(fs.rmap.items()),
            "inodes": {ino: (di.size, di.nlink, di.dax_flag, sorted(di.entries.items()),
                             list(di.extents.items())) for ino, di in fs.inodes.items()},
        }
    return {
        "views": {w: render.show(k, w) for w in ("pages", "ptes", "waiters", "inodes", "blocks")},
        "ndctl": views.ndctl(k),
        "disk": disk,
        "jobs": [s.describe_job(j) for j in s.jobs.values()],
        "kernel": s.kernel_spec, "proc": s.proc_name, "cwd": s.cwd, "last": s.last,
        "mounts": sorted(k.mounts), "pins": sorted(k.pins), "procs": sorted(k.processes),
        "crashed": k.crashed, "breakpoints": sorted(k.breakpoints), "clock": k.clock.now,
        "memory_low": k.memory_low, "rootdirs": sorted(k.rootdirs),
        "events": [(e.kind, e.text) for e in k.events],
        "tasks": [(t.tid, t.state, t.stopped) for t in k.sched.tasks],
    }


def text(r: Any) -> str:
    return "\n".join(r.text())


# -- success cases --------------------------------------------------------------------------------
# (command, setup, line, check): check is a substring of the output or a callable(sh, result)

Check = str | Callable[[Any, Any], Any] | None


def _memmap(state: str) -> Callable[[Any, Any], Any]:
    def check(sh: Any, r: Any) -> None:
        assert views.ndctl(sh.k)["namespaces"][0]["memmap"] == state
    return check


def _stat_size(path: str, size: int) -> Callable[[Any, Any], Any]:
    def check(sh: Any, r: Any) -> None:
        assert f"Size: {size} " in text(sh(f"stat {path}"))
    return check


def _no_job(sh: Any, r: Any) -> None:
    assert sh.s.jobs == {}


SUCCESS: list[tuple[str, str, str, Check]] = [
    ("ndctl", "fresh", "ndctl list", '"pfn": "pfn0.1"'),
    ("unbind", "fresh", "unbind pfn0.1", _memmap("removed")),
    ("bind", "fresh", "bind pfn0.1", None),  # replaced below: needs an unbind first
    ("poison", "file", "poison 0x101210", lambda sh, r: (
        "hwpoison" in text(sh("show pages")) or pytest.fail("page not marked hwpoison"),
        "EIO" in sh("read /mnt/a 0 4K", "error").error or pytest.fail("read did not fail"))),
    ("mkfs", "fresh", "mkfs xfs /dev/pmem0", "xfs on /dev/pmem0: "),
    ("mkfs", "fresh", "mkfs xfs /dev/pmem0 -m rmapbt=1", "rmapbt=1"),
    ("mkfs", "fresh", "mkfs xfs /dev/pmem0 -d su=2m", "su=2048k"),
    ("mkfs", "fresh", "mkfs ext4 /dev/pmem0 -E stride=512", "ext4 on /dev/pmem0"),
    ("mkfs", "fresh", "mkfs ext2 /dev/pmem0", "ext2 on /dev/pmem0"),
    ("mount", "fresh", "mkfs xfs /dev/pmem0", None),  # replaced below
    ("umount", "mounted", "umount /mnt", lambda sh, r: sh.k.mounts == {} or pytest.fail()),
    ("mkdir", "mounted", "mkdir /mnt/d", lambda sh, r: "d/" in text(sh("ls /mnt")) or pytest.fail()),
    ("mkdir", "fresh", "mkdir /tmp/x", lambda sh, r: "x/" in text(sh("ls /tmp")) or pytest.fail()),
    ("cd", "mounted", "cd /mnt", lambda sh, r: sh.s.cwd == "/mnt" or pytest.fail()),
    ("cd", "mounted", "cd", lambda sh, r: sh.s.cwd == "/" or pytest.fail()),
    ("ls", "file", "ls /mnt", re.compile(r"^a\s+64K$", re.M)),
    ("ls", "fresh", "ls", "mnt/"),
    ("create", "mounted", "create /mnt/b 0x3000", _stat_size("/mnt/b", 0x3000)),
    ("create", "mounted", "create /mnt/empty 0", _stat_size("/mnt/empty", 0)),
    ("write", "file", "write /mnt/a 64K 4K", _stat_size("/mnt/a", 68 * 1024)),
    ("read", "file", "read /mnt/a 0 4K", "read 4096 bytes"),
    ("read", "file", "read /mnt/a 60K 8K", "read 4096 bytes"),
    ("truncate", "file", "truncate /mnt/a 4K", _stat_size("/mnt/a", 4096)),
    ("punch", "file", "punch /mnt/a 0 8K", lambda sh, r: "Blocks: 14 " in text(sh("stat /mnt/a"))
     or pytest.fail()),
    ("rm", "file", "rm /mnt/a", lambda sh, r: text(sh("ls /mnt")) == "" or pytest.fail()),
    ("lease", "file", "lease /mnt/a", "layout"),
    ("chattr", "file", "chattr +x /mnt/a", lambda sh, r: "FS_XFLAG_DAX: set" in text(sh("stat /mnt/a"))
     or pytest.fail()),
    ("stat", "file", "stat /mnt/a", "Size: 65536"),
    ("stat", "fresh", "stat /tmp", "rootfs"),
    ("sync", "base", "sync", None),
    ("drop_caches", "file", "drop_caches", re.compile(r"evicted \d+ inode")),
    ("mmap", "file", "mmap /mnt/a 64K", "0x7f0000000000"),
    ("mmap", "file", "mmap /mnt/a 8K 0x4000 --private", "0x7f0000000000"),
    ("mmap", "file", "mmap /mnt/a 4K --sync", "0x7f0000000000"),
    ("munmap", "base", f"munmap {MAP}", lambda sh, r: "(no mappings)" in text(sh("show ptes"))
     or pytest.fail()),
    ("touch", "base", f"touch {MAP} 8K", "loaded from 2 pages"),
    ("touch", "base", f"touch {MAP} 16K --write", "stored to 4 pages"),
    ("pin", "base", "pin 0x7f0000001000 4K", re.compile(r"^pin2: 1 page\(s\) from pfn 0x", re.M)),
    ("dma", "base", "dma pin1", "its own"),
    ("unpin", "base", "unpin pin1", lambda sh, r: sh.k.pins == {} or pytest.fail()),
    ("unpin", "base", "unpin pin1 --alloc", None),
    ("fsx", "file", "fsx /mnt/f 20 --seed 1", re.compile(r"^\[1\] \d+ \(process fsx", re.M)),
    ("alloc", "file", "alloc 4K", None),
    ("mem", "fresh", "mem low", lambda sh, r: sh.k.memory_low or pytest.fail()),
    ("mem", "fresh", "mem normal", "plentiful"),
    ("proc", "fresh", "proc p3", re.compile(r"^p3: new process, pid \d+$", re.M)),
    ("exit", "base", "exit p2", lambda sh, r: "p2" not in sh.k.processes or pytest.fail()),
    ("kill", "base", "kill -TERM p2", lambda sh, r: "p2" not in sh.k.processes or pytest.fail()),
    ("kill", "base", "kill p2", lambda sh, r: "p2" not in sh.k.processes or pytest.fail()),
    ("kill", "blocked", "kill -INT %1", "EINTR"),
    ("kill", "blocked", "kill %1", "EINTR"),
    ("sleep", "fresh", "sleep 1.5", lambda sh, r: sh.k.clock.now == 1_500_000_000 or pytest.fail()),
    ("kernel", "fresh", "kernel", "kernel v6.15"),
    ("kernel", "fresh", "kernel v4.18", "kernel v4.18: rebooted"),
    ("kernel", "fresh", "kernel v6.14 +dax-break-layout-final",
     "kernel v6.14 +dax-break-layout-final +dax-busy-scan-unmapped +dax-break-layout: rebooted"),
    ("kernel", "fresh", "kernel -foll-pin-counting", "kernel v6.15 -foll-pin-counting: rebooted"),
    ("kernels", "fresh", "kernels", "Presets"),
    ("kernels", "fresh", "kernels v4.18", "xfs-break-dax-layouts"),
    ("kernels", "fresh", "kernels dax-refcount-0", "38607c62b34b"),
    ("reboot", "base", "reboot", lambda sh, r: (sh.k.mounts == {} and sh.k.pins == {})
     or pytest.fail()),
    ("jobs", "fresh", "jobs", "no jobs"),
    ("jobs", "blocked", "jobs", "[1] blocked: truncate /mnt/a 0"),
    ("wait", "blocked", "wait %1", "nothing running can wake it"),
    ("wait", "fresh", "wait", None),
    ("start", "file", "start truncate /mnt/a 0", "[1] truncate /mnt/a 0: stopped before its first step"),
    ("step", "stopped", "step %1", "vfs_statx(/mnt/a)"),
    ("step", "stopped", "step", "vfs_statx(/mnt/a)"),
    ("break", "fresh", "break do_truncate", "breakpoint at do_truncate"),
    ("unbreak", "fresh", "unbreak", None),
    ("continue", "stopped", "continue %1", _no_job),
    ("continue", "stopped", "continue", _no_job),
    ("why", "fresh", "why", "nothing is blocked"),
    ("why", "blocked", "why %1", "pinned by pin1"),
    ("dmesg", "fresh", "dmesg", "Linux version 6.15"),
    ("trace", "file", "trace 3", lambda sh, r: len(r.output) == 3 or pytest.fail()),
    ("trace", "file", "trace", None),
    ("check", "fresh", "check", "outcome: clean"),
    ("show", "base", "show pages", "struct page"),
    ("show", "base", "show ptes", "0x7f0000000000 PTE -> pfn"),
    ("show", "blocked", "show waiters", "truncate"),
    ("show", "base", "show inodes", "/mnt/a"),
    ("show", "base", "show blocks", "metadata"),
    ("help", "fresh", "help", "`help CMD` for one command."),
    ("help", "fresh", "help mmap", "usage: mmap"),
]
SUCCESS = [c for c in SUCCESS if not (c[0] in ("bind", "mount") and c[3] is None)]
SUCCESS += [
    ("bind", "unbound", "bind pfn0.1", _memmap("present")),
    ("mount", "formatted", "mount /dev/pmem0 /mnt -o dax",
     lambda sh, r: "/mnt" in sh.k.mounts or pytest.fail()),
    ("mount", "formatted", "mount /dev/pmem0 /mnt -o dax=inode",
     lambda sh, r: sh.k.mounts["/mnt"].sb.dax_mode == "inode" or pytest.fail()),
    ("mount", "formatted", "mount /dev/pmem0 /mnt", None),
    ("unbreak", "fresh", "unbreak do_truncate", None),
]
SETUPS["unbound"] = ["unbind pfn0.1"]
SETUPS["mapped-no-mf"] = ["kernel v4.18", *_FILE, "mmap /mnt/a 64K", f"touch {MAP} 4K --write"]
SUCCESS += [
    ("hwpoison", "mapped-no-mf", f"hwpoison {MAP}", "no memory_failure() support for fsdax pages"),
]
SETUPS["formatted"] = ["mkfs xfs /dev/pmem0"]


@pytest.mark.parametrize(("cmd", "setup", "line", "check"), SUCCESS,
                         ids=[f"{c[0]}: {c[2]}" for c in SUCCESS])
def test_success(shell, cmd, setup, line, check) -> None:
    sh = make(shell, setup)
    r = sh.s.execute(line)
    assert r.status in ("done", "stopped"), f"{line}: {r.status} {r.text()}"
    assert r.error == ""
    assert r.line == line
    out = text(r)
    if isinstance(check, str):
        assert check in out, out
    elif isinstance(check, re.Pattern):
        assert check.search(out), out
    elif check is not None:
        check(sh, r)


def test_every_command_has_a_success_case() -> None:
    missing = sorted(set(REGISTRY) - {c[0] for c in SUCCESS})
    assert missing == []


# -- error cases ------------------------------------------------------------------------------------
# (command, setup, line, pieces of the message, the word the caret is under or None)

ERRORS: list[tuple[str, str, str, tuple[str, ...], str | None]] = [
    ("ndctl", "fresh", "ndctl lst", ("unknown ndctl verb 'lst'", "did you mean 'list'"), "lst"),
    ("ndctl", "fresh", "ndctl", ("missing",), None),
    ("unbind", "fresh", "unbind pfn0.2", ("unknown pfn device 'pfn0.2'", "did you mean 'pfn0.1'"),
     "pfn0.2"),
    ("unbind", "unbound", "unbind pfn0.1", ("not bound", "bind pfn0.1"), None),
    ("bind", "fresh", "bind pfn0.1", ("already bound", "EBUSY"), None),
    ("bind", "fresh", "bind", ("missing DEV", "example: bind pfn0.1"), None),
    ("poison", "file", "poison 0x10", ("not in pfn0.1's data area",), None),
    ("hwpoison", "file", "hwpoison 0x7f0000000000", ("not inside a mapping of process sh",), "0x7f0000000000"),
    ("poison", "file", "poison pfn", ("'pfn' is not a number",), "pfn"),
    ("poison", "file", "poison 0x101210 --arr", ("unknown option --arr", "did you mean --ar?"),
     "--arr"),
    ("mkfs", "fresh", "mkfs btrfs /dev/pmem0", ("unknown filesystem type 'btrfs'",), "btrfs"),
    ("mkfs", "fresh", "mkfs xfs /dev/pmem1", ("unknown block device '/dev/pmem1'",
                                              "did you mean '/dev/pmem0'"), "/dev/pmem1"),
    ("mkfs", "fresh", "mkfs xfs", ("missing DEV",), None),
    ("mkfs", "fresh", "mkfs ext4 /dev/pmem0 -m rmapbt=1", ("-m takes rmapbt=0 or rmapbt=1",),
     "rmapbt=1"),
    ("mkfs", "fresh", "mkfs xfs /dev/pmem0 -m rmap", ("rmapbt=0 or rmapbt=1",), "rmap"),
    ("mkfs", "fresh", "mkfs xfs /dev/pmem0 -d su=3k", ("multiple of 4K",), "su=3k"),
    ("mkfs", "mounted", "mkfs ext4 /dev/pmem0", ("umount it first", "EBUSY"), None),
    ("mount", "fresh", "mount /dev/pmem0 /mnt", ("no filesystem", "mkfs xfs /dev/pmem0"), None),
    ("mount", "formatted", "mount /dev/pmem0 /nowhere", ("ENOENT",), None),
    ("mount", "formatted", "mount /dev/pmem0 /mnt -o daxx", ("unknown mount option 'daxx'",
                                                            "did you mean 'dax'"), "daxx"),
    ("mount", "formatted", "mount /dev/pmem0 /mnt -o", ("-o needs a value",), "-o"),
    ("mount", "mounted", "mount /dev/pmem0 /mnt", ("already", "EBUSY"), None),
    ("umount", "base", "umount /mnt", ("target is busy", "open or mapped", "EBUSY"), None),
    ("umount", "cwd", "umount /mnt", ("target is busy", "cwd of process sh", "cd /", "EBUSY"),
     None),
    ("umount", "fresh", "umount /mnt", ("not mounted",), None),
    ("mkdir", "file", "mkdir /mnt/a", ("EEXIST",), None),
    ("mkdir", "mounted", "mkdir /mnt/x/y", ("ENOENT",), None),
    ("cd", "file", "cd /mnt/nope", ("No such file or directory", "ENOENT"), None),
    ("cd", "file", "cd /mnt/a", ("ENOTDIR",), None),
    ("ls", "file", "ls /mnt/nope", ("ENOENT",), None),
    ("ls", "file", "ls /mnt --long", ("unknown option --long",), "--long"),
    ("create", "file", "create /mnt/a 4K", ("File exists", "EEXIST"), None),
    ("create", "mounted", "create /mnt/b 12Q", ("'12Q' is not a number",
                                                "decimal or 0x hex, optional K/M/G suffix"), "12Q"),
    ("create", "mounted", "create /mnt/b", ("missing SIZE", "usage: create FILE SIZE",
                                            "example: create /mnt/a 64K"), None),
    ("create", "mounted", "create /mnt/nodir/b 4K", ("ENOENT",), None),
    ("create", "fresh", "create /tmp/b 4K", ("EROFS", "mounted pmem filesystem"), None),
    ("write", "file", "write /mnt/a x 4K", ("'x' is not a number",), "x"),
    ("write", "file", "write /mnt/a 0", ("missing LEN",), None),
    ("write", "file", "write /mnt/nope 0 4K", ("ENOENT",), None),
    ("read", "file", "read /mnt/a 0 0", ("length must be at least 1",), "0"),
    ("read", "file", "read /mnt/nope 0 4K", ("ENOENT",), None),
    ("truncate", "file", "truncate /mnt/nope 0", ("ENOENT",), None),
    ("truncate", "file", "truncate /mnt/a 0 --forse", ("unknown option --forse",), "--forse"),
    ("truncate", "file", "truncate /mnt/a -1", ("unknown option -1",), "-1"),
    ("truncate", "file", "truncate /mnt 0", ("EISDIR",), None),
    ("punch", "file", "punch /mnt/a 0", ("missing LEN",), None),
    ("punch", "file", "punch /mnt/a 0 4K 8K", ("unexpected argument '8K'",), "8K"),
    ("punch", "file", "punch /mnt/nope 0 4K", ("ENOENT",), None),
    ("rm", "file", "rm /mnt/nope", ("ENOENT",), None),
    ("rm", "file", "rm", ("missing FILE",), None),
    ("lease", "file", "lease /mnt/nope", ("ENOENT",), None),
    ("lease", "file", "lease --return /mnt/a", ("no layout lease",), None),
    ("chattr", "file", "chattr +y /mnt/a", ("unknown flag '+y'", "+x, -x"), "+y"),
    ("chattr", "file", "chattr +x /mnt/nope", ("ENOENT",), None),
    ("stat", "file", "stat /mnt/nope", ("No such file or directory", "ENOENT"), None),
    ("stat", "file", "stat", ("missing FILE", "example: stat /mnt/a"), None),
    ("sync", "file", "sync now", ("unexpected argument 'now'", "usage: sync"), "now"),
    ("drop_caches", "file", "drop_caches 3", ("unexpected argument '3'",), "3"),
    ("mmap", "file", "mmap /mnt/a 64K 0x800", ("offset must be page aligned", "multiple of 4K"),
     "0x800"),
    ("mmap", "file", "mmap /mnt/a 64K 4097", ("page aligned", "e.g. 0x1000"), "4097"),
    ("mmap", "file", "mmap /mnt/a 4K --privat", ("unknown option --privat",
                                                 "did you mean --private?"), "--privat"),
    ("mmap", "file", "mmap /mnt/nope 4K", ("No such file or directory", "ENOENT"), None),
    ("mmap", "file", "mmap /mnt/a 0", ("length must be at least 1",), "0"),
    ("mmap", "file", "mmap /mnt/a", ("missing LEN",), None),
    ("mmap", "mounted", "mmap /mnt 4K", ("EISDIR",), None),
    ("munmap", "base", "munmap 0x7f0000001000", ("no mapping of process sh starts at 0x7f0000001000",
                                                 "mappings start at: 0x7f0000000000"),
     "0x7f0000001000"),
    ("munmap", "base", "munmap zz", ("'zz' is not a number",), "zz"),
    ("touch", "base", "touch 0x1234", ("is not inside a mapping of process sh", "show ptes"),
     "0x1234"),
    ("touch", "base", f"touch {MAP} 4K --wrte", ("unknown option --wrte", "did you mean --write?"),
     "--wrte"),
    ("touch", "base", f"touch {MAP} 128K", ("0x7f0000010000 is not inside a mapping",), MAP),
    ("pin", "base", "pin 0x1000", ("not inside a mapping",), "0x1000"),
    ("pin", "base", f"pin {MAP} --longterm", ("EOPNOTSUPP",), None),
    ("pin", "base", f"pin {MAP} --long", ("unknown option --long", "did you mean --longterm?"),
     "--long"),
    ("dma", "base", "dma pin9", ("unknown pin 'pin9'", "did you mean 'pin1'"), "pin9"),
    ("dma", "base", "dma", ("missing PIN",), None),
    ("unpin", "base", "unpin pin2", ("unknown pin 'pin2'", "pin1"), "pin2"),
    ("unpin", "base", "unpin pin1 --aloc", ("unknown option --aloc", "did you mean --alloc?"),
     "--aloc"),
    ("fsx", "file", "fsx /mnt/g 0", ("operation count must be at least 1",), "0"),
    ("fsx", "file", "fsx /mnt/g 10 --seed x", ("'x' is not a number",), "x"),
    ("fsx", "file", "fsx /mnt/g 10 --sed 1", ("unknown option --sed", "did you mean --seed?"),
     "--sed"),
    ("alloc", "file", "alloc x", ("'x' is not a number",), "x"),
    ("alloc", "file", "alloc", ("missing SIZE", "example: alloc 4K"), None),
    ("mem", "fresh", "mem high", ("unknown memory state 'high'", "low, normal"), "high"),
    ("proc", "fresh", 'proc "a b"', ("a process name is letters, digits, - and _",), '"a b"'),
    ("proc", "fresh", "proc", ("missing NAME",), None),
    ("exit", "base", "exit nobody", ("no process nobody",), "nobody"),
    ("kill", "base", "kill -FOO p2", ("unknown signal -FOO", "-KILL, -TERM, -INT or -BUS"), "-FOO"),
    ("kill", "base", "kill -TERM nobody", ("no process nobody", "p2", "sh"), "nobody"),
    ("kill", "base", "kill nobody", ("no process nobody",), "nobody"),
    ("kill", "base", "kill -INT %7", ("no job %7", "jobs"), "%7"),
    ("kill", "base", "kill", ("missing NAME|%N",), None),
    ("sleep", "fresh", "sleep abc", ("'abc' is not a number of seconds",), "abc"),
    ("sleep", "fresh", "sleep -1", ("unknown option -1",), "-1"),
    ("sleep", "fresh", "sleep", ("missing SECONDS",), None),
    ("kernel", "fresh", "kernel v9.9", ("unknown kernel preset 'v9.9'", "did you mean v5.9?",
                                        "`kernels` lists them"), "v9.9"),
    ("kernel", "fresh", "kernel +dax-refcount0", ("unknown behaviour 'dax-refcount0'",
                                                  "did you mean +dax-refcount-0?"),
     "+dax-refcount0"),
    ("kernel", "fresh", "kernel v6.15 v4.18", ("+NAME or -NAME",), None),
    ("kernels", "fresh", "kernels zzz", ("'zzz' is neither a preset nor a behaviour",), "zzz"),
    ("reboot", "fresh", "reboot now", ("unexpected argument 'now'",), "now"),
    ("jobs", "fresh", "jobs -l", ("unknown option -l",), "-l"),
    ("wait", "fresh", "wait %5", ("no job %5",), "%5"),
    ("wait", "fresh", "wait five", ("'five' is not a job", "%1"), "five"),
    ("start", "file", "start trunate /mnt/a 0", ("unknown command 'trunate'",
                                                 "did you mean 'truncate'"), None),
    ("start", "file", "start sleep 1", ("does not run as a kernel task",), "sleep"),
    ("start", "file", "start", ("missing CMD",), None),
    ("start", "file", "start truncate /mnt/a", ("missing SIZE",), None),
    ("step", "fresh", "step %3", ("no job %3",), "%3"),
    ("step", "fresh", "step", ("no jobs",), None),
    ("step", "stopped", "step %1 0", ("count must be at least 1",), "0"),
    ("break", "fresh", "break nofunc", ("unknown kernel function 'nofunc'",), "nofunc"),
    ("break", "fresh", "break do_truncat", ("did you mean 'do_truncate'",), "do_truncat"),
    ("break", "fresh", "break", ("missing FUNC",), None),
    ("unbreak", "fresh", "unbreak nofunc", ("unknown kernel function 'nofunc'",), "nofunc"),
    ("continue", "fresh", "continue %4", ("no job %4",), "%4"),
    ("why", "fresh", "why %9", ("no job %9",), "%9"),
    ("dmesg", "fresh", "dmesg -c", ("unknown option -c",), "-c"),
    ("trace", "fresh", "trace 0", ("count must be at least 1",), "0"),
    ("trace", "fresh", "trace many", ("'many' is not a number",), "many"),
    ("check", "fresh", "check all", ("unexpected argument 'all'",), "all"),
    ("show", "fresh", "show foo", ("unknown view 'foo'", "pages, ptes, waiters, inodes, blocks"),
     "foo"),
    ("show", "fresh", "show page", ("did you mean 'pages'",), "page"),
    ("show", "fresh", "show", ("missing WHAT", "example: show pages"), None),
    ("help", "fresh", "help trunate", ("unknown command 'trunate'", "did you mean 'truncate'"),
     "trunate"),
]
SETUPS["cwd"] = [*_MOUNTED, "cd /mnt"]


def caret_col(caret: str) -> tuple[int, int]:
    line, marks = caret.split("\n")
    assert line.startswith("  ") and marks.startswith("  ")
    col = marks.index("^")
    return col - 2, len(marks.strip())


@pytest.mark.parametrize(("cmd", "setup", "line", "pieces", "word"), ERRORS,
                         ids=[f"{c[0]}: {c[2]}" for c in ERRORS])
def test_error(shell, cmd, setup, line, pieces, word) -> None:
    sh = make(shell, setup)
    before = snapshot(sh.s)
    r = sh.s.execute(line)
    assert r.status == "error", f"{line}: {r.status} {r.text()}"
    msg = text(r)
    assert r.error.startswith(f"{cmd}:"), r.error
    for p in pieces:
        assert p in msg, msg
    if word is not None:
        assert r.caret, f"no caret under {word!r}: {msg}"
        col, width = caret_col(r.caret)
        assert r.caret.split("\n")[0][2:] == line
        assert line[col:col + width] == word, f"caret under {line[col:col + width]!r}, not {word!r}"
    assert snapshot(sh.s) == before, "a failed command changed the model"


def test_every_command_has_an_error_case() -> None:
    missing = sorted(set(REGISTRY) - {c[0] for c in ERRORS})
    assert missing == []


# -- registry-wide error classes --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_unknown_option_is_an_error_that_changes_nothing(shell, name) -> None:
    sh = make(shell, "blocked")
    before = snapshot(sh.s)
    line = f"{name} --bogus"
    r = sh.s.execute(line)
    assert r.status == "error"
    assert "--bogus" in r.error or "-bogus" in r.error
    col, width = caret_col(r.caret)
    assert line[col:col + width] == "--bogus"
    assert snapshot(sh.s) == before


@pytest.mark.parametrize("name", sorted(n for n, c in REGISTRY.items()
                                        if any(not p.optional for p in c.params)))
def test_missing_argument_says_usage_and_example(shell, name) -> None:
    sh = make(shell, "base")
    before = snapshot(sh.s)
    r = sh.s.execute(name)
    assert r.status == "error"
    assert "missing" in r.error
    c = REGISTRY[name]
    assert c.usage in r.error
    assert r.caret.split("\n")[1].index("^") - 2 == len(name)  # just past the line's end
    assert snapshot(sh.s) == before


@pytest.mark.parametrize("name", sorted(n for n, c in REGISTRY.items() if c.needs_process))
def test_commands_needing_a_process_fail_after_it_exited(shell, name) -> None:
    sh = make(shell, "file")
    sh("exit")
    before = snapshot(sh.s)
    r = sh.s.execute(REGISTRY[name].example)
    assert r.status == "error"
    assert "process sh has exited" in r.error and "`proc sh`" in r.error
    assert snapshot(sh.s) == before
    sh("proc sh")


# the file is still mapped at unbind (an unused inode would be evicted by the unbind itself)
OOPSED = [*_FILE, "mmap /mnt/a 64K", f"touch {MAP} 4K --write", "unbind pfn0.1", f"munmap {MAP}",
          "umount /mnt"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_after_an_oops_only_inspection_and_reboot_run(shell, name) -> None:
    sh = shell("v6.6")
    for line in OOPSED:
        sh.s.execute(line.strip())
    assert sh.k.crashed
    cmd = REGISTRY[name]
    r = sh.s.execute(cmd.example)
    if cmd.after_crash:
        assert r.status != "skipped"
    else:
        assert r.status == "skipped"
        assert "crashed" in r.error and "reboot" in r.error


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_help_for_every_command(shell, name) -> None:
    sh = shell()
    out = text(sh(f"help {name}"))
    cmd = REGISTRY[name]
    assert out.startswith(f"usage: {cmd.usage}")
    assert f"example: {cmd.example}" in out
    assert cmd.example.split()[0] == name
    assert cmd.usage in text(sh("help"))


# -- specific contract points -------------------------------------------------------------------------


def test_unknown_command_suggests_the_nearest(shell) -> None:
    sh = shell()
    before = snapshot(sh.s)
    r = sh.s.execute("trunate /mnt/a 0")
    assert r.status == "error"
    assert "unknown command 'trunate'; did you mean 'truncate'?" in r.error
    assert caret_col(r.caret) == (0, len("trunate"))
    assert snapshot(sh.s) == before
    r = sh.s.execute("xyzzy")
    assert r.status == "error" and "unknown command 'xyzzy'" in r.error
    assert "`help` lists commands" in r.error


def test_umount_ebusy_while_mapped_then_ok_after_munmap(shell) -> None:
    sh = make(shell, "file")
    sh("mmap /mnt/a 64K")
    r = sh("umount /mnt", "error")
    assert "EBUSY" in r.error
    sh(f"munmap {MAP}")
    sh("umount /mnt")


def test_umount_ebusy_while_another_process_has_its_cwd_inside(shell) -> None:
    sh = make(shell, "file")
    sh("proc p2")
    sh("cd /mnt")
    sh("proc sh")
    r = sh("umount /mnt", "error")
    assert "cwd of process p2" in text(r)
    sh("exit p2")
    sh("umount /mnt")


def test_umount_ebusy_while_a_blocked_syscall_holds_a_path(shell) -> None:
    sh = make(shell, "blocked")
    sh(f"munmap {MAP}")
    r = sh("umount /mnt", "error")
    assert "EBUSY" in r.error


def test_failing_kernel_calls_leak_no_reference(shell) -> None:
    """Errors returned from inside the kernel drop what they took: umount succeeds after."""
    sh = make(shell, "file")
    sh("mkdir /mnt/d")
    for line in ("mmap /mnt/d 4K", "truncate /mnt/d 0", "ls /mnt/a/b", "cd /mnt/a",
                 "read /mnt/zz 0 1", "chattr +x /mnt/zz", "stat /mnt/zz", "rm /mnt/d/zz",
                 "create /mnt/zz/q 4K", "create /mnt/a/q 4K", "mkdir /mnt/d", "create /mnt/a 1K",
                 "lease /mnt/zz", "write /mnt/zz 0 1", "punch /mnt/zz 0 1"):
        sh(line, "error")
    assert sh.k.mounts["/mnt"].mnt_count == 0
    sh("umount /mnt")


def test_errno_errors_name_the_errno(shell) -> None:
    """An error from the kernel says which errno, never a bare number."""
    sh = make(shell, "unbound")
    r = sh("unbind pfn0.1", "error")
    assert not re.search(r"error \(\d+\)", r.error), r.error
    assert "ENODEV" in r.error


def test_blocked_command_becomes_a_job_and_prints_one_line(shell) -> None:
    sh = make(shell, "base")
    r = sh("truncate /mnt/a 0", "blocked")
    assert r.output == [r.output[0]]
    assert re.fullmatch(r"\[1\] blocked: truncate /mnt/a 0 — wait_var_event\(page pfn 0x[0-9a-f]+\) "
                        r"in xfs_break_dax_layouts .*holds i_rwsem \(W\)", r.output[0]), r.output
    assert r.job == 1 and sh.s.last == "%1"
    r = sh("unpin pin1")
    assert "[1]+ Done  truncate /mnt/a 0" in r.notice_lines()


def test_mmap_addresses_are_deterministic(shell) -> None:
    sh = make(shell, "file")
    sh("create /mnt/big 4M")
    assert sh.text("mmap /mnt/a 64K") == "0x7f0000000000"
    assert sh.text("mmap /mnt/a 4K") == "0x7f0000010000"
    assert sh.text("mmap /mnt/big 2M") == "0x7f0000200000"  # 2 MiB-aligned
    assert sh.text("mmap /mnt/a 8K") == "0x7f0000011000"  # lowest free above the first
    sh("munmap 0x7f0000000000")
    assert sh.text("mmap /mnt/a 16K") == "0x7f0000000000"
    sh("proc p2")
    assert sh.text("mmap /mnt/a 4K") == "0x7f0000000000"  # per process


@pytest.mark.parametrize("sub", ["kernel v4.18", "sleep 1", "proc p9", "mem low", "reboot",
                                 "exit p2", "break do_truncate"])
def test_start_of_a_command_that_is_not_a_task_is_refused_and_changes_nothing(shell, sub) -> None:
    sh = make(shell, "base")
    before = snapshot(sh.s)
    r = sh.s.execute(f"start {sub}")
    assert r.status == "error"
    assert "does not run as a kernel task" in r.error
    assert snapshot(sh.s) == before, "`start` ran the command before refusing it"


@pytest.mark.parametrize(("line", "word"), [
    ("start truncate /mnt/a 0 --forse", "--forse"),
    ("start truncate /mnt/a x", "x"),
    ("start mmap /mnt/a 4K 0x10", "0x10"),
])
def test_start_puts_the_caret_under_the_wrong_word_of_the_sub_command(shell, line, word) -> None:
    sh = make(shell, "file")
    r = sh(line, "error")
    col, width = caret_col(r.caret)
    assert line[col:col + width] == word, f"caret under {line[col:col + width]!r}"


def test_kill_of_an_unknown_job_puts_the_caret_under_it(shell) -> None:
    sh = make(shell, "blocked")
    r = sh("kill -KILL %9", "error")
    col, width = caret_col(r.caret)
    assert "kill -KILL %9"[col:col + width] == "%9"


def test_a_failed_pin_does_not_use_up_a_pin_name(shell) -> None:
    sh = make(shell, "file")
    sh("mmap /mnt/a 64K")
    sh(f"touch {MAP} --write")
    sh(f"pin {MAP} --longterm", "error")  # EOPNOTSUPP on fsdax
    assert sh.k.pins == {}
    r = sh(f"pin {MAP}")
    assert r.value == "pin1", r.output


def test_umount_ebusy_while_a_file_is_open(shell) -> None:
    sh = make(shell, "file")
    sh("fsx /mnt/a 5 --seed 1")  # fsx holds /mnt/a open while it runs
    r = sh("umount /mnt", "error")
    assert "EBUSY" in r.error
    sh("sleep 1")  # fsx finishes and closes the file
    sh("umount /mnt")
