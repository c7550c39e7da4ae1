"""A session: one machine, the current process, jobs and ``$_``; ``execute(line)`` runs one
command line and says what happened (done, blocked, error, skipped).

Front-ends and scenario replay drive the model only through :meth:`Session.execute`.
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..kernel import outcomes
from ..kernel.config import KernelConfig
from ..kernel.errno import Ret, strerror
from ..kernel.machine import DEFAULT_PMEM, Kernel
from ..kernel.sched import KGen, Task
from .hints import ret_lines
from .lexer import LexError, Line, Word, split
from .registry import REGISTRY, ArgError, Command, lookup

DONE, BLOCKED, ERROR, SKIPPED, STOPPED = "done", "blocked", "error", "skipped", "stopped"


class NoticeKind(enum.StrEnum):
    """What a line the session reports about jobs and the kernel is (said where it is made,
    so that nobody reads the text to find out)."""

    JOB_DONE = "job-done"  # [N]+ Done  CMD
    JOB_OUTPUT = "job-output"  # what a background job printed, under its Done line
    JOB_EXIT = "job-exit"  # [N]+ Exit  CMD: why (an error, a signal, an oops)
    JOB_BLOCKED = "job-blocked"  # [N] blocked: CMD — the wait
    JOB_STOPPED = "job-stopped"  # [N] stopped: ... (start, a breakpoint, step)
    JOB_ENDED = "job-ended"  # [N] done: CMD (a job listed after it ended)
    CORRUPTION = "corruption"  # the model's detectors: data written where it no longer belongs
    OOPS = "oops"  # the simulated kernel crashed
    KILLED = "killed"  # a process killed (SIGBUS, the OOM killer ...)
    WARN = "warn"  # a WARN_ON fired
    HUNG_TASK = "hung-task"  # the hung-task detector


# the detectors' events (Kernel.events) that become notices, and the label each is shown with
EVENT_NOTICES = {"corruption": (NoticeKind.CORRUPTION, "CORRUPTION"),
                 "oops": (NoticeKind.OOPS, "OOPS"),
                 "killed": (NoticeKind.KILLED, "killed"),
                 "warn": (NoticeKind.WARN, "WARN"),
                 "hung-task": (NoticeKind.HUNG_TASK, "hung task")}


@dataclass(frozen=True)
class Notice:
    """A line reported after a command's own output: a job that ended, blocked or stopped,
    something a detector saw."""

    kind: NoticeKind
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class JobEnd:
    """How a background job ended: its notice, the error it exited with (empty when done), and
    the signal that ended its task (empty when none did)."""

    notice: Notice
    error: str = ""
    signal: str = ""


@dataclass
class Result:
    line: str
    status: str = DONE
    output: list[str] = field(default_factory=list)
    error: str = ""
    caret: str = ""  # the line with a caret under the wrong word
    notices: list[Notice] = field(default_factory=list)
    # the output lines that are more than output, by index: the line of the job that blocked
    # (JOB_BLOCKED), the line reporting a corruption or an oops the command caused
    output_kinds: dict[int, NoticeKind] = field(default_factory=dict)
    value: str = ""
    job: int = 0
    # the line is not valid input (syntax, unknown command, malformed arguments), as opposed
    # to a step that ran, or was refused by the session's state, and failed
    usage: bool = False

    def text(self) -> list[str]:
        out = list(self.output)
        if self.error:
            if self.caret:
                out.append(self.caret)
            out.append(self.error)
        return out + self.notice_lines()

    def notice_lines(self) -> list[str]:
        return [n.text for n in self.notices]


@dataclass
class Syscall:
    """What a command asks the session to run as a task."""

    comm: str
    gen: Callable[[Task], KGen]
    fmt: Callable[[Ret], list[str]] | None = None
    kthread: bool = False
    value: Callable[[Ret], str] | None = None
    on_done: Callable[[Ret], None] | None = None


@dataclass(frozen=True)
class Prepared:
    """A command line ready to run: its words (``$_`` substituted), its command and the
    arguments parsed from them."""

    line: Line
    cmd: Command
    args: dict[str, Any]


@dataclass
class Job:
    id: int
    task: Task
    cmdline: str
    fmt: Callable[[Ret], list[str]] | None
    on_done: Callable[[Ret], None] | None = None
    reported: bool = False


class Session:
    def __init__(self, kernel: str = "", pmem: int = DEFAULT_PMEM, seed: int = 0) -> None:
        self.pmem = pmem
        self.seed = seed
        self.kernel_spec = KernelConfig.parse(kernel).spec
        self.k = Kernel(KernelConfig.parse(kernel), pmem, seed)
        self.proc_name = "sh"
        self.k.new_process("sh")
        self.jobs: dict[int, Job] = {}
        self.finished_jobs: dict[int, JobEnd] = {}  # job id -> how it ended
        self.next_job = 1
        self.last = ""
        self.seen_events = 0
        self.executed: list[str] = []  # lines that ran (for record/replay)
        self.thread: str | None = None  # the [threads] thread whose line is being compiled

    # -- machine lifecycle ------------------------------------------------------------------------
    def reboot(self, spec: str | None = None) -> None:
        """A fresh machine (the pmem's filesystem survives, as media does).  The old machine
        is retired first, so that its tasks' clean-up is over before the media moves on."""
        self.k.sched.retire()
        media = self.k.media_fs
        uuid = self.k.fs_uuid
        if spec is not None:
            self.kernel_spec = KernelConfig.parse(spec).spec
        cfg = KernelConfig.parse(self.kernel_spec)
        self.k = Kernel(cfg, self.pmem, self.seed)
        self.k.media_fs = media
        self.k.fs_uuid = uuid
        self.k.new_process("sh")
        self.proc_name = "sh"
        self.jobs.clear()
        self.next_job = 1
        self.seen_events = 0

    def close(self) -> None:
        """Throw the machine away: every task still in its kernel ends now, in a defined order
        (:meth:`Scheduler.retire <daxsh.kernel.sched.Scheduler.retire>`), instead of whenever
        the garbage collector gets to it.  Whoever drops a session closes it; it is not used
        afterwards."""
        self.k.sched.retire()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def proc(self) -> Any:
        return self.k.processes.get(self.proc_name)

    @property
    def cwd(self) -> str:
        p = self.proc
        return p.cwd if p is not None else "/"

    def abspath(self, path: str) -> str:
        if not path.startswith("/"):
            path = posixpath.join(self.cwd, path)
        path = posixpath.normpath(path)
        return "/" + path.lstrip("/") if path != "/" else "/"

    # -- running a line: lex -> prepare -> run -> finish ---------------------------------------
    # One pipeline for every caller: the prompt and the screen (through the shell core), scripts
    # and scenarios (`daxsh run`, whose loader lexed each line when it read the file), the
    # threads of a race (`compile`, for the explorer), and `start` (which prepares the words after
    # its own).  A caller holding a lexed Line passes it and the text is not lexed again.
    def prepare(self, line: Line, offset: int = 0) -> Prepared:
        """The command of ``line`` and its parsed arguments, ``$_`` standing for the session's
        last value now.  Raises :class:`ArgError` for a line that is not valid input (its word
        index shifted by ``offset`` when ``line`` holds the words after another command's)."""
        if "$_" in line.text:
            line = Line(line.text, tuple(self._subst(w) for w in line.words), line.background)
        try:
            cmd = lookup(line.words[0].text)
            return Prepared(line, cmd, cmd.parse(self, line.words))
        except ArgError as e:
            if offset and e.word is not None:
                e.word += offset
            raise

    def refusal(self, cmd: Command) -> tuple[str, str] | None:
        """(status, why) when the machine's state refuses ``cmd`` before it runs: the simulated
        kernel crashed, or the current process has exited."""
        if self.k.crashed and not cmd.after_crash:
            return SKIPPED, (f"the simulated kernel crashed ({self.k.crashed}); "
                             "`dmesg` shows the oops, `reboot` starts the machine again")
        if cmd.needs_process and self.proc is None:
            dead = self.k.dead.get(self.proc_name)
            why = f" ({dead.exit_reason})" if dead is not None and dead.exit_reason else ""
            return ERROR, (f"{cmd.name}: process {self.proc_name} has exited{why}; "
                           f"`proc {self.proc_name}` starts it again")
        return None

    def execute(self, text: str | Line) -> Result:
        line = text if isinstance(text, Line) else None
        res = Result(line.text if line is not None else str(text))
        if line is None:
            try:
                line = split(res.line)
            except LexError as e:
                res.status = ERROR
                res.error = f"error: {e}"
                res.caret = _caret(res.line, e.col, e.col + 1)
                res.usage = True
                return res
        if not line.words:
            return res
        refused = self.refusal(cmd) if (cmd := REGISTRY.get(line.words[0].text)) else None
        if refused is not None:
            res.status, res.error = refused
            return res
        prepared = None  # an ArgError before the arguments are parsed is bad input
        try:
            prepared = self.prepare(line)
            out = prepared.cmd.run(self, prepared.args, prepared.line)
        except JobFinished as e:
            res.output.append(f"{e} (already ended)")
            return res
        except ArgError as e:
            self._arg_error(res, line, e, usage=prepared is None and not e.state)
            return res
        return self._conclude(res, prepared, out)

    def _arg_error(self, res: Result, line: Line, e: ArgError, usage: bool) -> None:
        words, text = line.words, line.text
        res.status = ERROR
        res.error = f"{words[0].text}: {e}"
        res.usage = usage
        if e.word is not None:
            if e.word < len(words):
                w = words[e.word]
                res.caret = _caret(text, w.start, w.end)
            else:
                res.caret = _caret(text, len(text.rstrip()), len(text.rstrip()) + 1)

    def _conclude(self, res: Result, p: Prepared, out: Any) -> Result:
        """What the command's run gave becomes the line's result: a task runs (in the
        foreground until it ends or blocks, or as a job), the kernel's notices are collected."""
        if isinstance(out, Syscall):
            self._run_syscall(res, out, p.line, p.cmd)
        elif isinstance(out, Result):
            res = out
        elif out is not None:
            res.output.extend(out)
        if p.cmd.changes_state and res.status != ERROR:
            self.executed.append(res.line)
        self._collect(res)
        if p.cmd.model_text:
            self._names(res)
        return res

    def _names(self, res: Result) -> None:
        """What the model printed, in the names of the kernel version chosen (the kernel
        renders its own trace and dmesg; this covers `why`, `show`, job notices and errors)."""
        r = self.k.render
        res.output = [r(x) for x in res.output]
        res.notices = [Notice(n.kind, r(n.text)) for n in res.notices]
        res.error = r(res.error)

    def _subst(self, w: Any) -> Any:
        if "$_" in w.text:
            return Word(w.text.replace("$_", self.last), w.start, w.end)
        return w

    def spawn(self, sc: Syscall, cmdline: str, stopped: bool = False) -> Task:
        proc = None if sc.kthread else self.proc
        comm = "kworker/0:1" if sc.kthread else sc.comm
        return self.k.spawn(comm, proc, sc.gen, cmdline, stopped=stopped)

    def _run_syscall(self, res: Result, sc: Syscall, line: Line, cmd: Command,
                     stopped: bool = False) -> None:
        t = self.spawn(sc, line.command, stopped)
        if line.background or stopped:
            job = self._new_job(t, sc)
            res.job = job.id
            self.last = f"%{job.id}"
            res.output.append(f"[{job.id}] {t.tid}")
        self.k.run(t)
        self._settle(res, t, sc)

    def _settle(self, res: Result, t: Task, sc: Syscall) -> None:
        job = self._job_of(t)
        if t.done:
            if job is not None:
                return  # reported as a notice by _collect
            self._finish(res, t, sc.fmt, sc.on_done, sc.value)
            return
        if job is None:
            job = self._new_job(t, sc)
            res.job = job.id
            self.last = f"%{job.id}"
        res.status = STOPPED if t.stopped else BLOCKED
        if res.status == BLOCKED:
            res.output_kinds[len(res.output)] = NoticeKind.JOB_BLOCKED
        res.output.append(self.describe_job(job))

    def _finish(self, res: Result, t: Task, fmt: Callable[[Ret], list[str]] | None,
                on_done: Callable[[Ret], None] | None, value: Callable[[Ret], str] | None) -> None:
        if t.killed == "oops":
            res.status = ERROR
            res.error = f"{t.comm}: the kernel oopsed in {t.comm}:{t.tid} (`dmesg` shows it)"
            return
        if t.killed:
            res.status = ERROR
            proc = t.proc
            why = proc.exit_reason if proc is not None and proc.exit_reason else t.killed
            res.error = f"{t.comm}: killed by {why}"
            return
        ret = t.result
        if not isinstance(ret, Ret):
            ret = Ret(0, ret)
        if ret.err:
            res.status = ERROR
            words = t.cmdline.split()
            path = next((w for w in words[1:] if w.startswith("/")), words[1] if len(words) > 1 else "")
            what = f"{path}: " if path else ""
            res.error = f"{words[0] if words else t.comm}: {what}{strerror(ret.err)}"
            res.output.extend(ret_lines(ret))
            return
        if on_done is not None:
            on_done(ret)
        if fmt is not None:
            res.output.extend(fmt(ret))
        else:
            if ret.value is not None and not isinstance(ret.value, (dict, list)):
                res.output.append(str(ret.value))
            res.output.extend(ret_lines(ret))
        if value is not None:
            self.last = value(ret)
            res.value = self.last
        elif isinstance(ret.value, (str, int)) and ret.value != "":
            self.last = hex(ret.value) if isinstance(ret.value, int) else str(ret.value)
            res.value = self.last

    def _job_of(self, t: Task) -> Job | None:
        """The live job whose task ``t`` is (``t.job`` is set when the job is made)."""
        job = self.jobs.get(t.job) if t.job else None
        return job if job is not None and job.task is t else None

    def _new_job(self, t: Task, sc: Syscall | None) -> Job:
        job = Job(self.next_job, t, t.cmdline, sc.fmt if sc else None, sc.on_done if sc else None)
        self.next_job += 1
        self.jobs[job.id] = job
        t.job = job.id
        return job

    def describe_job(self, job: Job) -> str:
        t = job.task
        if t.done:
            return f"[{job.id}] done: {job.cmdline}"
        state = "stopped" if t.stopped else "blocked"
        return f"[{job.id}] {state}: {job.cmdline} — {outcomes.describe_wait(t)}"

    @staticmethod
    def job_kind(job: Job) -> NoticeKind:
        """What :meth:`describe_job` says of ``job``."""
        t = job.task
        return NoticeKind.JOB_ENDED if t.done else NoticeKind.JOB_STOPPED if t.stopped \
            else NoticeKind.JOB_BLOCKED

    def _collect(self, res: Result) -> None:
        """Report jobs that ended, tasks that stopped, and what the detectors saw."""
        k = self.k
        for t in k.sched.finished if self.jobs else ():
            job = self._job_of(t)
            if job is None or job.reported:
                continue
            job.reported = True
            sub = Result(job.cmdline)
            self._finish(sub, t, job.fmt, job.on_done, None)
            if sub.status == ERROR:
                ended = Notice(NoticeKind.JOB_EXIT, f"[{job.id}]+ Exit  {job.cmdline}: {sub.error}")
                res.notices.append(ended)
            else:
                ended = Notice(NoticeKind.JOB_DONE, f"[{job.id}]+ Done  {job.cmdline}")
                res.notices.append(ended)
                res.notices.extend(Notice(NoticeKind.JOB_OUTPUT, f"    {x}")
                                   for x in sub.output if x)
            self.finished_jobs[job.id] = JobEnd(ended, sub.error if sub.status == ERROR else "",
                                                t.killed)
            del self.jobs[job.id]
        k.sched.finished.clear()
        if not k.sched.events and len(k.events) == self.seen_events:
            return
        for t, why in k.sched.events:
            if t.done or any(j.task is t for j in self.jobs.values()) or res.job == t.job:
                if not t.done and t.job and t.job != res.job:
                    res.notices.append(Notice(NoticeKind.JOB_STOPPED, f"[{t.job}] stopped: {why}"))
                continue
            job = self._new_job(t, None)
            res.notices.append(Notice(self.job_kind(job), self.describe_job(job)))
        k.sched.events.clear()
        for ev in k.events[self.seen_events:]:
            if ev.kind not in EVENT_NOTICES:
                continue
            kind, label = EVENT_NOTICES[ev.kind]
            said = [i for i, x in enumerate(res.output) if ev.text in x]
            if kind in (NoticeKind.CORRUPTION, NoticeKind.OOPS):  # the lines that report it
                for i in said:
                    res.output_kinds[i] = kind
                res.notices = [Notice(kind, n.text) if n.kind == NoticeKind.JOB_OUTPUT
                               and ev.text in n.text else n for n in res.notices]
            if not said:
                res.notices.append(Notice(kind, f"daxsh: {label}: {ev.text}"))
        self.seen_events = len(k.events)

    # -- helpers for commands ---------------------------------------------------------------------
    def job(self, ref: str | None, word: int = 1) -> Job:
        """The job ``ref`` (%N or N) names, or the newest live one; ``word`` is where the
        reference stands in the line, for the caret of an error."""
        if ref is None:
            live = [j for j in self.jobs.values() if not j.task.done]
            if not live:
                raise ArgError("no jobs (`jobs` lists them)", word)
            return live[-1]
        text = ref.lstrip("%")
        if not (text.isascii() and text.isdigit()):
            raise ArgError(f"'{ref}' is not a job (write %1, %2 ...; `jobs` lists them)", word)
        n = int(text)
        j = self.jobs.get(n)
        if j is None and n in self.finished_jobs:
            raise JobFinished(self.finished_jobs[n].notice.text)
        if j is None:
            raise ArgError(f"no job %{n} (`jobs` lists them)", word)
        return j

    # -- concurrent threads (scenario [threads], the explorer) --------------------------------
    def compile(self, text: str | Line) -> tuple[Command, Syscall | list[str] | Result | None]:
        """Prepare ``text`` and build what it would run, without running a task.

        Raises :class:`ArgError` for a bad line.  Commands that do not run in the kernel
        (``show``, ``proc``...) are carried out at once and return their output lines."""
        line = text if isinstance(text, Line) else split(text)
        if not line.words:
            raise ArgError("empty command line", 0)
        p = self.prepare(line)
        return p.cmd, p.cmd.run(self, p.args, p.line)


class JobFinished(Exception):
    """Raised by :meth:`Session.job` for a job that already ended (not an error)."""


def _caret(text: str, start: int, end: int) -> str:
    return f"  {text}\n  {' ' * start}{'^' * max(1, end - start)}"
