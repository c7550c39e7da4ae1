"""Translate a scenario's steps into the guest helper's step lines, or refuse with the reason.

A real kernel cannot be scheduled step by step: the steps run in order, a trailing ``&`` starts a
separate task, a step that sleeps in the kernel becomes a job (as in the model), and the pin's
held nbd reply orders the device's write (``dma``) after whatever the steps do in between.
``$_`` is the model's value of the step before (an ``mmap`` address or a pin's name); mappings
are placed at the model's addresses (``MAP_FIXED_NOREPLACE``), so addresses in a scenario mean
the same pages in both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..lang.lexer import LexError, parse_number, split
from ..scenario import RunReport, Scenario
from .schedule import ScheduleError, Serial, has_schedule, serialise

MOUNT_DEV = "/dev/pmem0"

# commands the model has and a real kernel cannot do the same way: the reason
REFUSED = {
    "show": "shows the model's internal state (page tables, DAX entries); a real kernel has no such view",
    "trace": "prints the model's trace; a real run records the kernel log instead (`dmesg`)",
    "why": "walks the model's waits-for graph; a real run reports each blocked task's kernel stack",
    "kernels": "lists the model's presets and behaviours",
    "kernel": "changes the kernel; a real run boots one kernel once (`--kernel`)",
    "reboot": "reboots the model's machine; a real run boots once",
    "break": "stops a task at a kernel function; a real kernel cannot be stopped there",
    "unbreak": "removes a breakpoint; a real kernel cannot be stopped at a kernel function",
    "alloc": "forces direct reclaim from a kernel allocation; a real kernel cannot be made to reclaim "
             "at a chosen point",
    "mem": "makes the model's memory low; a real kernel cannot be made to reclaim at a chosen point",
    "lease": "needs a pNFS client and server with a layout recall; the guest has neither",
    "fsx": "the model's fsx is its own seeded operation stream; the guest has no fsx that follows it",
    "help": "the model's help",
    "ls": "lists the model's directory; use the outcome and `read` on a real kernel",
    "stat": "prints the model's inode state (i_count, S_DAX as modelled)",
    "cd": "changes the model's working directory; write absolute paths for a real run",
    "ndctl": "the guest's namespace is made at boot; `ndctl list` of the model has no real counterpart",
    "poison": "is a hardware memory error at a pfn (the media goes bad, the nfit driver records it in "
              "badblocks); a real run can only inject one in software, which leaves the memory good: "
              "map the page and write `hwpoison ADDR` (madvise(MADV_HWPOISON) by the process that maps it)",
}
SUPPORTED = ("mkfs", "mount", "umount", "proc", "exit", "kill", "create", "write", "read", "truncate",
             "punch", "rm", "mkdir", "chattr", "sync", "drop_caches", "mmap", "munmap", "touch", "pin",
             "dma", "unpin", "unbind", "bind", "hwpoison", "sleep", "jobs", "wait", "dmesg", "check")
MAX_SLEEP = 20


class PlanError(ValueError):
    """A scenario that cannot run on a real kernel: ``daxsh real`` exits 2 with this."""


@dataclass
class Plan:
    lines: list[str] = field(default_factory=list)   # guest step lines
    numbers: list[int] = field(default_factory=list)  # the scenario step of each
    serial: Serial | None = None  # a schedule of `start`/`step` lines, as run in order


def _hex_of(output: list[str]) -> str | None:
    for line in output:
        m = re.search(r"\b0x[0-9a-f]+\b", line)
        if m:
            return m.group(0)
    return None


def _pin_of(output: list[str]) -> str | None:
    for line in output:
        m = re.match(r"\s*(pin\d+):", line)
        if m:
            return m.group(1)
    return None


def refusal(sc: Scenario) -> str | None:
    """Why this scenario as a whole cannot run on a real kernel, or None."""
    if sc.threads and not sc.steps:
        return ("it is a [threads] race: it says what each thread does, not in which order, and its "
                "verdict covers every interleaving, while a real kernel runs one order of its own "
                "choosing.  Run one schedule instead: `daxsh explore FILE --out CX.toml` writes a "
                "counterexample (`start`/`step` lines), which runs on a real kernel when each "
                "thread's command runs until it ends or sleeps in the kernel before another step "
                "runs; or write the order as steps, with `&` jobs and `pin`/`dma` for the device's "
                "timing")
    return None


def make_plan(sc: Scenario, model: RunReport, preset: str) -> Plan:
    """The guest's lines for ``sc``; ``model`` is the model's run of it on ``preset`` (for ``$_``
    and mmap addresses)."""
    why = refusal(sc)
    if why:
        raise PlanError(f"{sc.path}: cannot run on a real kernel: {why}")
    plan = Plan()
    if has_schedule(sc):
        try:
            plan.serial = serialise(sc, preset)
        except ScheduleError as e:
            raise PlanError(f"{sc.path}: the schedule cannot run on a real kernel: {e}") from None
    serial = plan.serial
    fstype = ""
    last = ""
    by_number = {s.number: s for s in model.steps}
    guest_job: dict[int, int] = {}  # a started command that slept -> the helper's job number
    for st in sc.steps:
        where = f"{sc.path}:{st.lineno}: step {st.number} `{st.line}`"
        text = st.line
        if serial is not None:
            if st.number in serial.waits:  # a woken command ends: the next step comes after it
                plan.lines.append(f"{st.number} 0 wait %{guest_job[serial.waits[st.number]]}")
                plan.numbers.append(st.number)
            if st.number in serial.skipped:
                continue  # the started command running
            text = serial.commands.get(st.number, text)
        if "$_" in text:
            if not last:
                raise PlanError(f"{where}: a real run takes `$_` only right after an mmap or a pin; "
                                "write the value itself")
            text = text.replace("$_", last)
        try:
            line = split(text)
        except LexError as e:
            raise PlanError(f"{where}: {e}") from None
        if not line.words:
            continue
        words = [w.text for w in line.words]
        cmd, args = words[0], words[1:]
        if cmd in REFUSED:
            raise PlanError(f"{where}: `{cmd}` cannot run on a real kernel: {REFUSED[cmd]}")
        if cmd not in SUPPORTED:
            raise PlanError(f"{where}: `{cmd}` is not a daxsh command that runs on a real kernel "
                            f"(these do: {', '.join(SUPPORTED)})")
        try:
            guest, fstype = _translate(cmd, args, fstype)
        except (ValueError, IndexError) as e:
            raise PlanError(f"{where}: {e}") from None
        # a started command's value is in the output of the step its job ended at
        rep = by_number.get(serial.closed_at.get(st.number, st.number) if serial else st.number)
        last = ""
        if rep is not None:
            if cmd == "mmap":
                last = _hex_of(rep.output) or last
                if last:
                    guest = guest.replace("@ADDR", str(int(last, 16)))
            elif cmd == "pin":
                last = _pin_of(rep.output) or last
        if "@ADDR" in guest:
            raise PlanError(f"{where}: the model did not map it (status {rep.status if rep else '?'}), "
                            "so there is no address to place the real mapping at")
        plan.lines.append(f"{st.number} {1 if line.background else 0} {guest}")
        plan.numbers.append(st.number)
        # the helper numbers its jobs in order: a background step, or a step that sleeps
        blocked = serial.status[st.number][0] == "blocked" if serial and st.number in serial.status \
            else (rep is not None and rep.status == "blocked")
        if line.background or blocked:
            guest_job[st.number] = len(guest_job) + 1
    return plan


def _path(p: str) -> str:
    if not p.startswith("/") or any(c.isspace() for c in p) or len(p) > 200:
        raise ValueError(f"'{p}': a real run needs an absolute path without blanks")
    return p


def _num(s: str) -> int:
    return parse_number(s)


FLAG_REFUSED = {
    "--longterm": "a real pin is an O_DIRECT read (FOLL_PIN, not FOLL_LONGTERM)",
    "--sync": "MAP_SYNC mappings are not done by the guest helper",
    "--alloc": "the model's unpin-with-allocation (reclaim at a chosen point) has no real counterpart",
}


def _flags(args: list[str], known: tuple[str, ...]) -> tuple[set[str], list[str]]:
    flags = {a for a in args if a.startswith("--")}
    for f in sorted(flags):
        if f not in known:
            raise ValueError(f"{f} cannot run on a real kernel: "
                             + FLAG_REFUSED.get(f, "daxsh real does not do it"))
    return flags, [a for a in args if not a.startswith("--")]


def _translate(cmd: str, args: list[str], fstype: str) -> tuple[str, str]:
    if cmd == "mkfs":
        opts: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            if args[i] in ("-m", "-d", "-E"):
                opts += [args[i], args[i + 1]]
                i += 2
            else:
                rest.append(args[i])
                i += 1
        if len(rest) != 2 or rest[0] not in ("xfs", "ext4", "ext2") or rest[1] != MOUNT_DEV:
            raise ValueError(f"mkfs TYPE {MOUNT_DEV} with TYPE xfs, ext4 or ext2")
        return " ".join(["mkfs", rest[0], *opts]), rest[0]
    if cmd == "mount":
        opts = []
        rest = []
        i = 0
        while i < len(args):
            if args[i] == "-o":
                opts.append(args[i + 1])
                i += 2
            else:
                rest.append(args[i])
                i += 1
        if len(rest) != 2 or rest[0] != MOUNT_DEV:
            raise ValueError(f"mount [-o OPT] {MOUNT_DEV} DIR")
        if not fstype:
            raise ValueError("mount needs a mkfs step before it: the real NVDIMM starts empty")
        return f"mount {_path(rest[1])} {fstype} {','.join(opts) or '-'}", fstype
    if cmd in ("umount", "rm", "mkdir"):
        return f"{cmd} {_path(args[0])}", fstype
    if cmd == "proc":
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", args[0]):
            raise ValueError("a process name of up to 15 letters, digits, '_', '.', '-'")
        return f"proc {args[0]}", fstype
    if cmd == "exit":
        return f"exit {args[0]}" if args else "exit", fstype
    if cmd == "kill":
        sig = "TERM"
        if args and args[0].startswith("-"):
            sig = args[0][1:].upper().removeprefix("SIG")
            args = args[1:]
        return f"kill {sig} {args[0]}", fstype
    if cmd == "create":
        return f"create {_path(args[0])} {_num(args[1])}", fstype
    if cmd in ("write", "read", "punch"):
        return f"{cmd} {_path(args[0])} {_num(args[1])} {_num(args[2])}", fstype
    if cmd == "truncate":
        return f"truncate {_path(args[0])} {_num(args[1])}", fstype
    if cmd == "chattr":
        if args[0] not in ("+x", "-x"):
            raise ValueError("chattr +x|-x FILE")
        return f"chattr {args[0]} {_path(args[1])}", fstype
    if cmd in ("sync", "drop_caches", "jobs", "dmesg", "check"):
        return cmd, fstype
    if cmd == "mmap":
        flags, rest = _flags(args, ("--private",))
        off = _num(rest[2]) if len(rest) > 2 else 0
        return (f"mmap {_path(rest[0])} {_num(rest[1])} {off} @ADDR "
                f"{1 if '--private' in flags else 0}"), fstype
    if cmd == "munmap":
        return f"munmap {_num(args[0])}", fstype
    if cmd == "touch":
        flags, rest = _flags(args, ("--write",))
        ln = _num(rest[1]) if len(rest) > 1 else 1
        return f"touch {_num(rest[0])} {ln} {1 if '--write' in flags else 0}", fstype
    if cmd == "pin":
        _flags(args, ())
        ln = _num(args[1]) if len(args) > 1 else 4096
        if ln > 128 << 10:
            raise ValueError("a real pin is one O_DIRECT read of at most 128K")
        return f"pin {_num(args[0])} {ln}", fstype
    if cmd in ("dma", "unpin"):
        _flags(args, ())
        m = re.fullmatch(r"pin(\d+)", args[0])
        if not m:
            raise ValueError(f"{cmd} pinN")
        return f"{cmd} {m.group(1)}", fstype
    if cmd in ("unbind", "bind"):
        return cmd, fstype
    if cmd == "hwpoison":
        return f"hwpoison {_num(args[0])}", fstype
    if cmd == "sleep":
        secs = float(args[0])
        if secs > MAX_SLEEP or secs != int(secs):
            raise ValueError(f"a real run sleeps whole seconds, at most {MAX_SLEEP} (the hung-task "
                             "limit of 120 s is beyond a run's time bound)")
        return f"sleep {int(secs)}", fstype
    if cmd == "wait":
        return f"wait {args[0]}" if args else "wait", fstype
    raise ValueError(f"`{cmd}` has no real counterpart")
