"""Real shell reproducers in daxsh's language: the lines a bug report carries (``ndctl``,
``mkfs.xfs``, ``mount -o dax``, ``xfs_io -c ...``, ``echo pfn0.1 > .../unbind``, ``dd``...)
translated to daxsh command lines, one shell line at a time.

:class:`Translator` keeps what a shell script builds up (the background ``xfs_io`` processes as
jobs ``%1``, ``%2``; the address of each process's last mapping) and runs each daxsh line it
makes through a ``run`` function (a :class:`Session`'s ``execute``, or the shell's own), because
a later line needs what an earlier one returned (the address ``mmap`` chose).  A line it cannot
translate is named with the reason and runs nothing.  ``daxsh import`` and the shell's
paste path both use it; nothing here prints.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from ..kernel import views
from .lexer import LexError, parse_number, split
from .registry import ArgError, lookup
from .session import ERROR, Result, Session

SHELL_WORDS = ("ndctl", "mkfs.xfs", "mkfs.ext4", "mkfs.ext2", "xfs_io", "fallocate", "dd",
               "echo", "mkdir", "mount", "umount", "truncate", "rm", "sync", "kill", "wait",
               "sleep", "dmesg", "set", "cd", "ls", "stat", "cat")
IGNORED = ("set", "cat")  # shell housekeeping with no effect on the model ("set -e", "cat f")


@dataclass
class Line:
    """One shell line and what became of it."""

    shell: str
    lineno: int
    daxsh: list[str] = field(default_factory=list)  # the lines run
    results: list[Result] = field(default_factory=list)
    why: str = ""  # why it was not translated ("" when it was)
    note: str = ""  # what the translation assumes
    pmem: int | None = None  # ndctl create-namespace -s SIZE

    @property
    def ok(self) -> bool:
        return not self.why


class Untranslatable(ValueError):
    pass


def is_daxsh(s: Session, text: str) -> bool:
    """Is ``text`` a well-formed daxsh line (it parses; nothing runs)?"""
    try:
        line = split(text)
        if not line.words:
            return True
        cmd = lookup(line.words[0].text)
        cmd.parse(s, line.words)
    except (LexError, ArgError):
        return False
    return True


def looks_like_shell(text: str) -> bool:
    """Does ``text`` start like a line of a shell reproducer (``set``, ``cat``, which change
    nothing, are left to the caller's own error)?"""
    words = text.strip().split()
    return bool(words) and words[0] not in IGNORED and \
        (words[0] in SHELL_WORDS or words[0].startswith("mkfs."))


class Translator:
    """``run`` runs a daxsh line (and shows it, at the prompt); ``session`` gives the session it
    runs in, for what the translation asks without running anything (does a file exist)."""

    def __init__(self, run: Callable[[str], Result], session: Callable[[], Session]) -> None:
        self.run = run
        self.session = session
        self.jobs: dict[int, str] = {}  # shell job number -> process name
        self.next_job = 1
        self.maps: dict[str, tuple[int, int, int]] = {}  # process -> (addr, file off, len)
        self.procs = 0

    # -- the front door -----------------------------------------------------------------------
    def claims(self, text: str, s: Session) -> bool:
        """Is ``kill %N``/``wait`` about a background job of a pasted shell line (the shell's
        job numbers, not the session's)?"""
        w = text.split()
        if not w or w[0] not in ("kill", "wait") or not self.jobs:
            return False
        refs = [x for x in w[1:] if x.startswith("%")]
        if refs:
            return all(x[1:].isascii() and x[1:].isdigit() and int(x[1:]) in self.jobs for x in refs)
        return w[0] == "wait" and len(w) == 1 and not any(not j.task.done for j in s.jobs.values())

    def translate(self, text: str, lineno: int = 0) -> Line:
        out = Line(text, lineno)
        body = text.split(" #")[0].strip() if not text.lstrip().startswith("#") else ""
        if not body or body.startswith("#!"):
            return out
        try:
            words = shlex.split(body)
        except ValueError as e:
            out.why = f"not a shell line: {e}"
            return out
        background = False
        if words and words[-1] == "&":
            background, words = True, words[:-1]
        elif words and words[-1].endswith("&") and not words[-1].endswith("&&"):
            background, words = True, [*words[:-1], words[-1][:-1]]
        if any(w in ("&&", "||", ";", "|") for w in words) and words[:1] != ["dmesg"]:
            out.why = "one command per line: split && || ; and pipes into lines"
            return out
        try:
            self._dispatch(out, words, background)
        except Untranslatable as e:
            out.why = str(e)
        return out

    def _emit(self, out: Line, line: str) -> Result:
        r = self.run(line)
        out.daxsh.append(line)
        out.results.append(r)
        return r

    def _dispatch(self, out: Line, w: list[str], background: bool) -> None:
        cmd = w[0]
        if cmd == "xfs_io":
            return self._xfs_io(out, w[1:], background)
        if background:
            raise Untranslatable(f"`{cmd} &`: only xfs_io runs in the background here")
        if cmd == "ndctl":
            return self._ndctl(out, w[1:])
        if cmd.startswith("mkfs."):
            return self._mkfs(out, cmd[5:], w[1:])
        fn = getattr(self, f"_{cmd}", None)
        if cmd in IGNORED:
            out.note = "no effect on the model"
            return None
        if fn is None:
            raise Untranslatable(f"`{cmd}` is not a command daxsh models (supported: "
                                 f"{', '.join(SHELL_WORDS)})")
        fn(out, w[1:])
        return None

    # -- storage setup ------------------------------------------------------------------------
    def _ndctl(self, out: Line, a: list[str]) -> None:
        if not a or a[0] not in ("create-namespace", "list"):
            raise Untranslatable("ndctl: only `create-namespace ... -m fsdax` and `list`")
        if a[0] == "list":
            self._emit(out, "ndctl list")
            return
        mode = _opt(a, "-m", "--mode")
        if mode not in (None, "fsdax", "memory"):
            raise Untranslatable(f"ndctl create-namespace -m {mode}: the model has an fsdax "
                                 "namespace only (devdax and sector modes are not modelled)")
        size = _opt(a, "-s", "--size")
        if size is not None:
            try:
                out.pmem = parse_number(size.upper().rstrip("B") if size[-1:] in "bB" else size)
            except ValueError as e:
                raise Untranslatable(f"ndctl -s {size}: {e}") from None
        out.note = ("the machine boots with namespace0.0 in fsdax mode (pfn0.1, /dev/pmem0)"
                    + (f"; its size is the scenario's [machine] pmem = {size}" if size else ""))
        self._emit(out, "ndctl list")

    def _mkfs(self, out: Line, fstype: str, a: list[str]) -> None:
        if fstype not in ("xfs", "ext4", "ext2"):
            raise Untranslatable(f"mkfs.{fstype}: the model has xfs, ext4 and ext2")
        opts: list[str] = []
        dev = None
        i = 0
        while i < len(a):
            x = a[i]
            if x in ("-f", "-F", "-q"):
                i += 1
                continue
            if x == "-m" and fstype == "xfs" and i + 1 < len(a):
                for kv in a[i + 1].split(","):
                    if kv.startswith("rmapbt="):
                        opts += ["-m", kv]
                    elif kv.split("=")[0] in ("reflink", "crc", "finobt"):
                        out.note = f"-m {kv}: not modelled (no effect here)"
                    else:
                        raise Untranslatable(f"mkfs.xfs -m {kv}: not modelled (rmapbt= is)")
                i += 2
                continue
            if x == "-d" and fstype == "xfs" and i + 1 < len(a):
                opts += ["-d", a[i + 1]]
                i += 2
                continue
            if x == "-E" and fstype != "xfs" and i + 1 < len(a):
                opts += ["-E", a[i + 1]]
                i += 2
                continue
            if x == "-b" and i + 1 < len(a):
                if parse_number(a[i + 1].upper().replace("SIZE=", "")) != 4096:
                    raise Untranslatable(f"mkfs -b {a[i + 1]}: the model's blocks are 4096 bytes")
                i += 2
                continue
            if x.startswith("-"):
                raise Untranslatable(f"mkfs.{fstype} {x}: option not modelled")
            dev = x
            i += 1
        if dev is None:
            raise Untranslatable(f"mkfs.{fstype}: no device")
        self._emit(out, " ".join(["mkfs", *opts, fstype, dev]))

    def _mkdir(self, out: Line, a: list[str]) -> None:
        for d in [x for x in a if not x.startswith("-")]:
            self._emit(out, f"mkdir {d}")

    def _mount(self, out: Line, a: list[str]) -> None:
        opts = _opt(a, "-o") or ""
        rest = _positional(a, ("-o", "-t"))
        if len(rest) != 2:
            raise Untranslatable("mount: write mount [-t TYPE] -o dax DEV DIR")
        keep = [o for o in opts.split(",") if o.startswith("dax")]
        self._emit(out, " ".join(["mount", *(["-o", ",".join(keep)] if keep else []), *rest]))

    def _umount(self, out: Line, a: list[str]) -> None:
        for d in _positional(a, ()):
            self._emit(out, f"umount {d}")

    # -- files --------------------------------------------------------------------------------
    def _truncate(self, out: Line, a: list[str]) -> None:
        size = _opt(a, "-s", "--size")
        if size is None:
            raise Untranslatable("truncate: write truncate -s SIZE FILE")
        for f in _positional(a, ("-s", "--size")):
            self._emit(out, f"truncate {f} {size}")

    def _fallocate(self, out: Line, a: list[str]) -> None:
        if not ({"-p", "--punch-hole"} & set(a)):
            raise Untranslatable("fallocate: only -p (punch a hole) is modelled")
        off = _opt(a, "-o", "--offset") or "0"
        length = _opt(a, "-l", "--length")
        files = _positional(a, ("-o", "--offset", "-l", "--length"))
        if length is None or len(files) != 1:
            raise Untranslatable("fallocate: write fallocate -p -o OFF -l LEN FILE")
        self._emit(out, f"punch {files[0]} {off} {length}")

    def _dd(self, out: Line, a: list[str]) -> None:
        kv = dict(x.split("=", 1) for x in a if "=" in x)
        bs = parse_number(kv.get("bs", "512").upper())
        count = kv.get("count")
        if count is None:
            raise Untranslatable("dd: count= is needed (the model's files are finite)")
        n = int(count) * bs
        if "of" in kv and kv["of"].startswith("/") and not kv["of"].startswith("/dev/"):
            f = kv["of"]
            off = int(kv.get("seek", "0")) * bs
            if "notrunc" not in kv.get("conv", ""):
                self._emit(out, f"truncate {f} {off}") if self._exists(f) else \
                    self._emit(out, f"create {f} 0")
            elif not self._exists(f):
                self._emit(out, f"create {f} 0")
            self._emit(out, f"write {f} {off} {n}")
            if "direct" not in kv.get("oflag", ""):
                out.note = "a DAX file's writes go to pmem directly, with or without oflag=direct"
            return
        if "if" in kv and kv["if"].startswith("/") and not kv["if"].startswith("/dev/"):
            off = int(kv.get("skip", "0")) * bs
            self._emit(out, f"read {kv['if']} {off} {n}")
            return
        raise Untranslatable("dd: one side must be a file on the DAX filesystem")

    def _exists(self, path: str) -> bool:
        """Is ``path`` a file the model knows (cached inodes; nothing runs)?"""
        s = self.session()
        return s.abspath(path) in {i["path"] for i in views.inodes(s.k)}

    def _rm(self, out: Line, a: list[str]) -> None:
        for f in _positional(a, ()):
            self._emit(out, f"rm {f}")

    def _sync(self, out: Line, a: list[str]) -> None:
        self._emit(out, "sync")

    def _stat(self, out: Line, a: list[str]) -> None:
        for f in _positional(a, ()):
            self._emit(out, f"stat {f}")

    def _ls(self, out: Line, a: list[str]) -> None:
        self._emit(out, " ".join(["ls", *_positional(a, ())]))

    def _cd(self, out: Line, a: list[str]) -> None:
        self._emit(out, " ".join(["cd", *a[:1]]))

    def _echo(self, out: Line, a: list[str]) -> None:
        if len(a) >= 2 and a[-2] == ">":
            value, target = " ".join(a[:-2]), a[-1]
        elif len(a) == 1 and ">" in a[0]:
            value, target = (x.strip() for x in a[0].split(">", 1))
        else:
            raise Untranslatable("echo: only `echo VALUE > /sys/... or /proc/...` does something "
                                 "to the model")
        if target == "/proc/sys/vm/drop_caches":
            if value not in ("2", "3"):
                raise Untranslatable(f"echo {value} > drop_caches: only 2 and 3 evict inodes "
                                     "(1 drops the page cache, which DAX files do not use)")
            self._emit(out, "drop_caches")
            return
        for what in ("unbind", "bind"):
            if target.startswith("/sys/bus/nd/drivers/") and target.endswith("/" + what):
                self._emit(out, f"{what} {value}")
                return
        raise Untranslatable(f"echo > {target}: not a file the model has (drop_caches, "
                             "/sys/bus/nd/drivers/*/unbind and bind are)")

    def _dmesg(self, out: Line, a: list[str]) -> None:
        self._emit(out, "dmesg")

    def _sleep(self, out: Line, a: list[str]) -> None:
        if not a:
            raise Untranslatable("sleep: how long?")
        self._emit(out, f"sleep {a[0].rstrip('s')}")

    def _kill(self, out: Line, a: list[str]) -> None:
        sig = next((x for x in a if x.startswith("-")), None)
        for ref in _positional(a, ()):
            name = self._job(ref)
            self._emit(out, " ".join(["kill", *([sig] if sig else []), name]))
            self.maps.pop(name, None)

    def _wait(self, out: Line, a: list[str]) -> None:
        refs = _positional(a, ()) or [f"%{n}" for n in sorted(self.jobs)]
        for ref in refs:
            name = self._job(ref)
            self._emit(out, f"exit {name}")
            self.maps.pop(name, None)
        out.note = ("a waited-for xfs_io ends its commands and exits (its mappings go)" if refs
                    else "no background job is left to wait for")

    def _job(self, ref: str) -> str:
        n = ref.lstrip("%")
        if not (n.isascii() and n.isdigit()) or int(n) not in self.jobs:
            raise Untranslatable(f"{ref}: no such background job (jobs: "
                                 f"{', '.join(f'%{j}' for j in self.jobs) or 'none'})")
        return self.jobs.pop(int(n))

    # -- xfs_io -------------------------------------------------------------------------------
    def _xfs_io(self, out: Line, a: list[str], background: bool) -> None:
        cmds: list[str] = []
        files: list[str] = []
        create = False
        i = 0
        while i < len(a):
            if a[i] == "-c" and i + 1 < len(a):
                cmds.append(a[i + 1])
                i += 2
            elif a[i] == "-f":
                create = True
                i += 1
            elif a[i] in ("-t", "-d", "-s", "-x", "-r"):
                i += 1  # open flags that change nothing on a DAX file here (or read-only)
            elif a[i].startswith("-"):
                raise Untranslatable(f"xfs_io {a[i]}: option not modelled")
            else:
                files.append(a[i])
                i += 1
        if len(files) != 1:
            raise Untranslatable("xfs_io: name one file")
        f = files[0]
        self.procs += 1
        name = f"xfs_io-{self.procs}"
        self._emit(out, f"proc {name}")
        if not self._exists(f):
            if not create:
                raise Untranslatable(f"xfs_io {f}: no such file (add -f to create it)")
            self._emit(out, f"create {f} 0")
        held = False
        for c in cmds:
            held = self._xfs_io_cmd(out, name, f, c) or held
        self._emit(out, "proc sh")
        if background:
            job = self.next_job
            self.next_job += 1
            self.jobs[job] = name
            out.note = (f"shell job %{job} is process {name}" +
                        ("; it keeps its mappings until `kill %N` or `wait`" if held else ""))
            if not held:
                self._emit(out, f"exit {name}")
                self.jobs.pop(job)
        else:
            self._emit(out, f"exit {name}")
            self.maps.pop(name, None)

    def _xfs_io_cmd(self, out: Line, proc: str, f: str, c: str) -> bool:
        """Translate one ``-c`` command; True for ``sleep`` (the process stays)."""
        w = c.split()
        if not w:
            return False
        op, args = w[0], [x for x in w[1:] if not x.startswith("-")]
        flags = [x for x in w[1:] if x.startswith("-")]
        if op == "pwrite":
            if "-S" in flags or "-b" in flags:  # their values are positional-looking
                args = _strip_valued(w[1:], ("-S", "-b"))
            off, length = _two(op, args)
            self._emit(out, f"write {f} {off} {length}")
        elif op == "pread":
            args = _strip_valued(w[1:], ("-b",))
            off, length = _two(op, args)
            self._emit(out, f"read {f} {off} {length}")
        elif op in ("mmap", "mm"):
            args = _strip_valued(w[1:], ("-s",))
            off, length = _two(op, args)
            extra = ["--sync"] if "-S" in flags else []
            r = self._emit(out, " ".join(["mmap", *extra, f, length, *([off] if off != "0" else [])]))
            if r.status == ERROR or not r.value:
                raise Untranslatable(f"-c '{c}': {r.error or 'no address'}")
            self.maps[proc] = (int(r.value, 16), parse_number(off), parse_number(length))
        elif op in ("mwrite", "mw", "mread", "mr"):
            if proc not in self.maps:
                raise Untranslatable(f"-c '{c}': no mapping (an `mmap` -c comes first)")
            base, moff, mlen = self.maps[proc]
            args = _strip_valued(w[1:], ("-S",))
            off, length = _two(op, args) if args else (str(moff), str(mlen))
            addr = base + parse_number(off) - moff
            write = ["--write"] if op in ("mwrite", "mw") else []
            self._emit(out, " ".join(["touch", *write, hex(addr), length]))
        elif op in ("munmap", "mu"):
            if proc in self.maps:
                self._emit(out, f"munmap {hex(self.maps.pop(proc)[0])}")
        elif op == "fpunch":
            off, length = _two(op, args)
            self._emit(out, f"punch {f} {off} {length}")
        elif op == "truncate":
            if len(args) != 1:
                raise Untranslatable(f"-c '{c}': truncate SIZE")
            self._emit(out, f"truncate {f} {args[0]}")
        elif op in ("fsync", "fdatasync", "msync", "ms"):
            self._emit(out, "sync")
        elif op == "chattr" and args[:1] in (["+x"], ["-x"]):
            self._emit(out, f"chattr {args[0]} {f}")
        elif op == "stat":
            self._emit(out, f"stat {f}")
        elif op == "sleep":
            return True
        else:
            raise Untranslatable(f"-c '{c}': xfs_io command not modelled (pwrite, pread, mmap, "
                                 "mwrite, mread, munmap, fpunch, truncate, fsync, chattr, stat, "
                                 "sleep are)")
        return False


def _opt(a: list[str], *names: str) -> str | None:
    for i, x in enumerate(a):
        for n in names:
            if x == n and i + 1 < len(a):
                return a[i + 1]
            if n.startswith("--") and x.startswith(n + "="):
                return x.split("=", 1)[1]
            if not n.startswith("--") and x.startswith(n) and len(x) > len(n) and n != "-":
                return x[len(n):]
    return None


def _positional(a: list[str], valued: tuple[str, ...]) -> list[str]:
    out = []
    skip = False
    for x in a:
        if skip:
            skip = False
            continue
        if x in valued:
            skip = True
            continue
        if x.startswith("-"):
            continue
        out.append(x)
    return out


def _strip_valued(w: list[str], valued: tuple[str, ...]) -> list[str]:
    return _positional(w, valued)


def _two(op: str, args: list[str]) -> tuple[str, str]:
    if len(args) != 2:
        raise Untranslatable(f"{op}: OFFSET LENGTH")
    return args[0], args[1]
