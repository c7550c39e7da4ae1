"""``daxsh export FILE --sh``: a scenario as a shell script for a real machine (to send back to
a mailing list), and the C helper (``daxsh-pin.c``) the script builds for what a shell cannot
do: keep a mapping and pin its pages.

The scenario is replayed on its kernel while it is written, so the script knows what the model
did: a step that blocked there runs in the background (``&``) in the script, as a shell user
would have to, and each mapping's model address is handed to the helper, which maps it at its
own address.  Lines no shell command expresses (``start``, ``step``, ``why``, ``poison``...)
become comments that say so.  ``daxsh export`` prints or writes them.
"""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path

from ..lang import BLOCKED, Session
from ..lang.lexer import LexError, parse_number, split
from .load import Scenario

HELPER = "daxsh-pin.c"
MEMORY = ("mmap", "munmap", "touch", "pin", "dma", "unpin")
NO_SHELL = {
    "start": "a task stopped before its first step needs a debugger",
    "step": "stepping a task through preemption points needs a debugger",
    "break": "a breakpoint in a kernel function needs kprobes or a debugger",
    "unbreak": "a breakpoint in a kernel function needs kprobes or a debugger",
    "continue": "stepping a task through preemption points needs a debugger",
    "why": "daxsh's own inspection; on a real machine: cat /proc/PID/stack",
    "show": "daxsh's own inspection of the model's state",
    "check": "daxsh's own detector of the outcome",
    "jobs": "daxsh's own job list",
    "poison": "memory_failure() needs a physical address: echo ADDR > "
              "/sys/devices/system/memory/hard_offline_page with the real pfn",
    "lease": "a pNFS layout lease needs an NFS client",
    "fsx": "run fsx from xfstests (ltp) against the file",
    "alloc": "kernel allocations under memory pressure need a test module",
    "mem": "memory pressure needs a cgroup limit or a memory hog",
    "kernel": "boot that kernel",
    "reboot": "reboot the machine",
    "kernels": "daxsh's own list of kernels",
    "help": "daxsh's own help",
    "trace": "on a real machine: trace-cmd record -p function_graph",
}


class _Writer:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.out: list[str] = []
        self.fds: dict[str, int] = {}  # process -> fd of its helper's FIFO
        self.proc = "sh"
        self.jobs: dict[int, int] = {}  # daxsh job -> shell job
        self.shell_jobs = 0
        self.helper = False

    def fd(self) -> int:
        if self.proc not in self.fds:
            n = 3 + len(self.fds)
            self.fds[self.proc] = n
            self.helper = True
            fifo = f"$DIR/{self.proc}.fifo"
            self.out += [f'mkfifo "{fifo}"', f'"$HELPER" < "{fifo}" &  # process {self.proc}',
                         f"PID_{_var(self.proc)}=$!", f'exec {n}> "{fifo}"']
        return self.fds[self.proc]

    def mem(self, text: str) -> None:
        self.out.append(f"echo {shlex.quote(text)} >&{self.fd()}")

    def line(self, text: str) -> None:
        """Translate ``text``, run it in the model, and append the shell form."""
        try:
            words = [w.text for w in split(text).words]
        except LexError:
            words = text.split()
        bg = text.rstrip().endswith("&")
        head = words[0] if words else ""
        before_jobs = set(self.s.jobs)
        r = self.s.execute(text)
        self.out.append(f"# {text}" + (f"   (the model: {r.status})" if r.status != "done" else ""))
        shell = self._shell(head, words[1:], r.value)
        blocked = r.status == BLOCKED or bg
        new_jobs = sorted(set(self.s.jobs) - before_jobs)
        if shell is None:
            self.out.append(f"#   not in a shell script: {NO_SHELL.get(head, 'no shell command does this')}")
            return
        if blocked and shell and not shell[0].startswith("echo ") and new_jobs:
            self.shell_jobs += 1
            for j in new_jobs:
                self.jobs[j] = self.shell_jobs
            shell[-1] += " &"
        self.out += shell

    def _shell(self, head: str, a: list[str], value: str) -> list[str] | None:
        q = shlex.quote
        opts = [x for x in a if x.startswith("-")]
        valued = {"-o", "-m", "-d", "-E", "--seed"}
        pos = [x for i, x in enumerate(a) if not x.startswith("-") and not (i and a[i - 1] in valued)]
        if head == "mkfs":
            fstype = next(x for x in pos if x in ("xfs", "ext4", "ext2"))
            rest = [x for x in a if x != fstype]
            force = "-f" if fstype == "xfs" else "-F"
            return [" ".join([f"mkfs.{fstype}", force, *rest])]
        if head == "mount":
            return [f"mkdir -p {q(pos[-1])}", " ".join(["mount", *a])]
        if head in ("umount", "rm", "sync", "ls", "cd", "stat"):
            return [" ".join([head, *(q(x) for x in a)])]
        if head == "mkdir":
            return [f"mkdir -p {q(pos[0])}"]
        if head == "ndctl":
            return ["ndctl list -N"]
        if head == "create":
            return [f"xfs_io -f -c {q(f'pwrite 0 {pos[1]}')} {q(pos[0])} > /dev/null"]
        if head == "write":
            return [f"xfs_io -c {q(f'pwrite {pos[1]} {pos[2]}')} {q(pos[0])} > /dev/null"]
        if head == "read":
            return [f"xfs_io -c {q(f'pread {pos[1]} {pos[2]}')} {q(pos[0])} > /dev/null"]
        if head == "truncate":
            return [f"truncate -s {pos[1]} {q(pos[0])}"]
        if head == "punch":
            return [f"fallocate -p -o {pos[1]} -l {pos[2]} {q(pos[0])}"]
        if head == "chattr":
            return [f"xfs_io -c {q('chattr ' + a[0])} {q(a[1])}"]
        if head == "drop_caches":
            return ["echo 3 > /proc/sys/vm/drop_caches"]
        if head in ("unbind", "bind"):
            return [f"echo {pos[0]} > /sys/bus/nd/drivers/nd_pmem/{head}"]
        if head == "dmesg":
            return ["dmesg | tail -n 50"]
        if head == "sleep":
            return [f"sleep {pos[0]}"]
        if head == "proc":
            self.proc = pos[0]
            return []
        if head == "exit":
            name = pos[0] if pos else self.proc
            if name in self.fds:
                return [f"echo exit >&{self.fds[name]}", f"exec {self.fds.pop(name)}>&-",
                        f"wait $PID_{_var(name)}"]
            return []
        if head == "kill":
            sig = next((x for x in opts), "")
            ref = pos[0]
            if ref.startswith("%") and ref[1:].isascii() and ref[1:].isdigit() and int(ref[1:]) in self.jobs:
                return [" ".join(["kill", *([sig] if sig else []), f"%{self.jobs[int(ref[1:])]}"])]
            if ref in self.fds:
                return [" ".join(["kill", *([sig] if sig else []), f"$PID_{_var(ref)}"])]
            return None
        if head == "wait":
            n = pos[0].lstrip("%") if pos else ""
            if n.isascii() and n.isdigit() and int(n) in self.jobs:
                return [f"wait %{self.jobs[int(n)]}"]
            return ["wait"] if not pos else None
        if head == "mmap":
            if not value:
                return ["# (the model refused the mmap: nothing to map)"]
            flags = (["sync"] if "--sync" in opts else []) + (["private"] if "--private" in opts else [])
            off = pos[2] if len(pos) > 2 else "0"
            self.mem(" ".join(["mmap", value.removeprefix("0x"), pos[0], str(parse_number(pos[1])),
                               str(parse_number(off)), *flags]))
            return []
        if head == "touch":
            length = str(parse_number(pos[1])) if len(pos) > 1 else "4096"
            self.mem(" ".join(["touch", pos[0].removeprefix("0x"), length,
                               *(["w"] if "--write" in opts else [])]))
            return []
        if head == "munmap":
            self.mem(f"munmap {pos[0].removeprefix('0x')}")
            return []
        if head == "pin":
            if not value:
                return ["# (the model refused the pin)"]
            length = str(parse_number(pos[1])) if len(pos) > 1 else "4096"
            self.mem(f"pin {value} {pos[0].removeprefix('0x')} {length}")
            return []
        if head in ("dma", "unpin"):
            self.mem(f"{head} {pos[0]}")
            return []
        return None


def _var(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def script(sc: Scenario, kernel: str) -> tuple[str, bool]:
    """The shell script, and whether it needs the helper."""
    with Session(kernel, pmem=sc.pmem, seed=sc.seed) as s:
        return _script(sc, kernel, _Writer(s))


def _script(sc: Scenario, kernel: str, w: _Writer) -> tuple[str, bool]:
    steps = [st.line for st in (sc.steps or sc.setup)]
    for text in steps:
        w.line(text)
    if sc.threads and not sc.steps:
        w.out.append("# [threads]: each thread runs as a background subshell; the interleaving "
                     "is the machine's (`daxsh explore` decides it over every interleaving)")
        for name, lines in sc.threads.items():
            w.out.append(f"(  # thread {name}")
            for st in lines:
                w.line(st.line)
            w.out.append(") &")
        w.out.append("wait")
    for name in list(w.fds):
        w.out += [f"echo exit >&{w.fds[name]}", f"exec {w.fds.pop(name)}>&-"]
    head = ["#!/bin/bash",
            f"# {sc.title or sc.path}: written by `daxsh export --sh` from {Path(sc.path).name}",
            f"# the model's kernel: {kernel}; needs ndctl, xfsprogs, a pmem namespace in fsdax "
            "mode (namespace0.0, pfn0.1, /dev/pmem0) and root",
            *(f"# {r}" for r in sc.refs),
            "set -u"]
    if w.helper:
        head += ['DIR=$(mktemp -d)', 'HELPER="$DIR/daxsh-pin"',
                 f'cc -O2 -Wall -o "$HELPER" "$(dirname "$0")/{HELPER}" || exit 1']
    return "\n".join(head + w.out + (['rm -rf "$DIR"'] if w.helper else [])) + "\n", w.helper


def helper_source() -> str:
    return resources.files(__package__).joinpath(HELPER).read_text(encoding="utf-8")
